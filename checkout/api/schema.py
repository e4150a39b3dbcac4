"""OpenAPI for the merchant API: security scheme, per-operation docs, examples and the
catalogue of error codes (the codes are part of the contract; the messages are not).

Response examples' estimates are computed by the pricing engine from the sample catalogue
below, so the documentation never shows numbers the API would not produce.
"""

import datetime
import re
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular import generators, openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from billing import errors as billing_errors
from billing.errors import BillingErrorCode
from billing.estimates import (
    PlanItemSnapshot,
    PlanSnapshot,
    estimate_amendment,
    estimate_new_contract,
    quote_from_plan,
)
from billing.pricing import PriceTerms
from checkout.errors import CheckoutErrorCode
from checkout.urlrules import SPACES
from core.errors import CoreErrorCode, DomainError

from .routing import MethodRouter
from .serializers import (
    IDEMPOTENCY_KEY_SCHEMA,
    JSON_NUMBER_LIMIT,
    JSON_TEXT_SCHEMA,
    CheckoutSessionCancelSerializer,
    CheckoutSessionConfirmSerializer,
    CheckoutSessionCreateSerializer,
    CheckoutSessionListQuerySerializer,
    CheckoutSessionListSerializer,
    CheckoutSessionPreviewSerializer,
    CheckoutSessionRetrieveQuerySerializer,
    CheckoutSessionSerializer,
    CheckoutSessionUpdateSerializer,
    EmptyBodySerializer,
    ErrorEnvelopeSerializer,
    StrictSerializer,
)

# --- generator: MethodRouter paths show one operation per method ------------------------------


class EndpointEnumerator(generators.EndpointEnumerator):
    def should_include_endpoint(self, path, callback):
        return isinstance(callback, MethodRouter) or super().should_include_endpoint(path, callback)

    def get_allowed_methods(self, callback):
        if isinstance(callback, MethodRouter):
            return list(callback.views)
        return super().get_allowed_methods(callback)

    def get_api_endpoints(self, patterns=None, prefix=""):
        return [
            (
                path,
                regex,
                method,
                callback.views[method] if isinstance(callback, MethodRouter) else callback,
            )
            for path, regex, method, callback in super().get_api_endpoints(patterns, prefix)
        ]


class SchemaGenerator(generators.SchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator


class AutoSchema(openapi.AutoSchema):
    """Request bodies of serializers that refuse unknown fields say so: ``additionalProperties:
    false`` (a misspelt field is ``422 unknown_field``, never silently ignored)."""

    def _map_basic_serializer(self, serializer, direction):
        result = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            result["additionalProperties"] = False
        return result

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """Text fields state DRF's own rules: no NUL character, and (trimmed) not blank unless
        blank is allowed; nested lists their length bounds."""
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(field, serializers.ListSerializer) and result.get("type") == "array":
            # The lengths the list enforces (``discounts``: at most one); spectacular leaves them out.
            for key, value in (("minItems", field.min_length), ("maxItems", field.max_length)):
                if value is not None:
                    result[key] = value
        if (direction == "request" and isinstance(field, serializers.CharField)
                and result.get("type") == "string" and not {"pattern", "enum", "format"} & set(result)):
            if field.allow_blank or not field.trim_whitespace:
                result["pattern"] = "^[^\\x00]*$"
            else:
                result["pattern"] = f"^[^\\x00]*[^\\x00{SPACES}][^\\x00]*$"
        return result


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "core.authentication.ApiKeyAuthentication"
    name = "SecretApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_test_… | sk_live_…",
            "description": "A secret API key: `Authorization: Bearer sk_test_…`. Test keys create test-mode "
            "sessions; live keys require https redirect URLs.",
        }


# --- error catalogue --------------------------------------------------------------------------

COMMON_ERRORS = {
    "malformed_request": (400, "The body is not valid JSON."),
    "authentication_required": (401, "No Authorization header."),
    "authentication_failed": (401, "The API key is unknown, malformed or revoked."),
    "not_found": (404, "No such endpoint (unknown path, or an id in the path that is not a UUID)."),
    "method_not_allowed": (405, "The path does not support this HTTP method."),
    "not_acceptable": (406, "The Accept header excludes application/json."),
    "unsupported_media_type": (415, "The body is not application/json."),
    "internal_error": (500, "A bug on our side; quote trace_id to support."),
}

SHAPE_ERRORS = {
    "field_required": "A required field is missing (or null).",
    "invalid_type": "The value has the wrong JSON type (e.g. a string where an object is expected).",
    "invalid_length": "A string or list is too short or too long.",
    "value_out_of_range": "A number is outside its allowed range.",
    "invalid_choice": "The value is not one of the allowed choices.",
    "invalid_characters": "Text contains NUL or unpaired surrogate characters.",
    "unknown_field": "The request carries a field this endpoint does not know (typo?).",
    "invalid_id": "An id is not a UUID.",
    "invalid_date": "Not a date (YYYY-MM-DD).",
    "date_out_of_range": "A date outside 2000-01-01 … 2100-12-31.",
    "invalid_datetime": "Not an ISO-8601 date-time.",
}

CREATE_ERRORS_422 = {
    **SHAPE_ERRORS,
    "ambiguous_checkout_type": "The fields match more than one checkout type (e.g. contract and contract_id).",
    "checkout_type_undetermined": "None of contract, plan_id or contract_id was given.",
    "setup_mode_conflict": "mode setup with something to sell (contract, plan_id, product_overrides, discounts, "
    "a trial, end_date).",
    "conflicting_fields": "start_date/end_date given both at top level and in contract, with different values.",
    "guest_checkout_conflict": "guest_checkout with a customer_id.",
    "guest_checkout_not_allowed": "guest_checkout on an amendment (contract_id).",
    "live_payment_provider_missing": "A live session that must take a card, in an organization without live "
                                     "Stripe settings (and not payable by invoice).",
    "amount_below_provider_minimum": "The first amount due is more than zero but below Stripe's minimum charge in "
                                     "the currency (USD 0.50, GBP 0.30, JPY 50, …), and not payable by invoice.",
    "product_overrides_not_allowed": "product_overrides on a product-based contract.",
    "phases_not_allowed": "phases on a plan-based contract.",
    "plan_id_not_allowed": "contract.plan_id on a product-based contract.",
    "pricing_conflict": "A phase pricing with both pricing_id and pricing.",
    "phase_dates_incoherent": "Phases must run back to back from the contract's start; only the last is open.",
    "end_date_before_start_date": "end_date is not after start_date.",
    "end_date_not_allowed": "end_date on an amendment (it runs until the contract ends).",
    "invalid_currency": "Not an ISO-4217 currency code.",
    "currency_mismatch": "The currency differs from the plan's, the contract's or a pricing's.",
    "invalid_url": "Not an absolute http(s) URL with a valid host.",
    "url_too_long": "A URL longer than 2083 characters.",
    "url_scheme_not_allowed": "A scheme other than http/https (javascript:, data:, …).",
    "url_userinfo_not_allowed": "A URL with user:password@.",
    "url_https_required": "Live-mode keys require https URLs.",
    "invalid_email": "Not an email address.",
    "invalid_phone_number": "Not an international phone number (+ and country code).",
    "invalid_country": "Not an ISO-3166 alpha-2 country code.",
    "invalid_tax_id": "customer.tax_info.N.value fails its type's format or check digits (eu_vat with its "
    "country prefix, gb_vat, us_ein, ca_bn, au_abn, in_gst, ch_vat).",
    "invalid_amount": "An amount given as a JSON number with a fraction; use a decimal string.",
    "invalid_trace_id": "trace_id: 1–128 of letters, digits and . _ : -",
    "invalid_idempotency_key": "Idempotency key: 1–255 printable ASCII characters, no spaces.",
    "idempotency_key_mismatch": "The Idempotency-Key header and idempotency_key field differ.",
    "idempotency_key_reused": "The idempotency key was used with a different body.",
    "metadata_too_many_keys": "metadata has more than 50 keys.",
    "metadata_key_too_long": "A metadata key is empty or longer than 40 characters.",
    "metadata_too_large": "metadata is larger than 8 KB as JSON.",
    "expires_at_in_past": "expires_at is not in the future.",
    "expires_at_too_far": "expires_at is more than 30 days ahead.",
    "plan_not_active": "The plan is draft or archived.",
    "plan_unchanged": "A plan switch to the plan the contract is on.",
    "contract_not_active": "The contract has ended.",
    "contract_customer_mismatch": "customer_id is not the contract's customer.",
    "business_entity_mismatch": "business_entity_id is not the contract's.",
    "start_date_outside_contract": "The change date is outside the contract's term.",
    "start_date_out_of_range": "start_date (or the change date) is more than one billing period ago "
    "(its first period has ended) or more than 365 days ahead.",
    "contract_ended": "The contract's end_date has passed: it cannot be amended.",
    "quantity_out_of_bounds": "A quantity outside the plan item's min/max, or an initial quantity outside "
    "adjustable_quantity's bounds.",
    "adjustable_quantity_invalid": "adjustable_quantity.maximum is below its minimum.",
    "quantity_not_adjustable": "adjustable_quantity on a line that is not priced per unit, tiered or volume.",
    "adjustable_quantity_outside_plan": "adjustable_quantity's bounds go beyond the plan item's min/max.",
    "unknown_product_override": "An override names a product that is not in the plan or contract.",
    "duplicate_product_override": "Two overrides name the same product.",
    "item_not_optional": "is_enabled: false (or optional: true) on an item that is not optional.",
    "pricing_product_mismatch": "A catalogue pricing of another product.",
    "invalid_pricing": "An inline pricing is not valid (model, amounts, package size).",
    "invalid_tiers": "Inline tiers are not valid (ascending, last open-ended).",
    "invalid_cadence": "A cadence other than whole months/years (P1M, P3M, P6M, P1Y).",
    "invalid_dates": "Dates the pricing engine cannot bill (e.g. phases that do not follow each other, "
    "a trial_end not after the start or not before the end).",
    "discounts_conflict": "discounts and allow_promotion_codes together.",
    "invalid_locale": "locale is not auto, en, de, fr, es or ja.",
    "terms_of_service_url_missing": "consent_collection.terms_of_service required, but the business entity has "
    "no terms_url.",
    "trial_not_allowed": "trial_period_days or trial_end on an amendment.",
    "promotion_code_unknown": "discounts.0.promotion_code is not a code of your organization (in the key's mode).",
    "promotion_code_expired": "The code or its coupon is switched off, not yet valid or past valid_until.",
    "promotion_code_used_up": "The code or its coupon has reached max_redemptions.",
    "coupon_not_applicable": "The coupon is restricted to other plans, or its amount_off is in another currency.",
    "plan_not_in_choices": "plan_choices does not include plan_id (or contract.plan_id).",
    "duplicate_plan_choice": "plan_choices names a plan twice.",
    "plan_interval_unclear": "A plan in plan_choices has no recurring item, or its recurring items bill on different "
    "cadences: it has no one interval to offer.",
    "plan_choices_same_interval": "Two plans in plan_choices bill on the same cadence.",
}
CREATE_ERRORS_404 = {
    "plan_not_found": "plan_id (or a plan_choices entry) is not a plan of your organization.",
    "contract_not_found": "contract_id is not a contract of your organization.",
    "customer_not_found": "customer_id is not a customer of your organization.",
    "business_entity_not_found": "business_entity_id is not a business entity of your organization.",
    "product_not_found": "A product_id is not a product of your organization.",
    "pricing_not_found": "A pricing_id is not a pricing of your organization.",
    "coupon_not_found": "discounts.0.coupon_id is not a coupon of your organization (in the key's mode).",
}
CREATE_ERRORS_409 = {
    "idempotency_key_in_use": "A request with this key is still running; retry shortly.",
    "contract_amendment_in_progress": "Another amendment of the contract has a payment being processed.",
}
RATE_LIMITED = {"rate_limited": "Too many creates for this API key; wait Retry-After seconds."}
LIST_ERRORS_422 = {
    "invalid_choice": SHAPE_ERRORS["invalid_choice"],
    "invalid_id": SHAPE_ERRORS["invalid_id"],
    "invalid_datetime": SHAPE_ERRORS["invalid_datetime"],
    "value_out_of_range": "limit outside 1–100.",
    "invalid_length": SHAPE_ERRORS["invalid_length"],
    "invalid_characters": SHAPE_ERRORS["invalid_characters"],
    "invalid_cursor": "The cursor is not one this API returned, or a starting_after / ending_before id is not a "
    "session of yours in this mode.",
    "pagination_conflict": "More than one of cursor, starting_after and ending_before.",
    "unknown_parameter": "An unknown query parameter (a misspelt filter never answers the unfiltered list).",
}
RETRIEVE_ERRORS_422 = {"unknown_parameter": "An unknown query parameter.",
                       "invalid_choice": "expand[] names something other than customer, contract or invoice.",
                       "invalid_length": "expand[] lists more than three objects."}
CANCEL_ERRORS_422 = {
    "invalid_cancellation_reason": "reason is not one of the fixed list.",
    "invalid_length": "detail is longer than 500 characters.",
    "invalid_type": SHAPE_ERRORS["invalid_type"],
    "invalid_characters": SHAPE_ERRORS["invalid_characters"],
    "unknown_field": SHAPE_ERRORS["unknown_field"],
}
EXPIRE_ERRORS_422 = {
    "invalid_type": SHAPE_ERRORS["invalid_type"],
    "unknown_field": "The operation takes no fields.",
}
SESSION_NOT_FOUND = {"checkout_session_not_found": "No such session in your organization."}
SESSION_NOT_OPEN = {
    "checkout_session_not_open": "The session is processing, completed, cancelled or expired."
}

WEBHOOK_ERRORS_404 = {"webhook_endpoint_not_found": "No such webhook endpoint in your organization."}
WEBHOOK_ERRORS_422 = {
    "invalid_event_type": "enabled_events names an event type that does not exist.",
    "webhook_endpoint_limit": "The organization already has the most webhook endpoints it may have.",
    "url_not_public": "A webhook URL on localhost or a private or loopback IP address.",
}

CONFIRM_ERRORS_409 = {
    **SESSION_NOT_OPEN,
    "checkout_session_expired": "The session expired before it was confirmed.",
    "checkout_session_not_priced": "The session has no locked estimate.",
    "setup_session_not_confirmable": "A setup session (mode=setup) is completed by the customer on its hosted "
    "page; the API cannot confirm it.",
    "contract_changed": "The contract changed after this amendment was priced; open a new session.",
    "tax_changed": "A guest's billing country or VAT number changes the tax (billing.tax): the session is "
    "priced again and nothing is charged; confirm again for the new total.",
    "contract_amendment_in_progress": "Another amendment of the contract has a payment being processed.",
    "amendment_not_applicable": "The contract can no longer be amended on the session's date.",
    "payment_provider_unavailable": "Card payments are not available (live mode without Stripe, or Stripe "
    "briefly unreachable: nothing was charged).",
    "estimate_inconsistent": "The locked estimate does not add up; nothing is billed.",
}
CONFIRM_ERRORS_422 = {
    "field_required": "mode is missing.",
    "amount_not_supported_by_provider": "The provider cannot charge the amount due in this currency (Stripe: "
                                        "three-decimal currencies in steps of 0.010).",
    "amount_below_provider_minimum": "The amount due is below Stripe's minimum charge in the currency; "
                                     "nothing was charged (pay by invoice where allowed).",
    "invalid_choice": SHAPE_ERRORS["invalid_choice"],
    "invalid_type": SHAPE_ERRORS["invalid_type"],
    "invalid_length": SHAPE_ERRORS["invalid_length"],
    "invalid_characters": SHAPE_ERRORS["invalid_characters"],
    "unknown_field": SHAPE_ERRORS["unknown_field"],
    "payment_required": "no_payment on a session with an amount due.",
    "payment_method_not_allowed": "invoice where the business entity does not allow it.",
    "card_required": "charge_now without a payment_method_id the provider takes.",
    "customer_details_required": "A guest session without the customer's name.",
    "promotion_code_used_up": "The session's coupon or code was used for the last time by another checkout "
    "meanwhile; nothing was charged.",
    "terms_not_accepted": "The session collects consent and terms_accepted is not true.",
}
CONFIRM_ERRORS_402 = {"payment_failed": "The charge was declined; the session stays open for another try."}

def _billing_codes() -> set[str]:
    # Billing's domain errors not (yet) in BillingErrorCode carry their code on the class.
    return {cls.code for cls in vars(billing_errors).values()
            if isinstance(cls, type) and issubclass(cls, DomainError)} | set(BillingErrorCode)


# Every code an error can carry: the enums' members (and billing's error classes).
KNOWN_ERROR_CODES = frozenset(CoreErrorCode) | frozenset(CheckoutErrorCode) | frozenset(_billing_codes())

# Codes the merchant API never answers, and why; every other known code is documented.
UNDOCUMENTED = {
    CoreErrorCode.DOMAIN_ERROR: "a base class",
    CoreErrorCode.CONFLICT: "a base class",
    CoreErrorCode.INVALID: "a base class: its raisers name their code",
    CoreErrorCode.PERMISSION_DENIED: "API keys carry no permissions beyond their organization and mode",
    CoreErrorCode.INVALID_HOST: "answered before routing, for a Host the deployment does not serve (README)",
    CoreErrorCode.UNSUPPORTED_TRANSFER_CODING: "answered before Django, for a compressed Transfer-Encoding (README)",
    "billing_error": "a base class",
    BillingErrorCode.INVALID_QUOTE: "a stored quote that does not parse: confirming refuses it as not priced",
    BillingErrorCode.UNKNOWN_PRODUCT: "re-raised as product_not_found (404)",
    BillingErrorCode.UNKNOWN_PRICING: "re-raised as pricing_not_found (404)",
    CheckoutErrorCode.CHECKOUT_SESSION_NOT_PROCESSING: "settling a payment: ops and the worker, not the API",
    "payment_settings_invalid": "admin's payment settings form",
    CheckoutErrorCode.WEBHOOK_SIGNATURE_INVALID: "Stripe's webhook endpoint",
    CheckoutErrorCode.STRIPE_UNAVAILABLE: "Stripe's webhook endpoint (503: Stripe sends the event again)",
    CheckoutErrorCode.WEBHOOK_DELIVERY_NOT_FOUND: "admin's resend",
    CheckoutErrorCode.INVALID_GRACE_PERIOD: "the roll-secret serializer answers value_out_of_range first",
    "promotion_codes_not_allowed": "the hosted page's promotion code field",
    CheckoutErrorCode.PLAN_NOT_OFFERED: "the hosted page's billing-interval switch (a plan not in plan_choices)",
    CheckoutErrorCode.LINE_NOT_ADJUSTABLE: "the hosted page's items box (a line not adjustable or optional)",
    CheckoutErrorCode.INVOICE_NOT_FOUND: "the hosted invoice page (its token), not the API",
    "invoice_not_payable": "the hosted invoice page's pay-now",
    "invoice_payment_in_progress": "the hosted invoice page's pay-now",
    "dunning_policy_invalid": "admin's dunning policy form",
    "payment_outcome_unknown": "the provider did not answer: the confirm answers processing and a reconcile asks again",
}
ALL_ERROR_CODES = sorted(KNOWN_ERROR_CODES - set(UNDOCUMENTED))


def _documented(*tables: dict) -> None:
    """Refuse, at import, a documented code no enum has (a typo, or a code left behind)."""
    unknown = {code for table in tables for code in table} - KNOWN_ERROR_CODES
    if unknown:
        raise ImproperlyConfigured(f"error codes documented but in no error-code enum: {sorted(unknown)}")


_documented(COMMON_ERRORS, SHAPE_ERRORS, CREATE_ERRORS_422, CREATE_ERRORS_404, CREATE_ERRORS_409, RATE_LIMITED,
            LIST_ERRORS_422, CANCEL_ERRORS_422, EXPIRE_ERRORS_422, SESSION_NOT_FOUND, SESSION_NOT_OPEN,
            WEBHOOK_ERRORS_404, WEBHOOK_ERRORS_422, CONFIRM_ERRORS_409, CONFIRM_ERRORS_422, CONFIRM_ERRORS_402)

_FIELD_OF = {
    "field_required": "customer_id",
    "invalid_id": "plan_id",
    "invalid_currency": "currency",
    "currency_mismatch": "currency",
    "invalid_url": "success_url",
    "url_too_long": "success_url",
    "url_scheme_not_allowed": "success_url",
    "url_userinfo_not_allowed": "success_url",
    "url_https_required": "success_url",
    "expires_at_in_past": "expires_at",
    "expires_at_too_far": "expires_at",
    "quantity_out_of_bounds": "product_overrides.1.quantity",
    "plan_not_found": "plan_id",
    "contract_not_found": "contract_id",
    "customer_not_found": "customer_id",
    "business_entity_not_found": "business_entity_id",
    "product_not_found": "contract.phases.0.pricings.0.product_id",
    "pricing_not_found": "contract.phases.0.pricings.0.pricing_id",
    "idempotency_key_reused": "idempotency_key",
    "idempotency_key_in_use": "idempotency_key",
    "invalid_cursor": "cursor",
    "invalid_cancellation_reason": "reason",
    "invalid_locale": "locale",
    "end_date_before_start_date": "contract.end_date",
    "ambiguous_checkout_type": "contract_id",
    "plan_not_active": "plan_id",
    "contract_customer_mismatch": "customer_id",
}
_NO_FIELDS = set(COMMON_ERRORS) | set(RATE_LIMITED) | set(SESSION_NOT_FOUND) | set(SESSION_NOT_OPEN)


def _error_example(code: str, status: int, message: str) -> OpenApiExample:
    fields = {} if code in _NO_FIELDS else {_FIELD_OF.get(code, "…"): [message]}
    return OpenApiExample(
        code,
        summary=f"{status} {code}",
        value={
            "error": {"code": code, "message": message, "fields": fields, "trace_id": "req_5f2c…"}
        },
        response_only=True,
        status_codes=[str(status)],
    )


def _table(errors: dict[int, dict[str, str]]) -> str:
    lines = ["| status | code | when |", "|---|---|---|"]
    for status, codes in sorted(errors.items()):
        lines += [f"| {status} | `{code}` | {text} |" for code, text in codes.items()]
    return "\n".join(lines)


def _responses(success: tuple[int, object, str], errors: dict[int, dict[str, str]]):
    status, serializer, description = success
    responses = {status: OpenApiResponse(serializer, description=description)}
    for code_status, codes in errors.items():
        responses[code_status] = OpenApiResponse(
            ErrorEnvelopeSerializer, description="Codes: " + ", ".join(f"`{c}`" for c in codes)
        )
    examples = [
        _error_example(code, s, text) for s, codes in errors.items() for code, text in codes.items()
    ]
    return responses, examples


def _common(*, with_body: bool) -> dict[int, dict[str, str]]:
    errors: dict[int, dict[str, str]] = {}
    for code, (status, text) in COMMON_ERRORS.items():
        if not with_body and code in ("malformed_request", "unsupported_media_type"):
            continue
        errors.setdefault(status, {})[code] = text
    return errors


def _merge(*parts: dict[int, dict[str, str]]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for part in parts:
        for status, codes in part.items():
            out.setdefault(status, {}).update(codes)
    return out


# --- examples -------------------------------------------------------------------------------

ORG = "0f6c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
ENTITY = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
CUSTOMER = "3c9e2f1a-7b6d-4e5c-a4b3-c2d1e0f9a8b7"
PLAN = "5b1f7c8e-2d3a-4f6b-9e0c-1a2b3c4d5e6f"
PLAN_PRO = "6c2a8d9f-3e4b-4a7c-8f1d-2b3c4d5e6f70"
CONTRACT = "9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a"
PLATFORM = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SEATS = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
ONBOARDING = "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f"
PRICING_SEATS = "d4e5f6a7-b8c9-4d0e-9f2a-3b4c5d6e7f80"

_MONTHLY = {"billing": "recurring", "cadence": "P1M", "timing": "in_advance"}
_PLATFORM = PlanItemSnapshot(
    PLATFORM,
    "Platform fee",
    "Access to the platform.",
    "p-platform",
    PriceTerms(pricing_model="flat_fee", unit_amount=Decimal("49.00")),
    1,
    1,
    1,
)
_SEATS = PlanItemSnapshot(
    SEATS,
    "Seats",
    "Named user seats.",
    PRICING_SEATS,
    PriceTerms(pricing_model="per_unit", unit_amount=Decimal("12.00")),
    3,
    1,
    50,
)
_ONBOARDING = PlanItemSnapshot(
    ONBOARDING,
    "Onboarding",
    "One-time setup.",
    "p-onboarding",
    PriceTerms(
        pricing_model="flat_fee", billing="one_time", cadence=None, unit_amount=Decimal("199.00")
    ),
    1,
    0,
    1,
    True,
)
_STARTER = PlanSnapshot(
    PLAN, "Starter (monthly)", "USD", "active", (_PLATFORM, _SEATS, _ONBOARDING)
)
_START = datetime.date(2026, 1, 15)


def _estimates_new_contract() -> dict:
    quote = quote_from_plan(
        plan=_STARTER, start_date=_START, overrides=[{"product_id": SEATS, "quantity": 5}]
    )
    return estimate_new_contract(quote=quote, tax_rate=Decimal("8.25")).to_json()


def _estimates_quantity_update() -> dict:
    current = (_PLATFORM.quote_item(), _SEATS.quote_item(5))
    new = (_PLATFORM.quote_item(), _SEATS.quote_item(8))
    return estimate_amendment(
        currency="USD",
        current_items=current,
        new_items=new,
        contract_start=datetime.date(2025, 11, 15),
        contract_end=None,
        change_date=datetime.date(2026, 1, 30),
        tax_rate=None,
    ).to_json()


def _session(**overrides) -> dict:
    body = {
        "id": "7e3f1c2a-9b8d-4c6e-a5f4-3b2c1d0e9f8a",
        "object": "checkout_session",
        "organization_id": ORG,
        "livemode": False,
        "checkout_type": "new_contract",
        "status": "open",
        "payment_status": "not_started",
        "url": "https://checkout.example.com/pay/cs_Jx9q…",
        "plan_id": PLAN,
        "contract_id": None,
        "start_date": "2026-01-15",
        "end_date": None,
        "customer_id": CUSTOMER,
        "business_entity_id": ENTITY,
        "guest_checkout": False,
        "customer": None,
        "currency": "USD",
        "contract": None,
        "product_overrides": [{"product_id": SEATS, "quantity": 5}],
        "success_url": "https://merchant.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/pricing",
        "pending_url": None,
        "attribution": {"utm_source": "newsletter", "utm_campaign": "spring"},
        "metadata": {"order_ref": "A-1001"},
        "trace_id": "req_5f2c9a",
        "expires_at": "2026-01-16T10:00:00Z",
        "created_at": "2026-01-15T10:00:00Z",
        "updated_at": "2026-01-15T10:00:00Z",
        "completed_at": None,
        "cancelled_at": None,
        "expired_at": None,
        "cancellation_reason": None,
        "cancellation_detail": None,
        "estimates": _estimates_new_contract(),
    }
    body.update(overrides)
    return body


_URLS = {
    "success_url": "https://merchant.example/thanks?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://merchant.example/pricing",
}

CREATE_REQUEST_EXAMPLES = [
    OpenApiExample(
        "new_contract: plan-based contract",
        request_only=True,
        value={
            "contract": {
                "is_plan_based": True,
                "plan_id": PLAN,
                "currency": "USD",
                "start_date": "2026-01-15",
                "end_date": None,
            },
            "customer_id": CUSTOMER,
            "product_overrides": [{"product_id": SEATS, "quantity": 5}],
            "idempotency_key": "order-A-1001",
            **_URLS,
            "metadata": {"order_ref": "A-1001"},
        },
    ),
    OpenApiExample(
        "new_contract: product-based contract (inline pricing)",
        request_only=True,
        value={
            "contract": {
                "is_plan_based": False,
                "currency": "USD",
                "start_date": "2026-01-15",
                "end_date": None,
                "phases": [
                    {
                        "name": "Main",
                        "start_date": "2026-01-15",
                        "end_date": None,
                        "pricings": [
                            {"product_id": SEATS, "pricing_id": PRICING_SEATS, "quantity": 10},
                            {
                                "product_id": PLATFORM,
                                "quantity": 12,
                                "pricing": {
                                    "pricing_model": "tiered",
                                    **_MONTHLY,
                                    "tiers": [
                                        {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
                                        {"up_to": None, "unit_amount": "4.00"},
                                    ],
                                },
                            },
                        ],
                    }
                ],
            },
            "customer_id": CUSTOMER,
            **_URLS,
        },
    ),
    OpenApiExample(
        "new_contract: top-level plan_id (newer form), guest checkout",
        request_only=True,
        value={
            "plan_id": PLAN,
            "guest_checkout": True,
            "business_entity_id": ENTITY,
            "customer": {
                "customer_name": "Ada Lovelace",
                "email": "ada@example.com",
                "phone_number": "+442071234567",
                "address": {
                    "line1": "12 St James's Sq",
                    "city": "London",
                    "zip_code": "SW1Y 4JH",
                    "country": "GB",
                },
            },
            "expires_at": "2026-01-16T10:00:00Z",
            "attribution": {
                "utm_source": "newsletter",
                "utm_medium": "email",
                "utm_campaign": "spring",
            },
            **_URLS,
        },
    ),
    OpenApiExample(
        "plan_switch",
        request_only=True,
        value={
            "contract_id": CONTRACT,
            "plan_id": PLAN_PRO,
            "start_date": "2026-01-30",
            **_URLS,
        },
    ),
    OpenApiExample(
        "setup (update the payment method)",
        request_only=True,
        value={"mode": "setup", "customer_id": CUSTOMER, "contract_id": CONTRACT, **_URLS},
    ),
    OpenApiExample(
        "quantity_update",
        request_only=True,
        value={
            "contract_id": CONTRACT,
            "product_overrides": [
                {"product_id": SEATS, "quantity": 8},
                {"product_id": ONBOARDING, "is_enabled": False},
            ],
            "start_date": "2026-01-30",
            **_URLS,
        },
    ),
]


def _create_response_examples():
    amendment = {
        "contract_id": CONTRACT,
        "start_date": "2026-01-30",
        "end_date": None,
        "contract": None,
        "estimates": _estimates_quantity_update(),
    }
    return [
        OpenApiExample(
            "201 new_contract", response_only=True, status_codes=["201"], value=_session()
        ),
        OpenApiExample(
            "201 quantity_update",
            response_only=True,
            status_codes=["201"],
            value=_session(
                checkout_type="quantity_update",
                product_overrides=[{"product_id": SEATS, "quantity": 8}],
                **amendment,
            ),
        ),
    ]


# --- per-operation decorators ----------------------------------------------------------------

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    IDEMPOTENCY_KEY_SCHEMA,
    OpenApiParameter.HEADER,
    required=False,
    description="Makes the create safe to retry: the same key and body within 24 hours (at least) return the "
    "first response byte for byte, with `Idempotent-Replayed: true`. Also accepted as `idempotency_key`.",
)
REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-Id",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Your trace id (1–128 of letters, digits, `._:-`), echoed in `X-Request-Id`, error envelopes "
    "and logs. A body `trace_id` wins.",
)

_create_errors = _merge(
    _common(with_body=True),
    {404: CREATE_ERRORS_404, 409: CREATE_ERRORS_409, 422: CREATE_ERRORS_422, 429: RATE_LIMITED},
)
_create_responses, _create_error_examples = _responses(
    (
        201,
        CheckoutSessionSerializer,
        "The open session, with its hosted page `url` and locked `estimates`.",
    ),
    _create_errors,
)
create_schema = extend_schema(
    operation_id="checkout_sessions_create",
    summary="Create a checkout session",
    description=(
        "Opens a priced, short-lived checkout session. The checkout type is detected:\n\n"
        "| request carries | checkout_type |\n|---|---|\n"
        "| `contract` with `is_plan_based: true` (+ `plan_id`, `currency`, `start_date`) | `new_contract` |\n"
        "| `contract` with `is_plan_based: false` (+ `phases` with pricings) | `new_contract` |\n"
        "| top-level `plan_id`, no `contract_id` (currency from the plan) | `new_contract` |\n"
        "| `contract_id` + `plan_id` | `plan_switch` |\n"
        "| `contract_id` + `product_overrides`, no `plan_id` | `quantity_update` |\n"
        "| `mode: \"setup\"` + `customer_id` (optionally `contract_id`) | `setup` (saves a new default card, "
        "charges nothing) |\n\n"
        "Customer: `customer_id`, or `guest_checkout: true` with `customer` and `business_entity_id` (the "
        "customer is created on confirmation). Every id must belong to your organization (else 404).\n\n"
        "Fields that exclude each other (the schema's types cannot say it in a form generators read):\n\n"
        "| fields | rule | else |\n|---|---|---|\n"
        "| `contract` · `plan_id` · `contract_id` | `contract` alone, or `plan_id` and/or `contract_id` | "
        "`ambiguous_checkout_type` |\n"
        "| `pricing_id` · `pricing` (each phase pricing) | exactly one | `pricing_conflict` |\n"
        "| `guest_checkout: true` · `customer_id` | not both | `guest_checkout_conflict` |\n"
        "| `customer` · `customer_id` | `customer` only with `guest_checkout: true` | `field_not_allowed` |\n"
        "| `customer_email` · `customer_id` | `customer_email` only with `guest_checkout: true` | "
        "`field_not_allowed` |\n"
        "| `trial_end` · `trial_period_days` | not both | `conflicting_fields` |\n"
        "| `product_overrides.N.adjustable_quantity` · `optional` | plan-based new contracts only | "
        "`field_not_allowed` |\n"
        "| `adjustable_quantity.enabled` · `is_enabled: false` | not both | `conflicting_fields` |\n"
        "| `discounts` · `allow_promotion_codes` | not both | `discounts_conflict` |\n"
        "| `product_overrides` · `product_quantities` | one name (the second is an alias) | "
        "`conflicting_fields` |\n\n"
        "Idempotency: `Idempotency-Key` header or `idempotency_key`. Same key and body → the first response, "
        "byte for byte; a different body → 422 `idempotency_key_reused`; while the first is running → 409 "
        "`idempotency_key_in_use`. Failed validations are not stored. `trace_id` is not part of the body "
        "fingerprint.\n\nErrors (`error.code`; `error.fields` names the offending paths):\n\n"
        + _table(_create_errors)
    ),
    request=CheckoutSessionCreateSerializer,
    responses=_create_responses,
    parameters=[IDEMPOTENCY_HEADER, REQUEST_ID_HEADER],
    examples=CREATE_REQUEST_EXAMPLES + _create_response_examples() + _create_error_examples,
    tags=["checkout sessions"],
)

_list_errors = _merge(_common(with_body=False), {422: LIST_ERRORS_422})
_list_responses, _list_error_examples = _responses(
    (200, CheckoutSessionListSerializer, "Newest first. Follow `next_cursor` while `has_more`."),
    _list_errors,
)
list_schema = extend_schema(
    operation_id="checkout_sessions_list",
    summary="List checkout sessions",
    description="Your organization's sessions, newest first. Page on with `next_cursor` (or "
    "`starting_after=<last id>`) while `has_more`; page back with `ending_before=<first id>` (`has_more` then says "
    "whether newer sessions remain). An open session past `expires_at` is listed as expired.\n\n"
    + _table(_list_errors),
    parameters=[CheckoutSessionListQuerySerializer, REQUEST_ID_HEADER],
    responses=_list_responses,
    examples=[
        OpenApiExample(
            "200",
            response_only=True,
            status_codes=["200"],
            value={
                "object": "list",
                "data": [_session()],
                "has_more": True,
                "next_cursor": "WyIyMDI2LTAxLTE1VDEwOjAw…",
            },
        )
    ]
    + _list_error_examples,
    tags=["checkout sessions"],
)

_retrieve_errors = _merge(_common(with_body=False), {404: SESSION_NOT_FOUND, 422: RETRIEVE_ERRORS_422})
_retrieve_responses, _retrieve_error_examples = _responses(
    (200, CheckoutSessionSerializer, "The session (expired on read if past `expires_at`)."),
    _retrieve_errors,
)
retrieve_schema = extend_schema(
    operation_id="checkout_sessions_retrieve",
    summary="Retrieve a checkout session",
    description="Another organization's session is 404.\n\n" + _table(_retrieve_errors),
    parameters=[CheckoutSessionRetrieveQuerySerializer, REQUEST_ID_HEADER],
    responses=_retrieve_responses,
    examples=[OpenApiExample("200", response_only=True, status_codes=["200"], value=_session())]
    + _retrieve_error_examples,
    tags=["checkout sessions"],
)

_cancel_errors = _merge(
    _common(with_body=True), {404: SESSION_NOT_FOUND, 409: SESSION_NOT_OPEN, 422: CANCEL_ERRORS_422}
)
_cancel_responses, _cancel_error_examples = _responses(
    (200, CheckoutSessionSerializer, "The cancelled session."), _cancel_errors
)
cancel_schema = extend_schema(
    operation_id="checkout_sessions_cancel",
    summary="Cancel a checkout session",
    description="Only open sessions can be cancelled; any other status answers 409 "
    "`checkout_session_not_open`.\n\n" + _table(_cancel_errors),
    request=CheckoutSessionCancelSerializer,
    parameters=[REQUEST_ID_HEADER],
    responses=_cancel_responses,
    examples=[
        OpenApiExample(
            "cancel",
            request_only=True,
            value={"reason": "duplicate", "detail": "Replaced by A-1002"},
        ),
        OpenApiExample(
            "200",
            response_only=True,
            status_codes=["200"],
            value=_session(
                status="cancelled",
                cancelled_at="2026-01-15T11:00:00Z",
                cancellation_reason="duplicate",
                cancellation_detail="Replaced by A-1002",
            ),
        ),
    ]
    + _cancel_error_examples,
    tags=["checkout sessions"],
)

_expire_errors = _merge(
    _common(with_body=True), {404: SESSION_NOT_FOUND, 409: SESSION_NOT_OPEN, 422: EXPIRE_ERRORS_422}
)
_expire_responses, _expire_error_examples = _responses(
    (200, CheckoutSessionSerializer, "The expired session."), _expire_errors
)
expire_schema = extend_schema(
    operation_id="checkout_sessions_expire",
    summary="Expire a checkout session",
    description="Expire an open session now (as Stripe's expire), e.g. when the customer picked another "
    "offer; the `checkout_session.expired` event follows. A session in any other status, including "
    "`processing` (money in flight), answers 409 `checkout_session_not_open`. No body, or `{}`.\n\n"
    + _table(_expire_errors),
    request=EmptyBodySerializer,
    parameters=[REQUEST_ID_HEADER],
    responses=_expire_responses,
    examples=[
        OpenApiExample("200", response_only=True, status_codes=["200"],
                       value=_session(status="expired", expired_at="2026-01-15T11:00:00Z")),
    ]
    + _expire_error_examples,
    tags=["checkout sessions"],
)

_preview_errors = _merge(
    _common(with_body=True), {404: CREATE_ERRORS_404, 422: CREATE_ERRORS_422, 429: RATE_LIMITED},
)
_preview_responses, _preview_error_examples = _responses(
    (200, CheckoutSessionPreviewSerializer, "What a create with this body would price: the estimates."),
    _preview_errors,
)
preview_schema = extend_schema(
    operation_id="checkout_sessions_preview",
    summary="Preview a checkout session's estimates",
    description="The same body as create, validated by the same rules; answers the `estimates` (current and "
    "next invoice) without storing anything: no session, no idempotency record (a key in the body or "
    "header is ignored). For pricing pages and plan-switch previews.\n\n" + _table(_preview_errors),
    request=CheckoutSessionCreateSerializer,
    parameters=[REQUEST_ID_HEADER],
    responses=_preview_responses,
    examples=_preview_error_examples,
    tags=["checkout sessions"],
)

_confirm_errors = _merge(
    _common(with_body=True),
    {402: CONFIRM_ERRORS_402, 404: SESSION_NOT_FOUND, 409: CONFIRM_ERRORS_409, 422: CONFIRM_ERRORS_422},
)
_confirm_responses, _confirm_error_examples = _responses(
    (200, CheckoutSessionSerializer, "The session: `completed`, or `processing` while a payment settles."),
    _confirm_errors,
)
confirm_schema = extend_schema(
    operation_id="checkout_sessions_confirm",
    summary="Confirm a checkout session",
    description="For merchants who collect the customer's consent themselves: the same service, rules and "
    "guarantees as the hosted page's Pay button (one outcome under races, one contract, one charge). "
    "`charge_now` pays with `payment_method_id`; `invoice` completes with an open invoice where the business "
    "entity allows it; `no_payment` only when nothing is due.\n\n" + _table(_confirm_errors),
    request=CheckoutSessionConfirmSerializer,
    parameters=[REQUEST_ID_HEADER],
    responses=_confirm_responses,
    examples=[OpenApiExample("charge_now", request_only=True,
                             value={"mode": "charge_now", "payment_method_id": "pm_test_succeeds"})]
    + _confirm_error_examples,
    tags=["checkout sessions"],
)

_update_errors = _merge(
    _common(with_body=True),
    {404: {**SESSION_NOT_FOUND, **CREATE_ERRORS_404},
     409: {**SESSION_NOT_OPEN, "checkout_session_expired": CONFIRM_ERRORS_409["checkout_session_expired"],
           "checkout_session_changed": "Another update won the race: read the session again and retry.",
           "contract_amendment_in_progress": CREATE_ERRORS_409["contract_amendment_in_progress"]},
     422: {**CREATE_ERRORS_422, "field_not_allowed": "customer on a session that is not a guest checkout."}},
)
_update_responses, _update_error_examples = _responses(
    (200, CheckoutSessionSerializer, "The session with its new terms and re-locked `estimates`."), _update_errors
)
update_schema = extend_schema(
    operation_id="checkout_sessions_update",
    summary="Update an open checkout session",
    description="Change an open session before the customer confirms: guest `customer` details, "
    "`product_overrides`, `start_date`/`end_date`, the URLs, `metadata`, `expires_at`. The session is priced "
    "again by the create's rules (today's catalogue, the contract as it stands) and its estimate re-locked; "
    "the hosted page shows the new terms. Send only what changes. A confirm racing an update ends in one "
    "outcome: the update on a session no longer open is 409 `checkout_session_not_open`.\n\n"
    + _table(_update_errors),
    request=CheckoutSessionUpdateSerializer,
    parameters=[REQUEST_ID_HEADER],
    responses=_update_responses,
    examples=[OpenApiExample("quantity", request_only=True,
                             value={"product_overrides": [{"product_id": "9d1c…", "quantity": 8}]})]
    + _update_error_examples,
    tags=["checkout sessions"],
)


# --- the published document: what every operation shares ----------------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_BODY_METHODS = ("post", "put", "patch")
_HEADER = {
    "X-Request-Id": {"description": "The request's trace id (yours from `X-Request-Id`, else ours).",
                     "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1}},
    "Idempotency-Key": {"description": "The idempotency key the write was made with, when one was given.",
                        "schema": IDEMPOTENCY_KEY_SCHEMA},
    "Idempotent-Replayed": {"description": "`true` when this is the stored first response to the key.",
                            "schema": {"type": "string", "enum": ["true"]}},
}
# Answered by the middleware, the authentication and the parser on any operation (a body-less
# one cannot be malformed, too large or of the wrong media type).
_ANY_OPERATION = {
    401: ("authentication_required", "authentication_failed"),
    404: ("not_found",),
    405: ("method_not_allowed",),
    406: ("not_acceptable",),
    429: ("rate_limited",),
    500: ("internal_error",),
    503: ("service_unavailable",),
}
# Bodies whose every field is optional alone, but not all at once (drf-spectacular marks the
# others: a body is required when a field in it is).
_BODY_REQUIRED = ("checkout_sessions_create", "checkout_sessions_preview")
_WITH_BODY = {400: ("malformed_request",), 413: ("request_too_large",), 415: ("unsupported_media_type",)}
_DATE = re.compile(r"^(\d{4})(-\d{2}-\d{2}(?:T.*)?)$")


def _examples(node):
    """Every example value object under ``node`` (request bodies and responses)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples" and isinstance(value, dict):
                yield from (example for example in value.values() if isinstance(example, dict))
            else:
                yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def _dates(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _dates(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dates(item)
    elif isinstance(value, str) and _DATE.match(value):
        yield value


def _years_shifted(value, years: int):
    if isinstance(value, dict):
        return {key: _years_shifted(item, years) for key, item in value.items()}
    if isinstance(value, list):
        return [_years_shifted(item, years) for item in value]
    if isinstance(value, str) and (match := _DATE.match(value)):
        return f"{int(match[1]) + years}{match[2]}"
    return value


def _examples_in_the_future(result: dict, today: datetime.date) -> None:
    """Example dates are written for January 2026; the document is published with them moved on
    by whole years (so calendar periods and prices stay exactly as computed) until every one of
    them lies after ``today``: an example to copy is never refused as a start date in the past."""
    examples = [example for example in _examples(result.get("paths", {})) if "value" in example]
    earliest = min((datetime.date.fromisoformat(d[:10]) for e in examples for d in _dates(e["value"])),
                   default=None)
    if earliest is None:
        return
    years = 0
    while earliest.replace(year=earliest.year + years) <= today:
        years += 1
    if years:
        for example in examples:
            example["value"] = _years_shifted(example["value"], years)


# A metadata value: any JSON value whose text (keys included) holds no NUL character, whose numbers
# stay within ±1e38 and which nests at most 20 levels (serializers.json_text_check). A oneOf of
# simple schemas, without recursion: generators (openapi-python-client) build no type that refers
# to itself through a union, nor one schema of six types. So the top level states every rule and
# a container's contents only in the description (the README lists it among the refusals a
# schema-valid request can still get).
def _json_value() -> dict:
    return {
        "description": "Any JSON value; its text (keys included) holds no NUL character, its numbers stay within "
                       "±1e38, and it nests at most 20 levels (inside arrays and objects too).",
        "oneOf": [
            {"type": "null"},
            {"type": "string", "pattern": JSON_TEXT_SCHEMA["pattern"]},
            {"type": "number", "minimum": -JSON_NUMBER_LIMIT, "maximum": JSON_NUMBER_LIMIT},
            {"type": "boolean"},
            {"type": "array", "items": {}},
            {"type": "object", "propertyNames": JSON_TEXT_SCHEMA, "additionalProperties": {}},
        ],
    }


# The writes answered through checkout/api/idempotent.py (create has its own protocol; preview
# writes nothing). Another app's views that use it add their operation ids here.
IDEMPOTENT_WRITES = {
    "checkout_sessions_confirm", "checkout_sessions_cancel", "checkout_sessions_expire",
    "webhook_endpoints_create", "webhook_endpoints_update", "webhook_endpoints_roll_secret",
}
_IDEMPOTENCY_ERRORS = {"409": ("idempotency_key_in_use",),
                       "422": ("invalid_idempotency_key", "idempotency_key_reused")}


def _idempotent_write(operation: dict) -> None:
    """The Idempotency-Key header, its refusals and the replay headers on a write other than create."""
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name") == "Idempotency-Key" for p in parameters):
        parameters.append({
            "in": "header", "name": "Idempotency-Key", "required": False, "schema": IDEMPOTENCY_KEY_SCHEMA,
            "description": "Makes the write safe to retry: the same key, operation, object and body within 24 "
            "hours (at least) answer the first answer again, byte for byte, with `Idempotent-Replayed: true`; "
            "another body, operation or object is 422 `idempotency_key_reused`; a retry while the first runs is "
            "409 `idempotency_key_in_use`. Refusals are not stored.",
        })
    responses = operation["responses"]
    for status, codes in _IDEMPOTENCY_ERRORS.items():
        if status in responses:
            responses[status]["description"] += "; " + ", ".join(f"`{code}`" for code in codes)
        else:
            responses[status] = _error_response(codes)
            responses[status]["headers"] = {"X-Request-Id": _HEADER["X-Request-Id"]}
    for status, response in responses.items():
        if status.startswith("2") or status in _IDEMPOTENCY_ERRORS:
            response.setdefault("headers", {})["Idempotency-Key"] = _HEADER["Idempotency-Key"]
        if status.startswith("2") or status == "402":
            response["headers"]["Idempotent-Replayed"] = _HEADER["Idempotent-Replayed"]


def _error_response(codes) -> dict:
    return {"description": "Codes: " + ", ".join(f"`{code}`" for code in codes),
            "content": {"application/json": {"schema": _ERROR_REF}}}


def schema_complete(result, generator, request, public):
    """drf-spectacular postprocessing hook: every error status an operation can answer (the
    shared ones come from middleware and authentication, not from its view), the response
    headers we send, and examples dated in the future."""
    from django.utils import timezone

    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(_ANY_OPERATION)
            if method in _BODY_METHODS and "requestBody" in operation:
                statuses.update(_WITH_BODY)
                if operation.get("operationId") in _BODY_REQUIRED:
                    operation["requestBody"]["required"] = True
            responses = operation["responses"]
            for status, codes in statuses.items():
                responses.setdefault(str(status), _error_response(codes))
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers["X-Request-Id"] = _HEADER["X-Request-Id"]
                if status in ("429", "503"):
                    headers["Retry-After"] = _HEADER["Retry-After"]
            if operation.get("operationId") in ("checkout_sessions_create", "payment_refunds_create"):
                for status in ("201", "409", "422"):
                    responses[status]["headers"]["Idempotency-Key"] = _HEADER["Idempotency-Key"]
                responses["201"]["headers"]["Idempotent-Replayed"] = _HEADER["Idempotent-Replayed"]
            elif operation.get("operationId") in IDEMPOTENT_WRITES:
                _idempotent_write(operation)
    result.setdefault("components", {}).setdefault("schemas", {}).update(JsonValue=_json_value())
    _examples_in_the_future(result, timezone.now().date())
    return result
