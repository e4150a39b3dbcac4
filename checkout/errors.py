"""Checkout domain errors. Each has a stable code (``CheckoutErrorCode``) and an HTTP status."""

from enum import StrEnum

from billing.estimates import MAX_START_DAYS_AHEAD
from core.errors import Conflict, CoreErrorCode, DomainError, NotFound


class CheckoutErrorCode(StrEnum):
    """Every code the checkout app answers with: its domain errors' (below) and the request
    rules its serializers and views refuse with (``checkout.api``). Part of the API contract:
    never rename one. The schema's error catalogue is built from this enum, billing's and
    core's (``checkout.api.schema``)."""

    # Domain errors
    BUSINESS_ENTITY_MISMATCH = "business_entity_mismatch"
    BUSINESS_ENTITY_NOT_FOUND = "business_entity_not_found"
    CARD_REQUIRED = "card_required"
    CHECKOUT_SESSION_CHANGED = "checkout_session_changed"
    CHECKOUT_SESSION_EXPIRED = "checkout_session_expired"
    CHECKOUT_SESSION_NOT_FOUND = "checkout_session_not_found"
    CHECKOUT_SESSION_NOT_OPEN = "checkout_session_not_open"
    CHECKOUT_SESSION_NOT_PRICED = "checkout_session_not_priced"
    CHECKOUT_SESSION_NOT_PROCESSING = "checkout_session_not_processing"
    CONTRACT_AMENDMENT_IN_PROGRESS = "contract_amendment_in_progress"
    TAX_CHANGED = "tax_changed"
    CONTRACT_CUSTOMER_MISMATCH = "contract_customer_mismatch"
    CONTRACT_ENDED = "contract_ended"
    CONTRACT_NOT_ACTIVE = "contract_not_active"
    CONTRACT_NOT_FOUND = "contract_not_found"
    CUSTOMER_DETAILS_REQUIRED = "customer_details_required"
    CUSTOMER_NOT_FOUND = "customer_not_found"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_CANCELLATION_REASON = "invalid_cancellation_reason"
    INVALID_EVENT_TYPE = "invalid_event_type"
    INVOICE_NOT_FOUND = "invoice_not_found"
    INVALID_GRACE_PERIOD = "invalid_grace_period"
    INVALID_URL = "invalid_url"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_METHOD_NOT_ALLOWED = "payment_method_not_allowed"
    PAYMENT_REQUIRED = "payment_required"
    PLAN_NOT_ACTIVE = "plan_not_active"
    PLAN_NOT_FOUND = "plan_not_found"
    PLAN_NOT_OFFERED = "plan_not_offered"
    LINE_NOT_ADJUSTABLE = "line_not_adjustable"
    # Billing's code for a quantity outside its bounds, answered by the hosted page's items box too.
    QUANTITY_OUT_OF_BOUNDS = "quantity_out_of_bounds"
    QUANTITY_NOT_ADJUSTABLE = "quantity_not_adjustable"
    ADJUSTABLE_QUANTITY_OUTSIDE_PLAN = "adjustable_quantity_outside_plan"
    PLAN_INTERVAL_UNCLEAR = "plan_interval_unclear"
    PLAN_CHOICES_SAME_INTERVAL = "plan_choices_same_interval"
    PLAN_UNCHANGED = "plan_unchanged"
    PRICING_NOT_FOUND = "pricing_not_found"
    PRODUCT_NOT_FOUND = "product_not_found"
    SETUP_SESSION_NOT_CONFIRMABLE = "setup_session_not_confirmable"
    START_DATE_OUT_OF_RANGE = "start_date_out_of_range"
    START_DATE_OUTSIDE_CONTRACT = "start_date_outside_contract"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    TERMS_OF_SERVICE_URL_MISSING = "terms_of_service_url_missing"
    URL_HTTPS_REQUIRED = "url_https_required"
    URL_NOT_PUBLIC = "url_not_public"
    WEBHOOK_DELIVERY_NOT_FOUND = "webhook_delivery_not_found"
    WEBHOOK_ENDPOINT_LIMIT = "webhook_endpoint_limit"
    WEBHOOK_ENDPOINT_NOT_FOUND = "webhook_endpoint_not_found"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    # Request rules (shapes, which fields go together)
    AMBIGUOUS_CHECKOUT_TYPE = "ambiguous_checkout_type"
    CHECKOUT_TYPE_UNDETERMINED = "checkout_type_undetermined"
    CONFLICTING_FIELDS = "conflicting_fields"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    DISCOUNTS_CONFLICT = "discounts_conflict"
    END_DATE_NOT_ALLOWED = "end_date_not_allowed"
    EXPIRES_AT_IN_PAST = "expires_at_in_past"
    EXPIRES_AT_TOO_FAR = "expires_at_too_far"
    FIELD_NOT_ALLOWED = "field_not_allowed"
    GUEST_CHECKOUT_CONFLICT = "guest_checkout_conflict"
    GUEST_CHECKOUT_NOT_ALLOWED = "guest_checkout_not_allowed"
    IDEMPOTENCY_KEY_MISMATCH = "idempotency_key_mismatch"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_COUNTRY = "invalid_country"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_CURSOR = "invalid_cursor"
    EVENT_NOT_FOUND = "event_not_found"
    LIVE_PAYMENT_PROVIDER_MISSING = "live_payment_provider_missing"
    STRIPE_UNAVAILABLE = "stripe_unavailable"
    INVALID_EMAIL = "invalid_email"
    INVALID_ID = "invalid_id"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_LOCALE = "invalid_locale"
    INVALID_PHONE_NUMBER = "invalid_phone_number"
    INVALID_TAX_ID = "invalid_tax_id"
    INVALID_TRACE_ID = "invalid_trace_id"
    METADATA_KEY_TOO_LONG = "metadata_key_too_long"
    METADATA_TOO_LARGE = "metadata_too_large"
    METADATA_TOO_MANY_KEYS = "metadata_too_many_keys"
    PHASE_DATES_INCOHERENT = "phase_dates_incoherent"
    PHASES_NOT_ALLOWED = "phases_not_allowed"
    PLAN_ID_NOT_ALLOWED = "plan_id_not_allowed"
    PLAN_NOT_IN_CHOICES = "plan_not_in_choices"
    DUPLICATE_PLAN_CHOICE = "duplicate_plan_choice"
    PRICING_CONFLICT = "pricing_conflict"
    PRODUCT_OVERRIDES_NOT_ALLOWED = "product_overrides_not_allowed"
    ADJUSTABLE_QUANTITY_INVALID = "adjustable_quantity_invalid"
    SETUP_MODE_CONFLICT = "setup_mode_conflict"
    TRIAL_NOT_ALLOWED = "trial_not_allowed"
    UNKNOWN_FIELD = "unknown_field"
    URL_SCHEME_NOT_ALLOWED = "url_scheme_not_allowed"
    URL_TOO_LONG = "url_too_long"
    URL_USERINFO_NOT_ALLOWED = "url_userinfo_not_allowed"




class EventNotFound(NotFound):
    code = CheckoutErrorCode.EVENT_NOT_FOUND.value
    message = "No such event."


class HostedInvoiceNotFound(NotFound):
    code = CheckoutErrorCode.INVOICE_NOT_FOUND.value
    message = "No such invoice."


class SessionNotFound(NotFound):
    code = CheckoutErrorCode.CHECKOUT_SESSION_NOT_FOUND.value
    message = "No such checkout session."


class SessionNotOpen(Conflict):
    code = CheckoutErrorCode.CHECKOUT_SESSION_NOT_OPEN.value
    message = "The checkout session is no longer open."


class SessionNotProcessing(Conflict):
    code = CheckoutErrorCode.CHECKOUT_SESSION_NOT_PROCESSING.value
    message = "The checkout session has no payment being processed."


class InvalidCancellationReason(DomainError):
    code = CheckoutErrorCode.INVALID_CANCELLATION_REASON.value
    message = "Unknown cancellation reason."


# --- Merchant API: creating sessions, idempotency, listing ---------------------------------
# Codes are part of the API contract (documented in the OpenAPI schema): never rename one.


class RequestInvalid(DomainError):
    """A shape rule of the request was broken. ``code`` is the first broken rule's code;
    ``fields`` lists every offending path."""

    code = CoreErrorCode.INVALID.value
    status = 422
    message = "The request has invalid fields."


class PlanNotFound(NotFound):
    code = CheckoutErrorCode.PLAN_NOT_FOUND.value
    message = "No such plan."


class ContractNotFound(NotFound):
    code = CheckoutErrorCode.CONTRACT_NOT_FOUND.value
    message = "No such contract."


class CustomerNotFound(NotFound):
    code = CheckoutErrorCode.CUSTOMER_NOT_FOUND.value
    message = "No such customer."


class BusinessEntityNotFound(NotFound):
    code = CheckoutErrorCode.BUSINESS_ENTITY_NOT_FOUND.value
    message = "No such business entity."


class ProductNotFound(NotFound):
    code = CheckoutErrorCode.PRODUCT_NOT_FOUND.value
    message = "No such product."


class PricingNotFound(NotFound):
    code = CheckoutErrorCode.PRICING_NOT_FOUND.value
    message = "No such pricing."


class PlanNotActive(DomainError):
    code = CheckoutErrorCode.PLAN_NOT_ACTIVE.value
    message = "The plan is not active."


class PlanNotOffered(DomainError):
    """The hosted page was asked for a plan that is not among the session's ``plan_choices``
    (a forged form): nothing changes."""

    code = CheckoutErrorCode.PLAN_NOT_OFFERED.value
    status = 400
    message = "This plan is not offered in this checkout."


class LineNotAdjustable(DomainError):
    """The hosted page was asked to change a line the merchant did not make adjustable: a
    quantity of a line without ``adjustable_quantity``, or the removal of an item not
    ``optional`` (a forged form). Nothing changes."""

    code = CheckoutErrorCode.LINE_NOT_ADJUSTABLE.value
    status = 400
    message = "This item cannot be changed in this checkout."


class QuantityNotInRange(DomainError):
    """The customer asked the hosted page for a quantity outside the line's
    ``adjustable_quantity`` bounds (or not a whole number). Nothing changes."""

    code = CheckoutErrorCode.QUANTITY_OUT_OF_BOUNDS.value
    message = "Choose a quantity within the allowed range."

    def __init__(self, *, minimum: int, maximum: int, field: str):
        super().__init__(f"Choose a quantity from {minimum} to {maximum}.", field=field)
        self.minimum, self.maximum = minimum, maximum


class QuantityNotAdjustable(DomainError):
    code = CheckoutErrorCode.QUANTITY_NOT_ADJUSTABLE.value
    message = "Only a per-unit, tiered or volume line's quantity can be adjustable."


class AdjustableQuantityOutsidePlan(DomainError):
    code = CheckoutErrorCode.ADJUSTABLE_QUANTITY_OUTSIDE_PLAN.value
    message = "The adjustable quantity's bounds must lie within the plan item's."


class PlanIntervalUnclear(DomainError):
    code = CheckoutErrorCode.PLAN_INTERVAL_UNCLEAR.value
    message = "A plan offered as a choice must bill all its recurring items on one cadence."


class PlanChoicesSameInterval(DomainError):
    code = CheckoutErrorCode.PLAN_CHOICES_SAME_INTERVAL.value
    message = "Each plan offered as a choice must bill on a different cadence (e.g. monthly and yearly)."


class ContractNotActive(DomainError):
    code = CheckoutErrorCode.CONTRACT_NOT_ACTIVE.value
    message = "The contract has ended and cannot be amended."


class ContractCustomerMismatch(DomainError):
    code = CheckoutErrorCode.CONTRACT_CUSTOMER_MISMATCH.value
    message = "The contract belongs to another customer."


class BusinessEntityMismatch(DomainError):
    code = CheckoutErrorCode.BUSINESS_ENTITY_MISMATCH.value
    message = "The business entity differs from the contract's."


class PlanUnchanged(DomainError):
    code = CheckoutErrorCode.PLAN_UNCHANGED.value
    message = "The contract is already on this plan; send product_overrides without plan_id to change quantities."


class ContractAmendmentInProgress(Conflict):
    code = CheckoutErrorCode.CONTRACT_AMENDMENT_IN_PROGRESS.value
    message = ("Another change to this contract has a payment being processed; "
               "wait for it to settle, then open a new checkout session.")


class TaxChanged(Conflict):
    code = CheckoutErrorCode.TAX_CHANGED.value
    message = ("The tax for your billing details changes the total. Check the new total, then "
               "confirm again.")


class ContractEnded(DomainError):
    code = CheckoutErrorCode.CONTRACT_ENDED.value
    message = "The contract has ended and cannot be amended."


class StartDateOutsideWindow(DomainError):
    code = CheckoutErrorCode.START_DATE_OUT_OF_RANGE.value
    message = ("The start date must lie between one billing period ago and "
               f"{MAX_START_DAYS_AHEAD} days from today.")


class ChangeDateOutsideContract(DomainError):
    code = CheckoutErrorCode.START_DATE_OUTSIDE_CONTRACT.value
    message = "The change date must fall within the contract's current phase."


class UrlHttpsRequired(DomainError):
    code = CheckoutErrorCode.URL_HTTPS_REQUIRED.value
    message = "Live-mode keys require https URLs."


class IdempotencyKeyReused(DomainError):
    code = CheckoutErrorCode.IDEMPOTENCY_KEY_REUSED.value
    message = "This idempotency key was already used with a different request body."


class IdempotencyKeyInUse(Conflict):
    code = CheckoutErrorCode.IDEMPOTENCY_KEY_IN_USE.value
    message = "A request with this idempotency key is still being processed; retry shortly."


class SessionChangedConcurrently(Conflict):
    code = CheckoutErrorCode.CHECKOUT_SESSION_CHANGED.value
    message = "The checkout session changed while this request was made; read it again and retry."


class SessionExpired(SessionNotOpen):
    code = CheckoutErrorCode.CHECKOUT_SESSION_EXPIRED.value
    message = "The checkout session has expired."


class SessionNotPriced(DomainError):
    code = CheckoutErrorCode.CHECKOUT_SESSION_NOT_PRICED.value
    status = 409
    message = "The checkout session has no locked estimate to confirm."


class SetupSessionNotConfirmable(Conflict):
    """A setup session saves the card the customer types on the hosted page (their agreement
    recorded there); the merchant API has no card of theirs to save, so it cannot confirm one."""

    code = CheckoutErrorCode.SETUP_SESSION_NOT_CONFIRMABLE.value
    message = ("A setup session is completed by the customer on its hosted page (url); "
               "it cannot be confirmed through the API.")


class PaymentMethodNotAllowed(DomainError):
    code = CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED.value
    message = "This payment method is not available for this checkout session."


class PaymentRequired(DomainError):
    code = CheckoutErrorCode.PAYMENT_REQUIRED.value
    message = "This checkout session has an amount due: confirm it with a payment."


class PaymentFailed(DomainError):
    """The merchant API's confirm: the charge was declined (the session stays open)."""

    code = CheckoutErrorCode.PAYMENT_FAILED.value
    status = 402
    message = "The payment did not go through."


class CardRequired(DomainError):
    code = CheckoutErrorCode.CARD_REQUIRED.value
    message = "Card details are required to pay by card."


class CustomerDetailsRequired(DomainError):
    code = CheckoutErrorCode.CUSTOMER_DETAILS_REQUIRED.value
    message = "A guest checkout needs the customer's name."


class StripeWebhookRejected(DomainError):
    code = CheckoutErrorCode.WEBHOOK_SIGNATURE_INVALID.value
    status = 400
    message = "Unknown webhook endpoint or invalid Stripe-Signature."


class LivePaymentProviderMissing(DomainError):
    """A live session that must take a card, in an organization with no live payment provider:
    refused at create, before a customer could type a card number anywhere."""

    code = CheckoutErrorCode.LIVE_PAYMENT_PROVIDER_MISSING.value
    message = ("Live card payments need Stripe: save the organization's live payment settings (provider "
               "\"stripe\" with its live keys) in admin, or allow pay by invoice on the business entity.")


class StripeWebhookRetryLater(StripeWebhookRejected):
    """Applying the event needs Stripe, which did not answer: Stripe sends it again later."""

    code = CheckoutErrorCode.STRIPE_UNAVAILABLE.value
    status = 503
    message = "Stripe did not answer; send the event again."


class WebhookEndpointNotFound(NotFound):
    code = CheckoutErrorCode.WEBHOOK_ENDPOINT_NOT_FOUND.value
    message = "No such webhook endpoint."


class WebhookDeliveryNotFound(NotFound):
    code = CheckoutErrorCode.WEBHOOK_DELIVERY_NOT_FOUND.value
    message = "No such webhook delivery."


class InvalidWebhookUrl(DomainError):
    code = CheckoutErrorCode.INVALID_URL.value
    message = "The URL must be an absolute http or https URL with a host."


class InvalidSecretGracePeriod(DomainError):
    code = CheckoutErrorCode.INVALID_GRACE_PERIOD.value
    message = "previous_secret_valid_hours must be a whole number of hours from 0 to 168."


class WebhookUrlNotPublic(DomainError):
    code = CheckoutErrorCode.URL_NOT_PUBLIC.value
    message = "Webhooks are delivered to public addresses only, not to localhost or private networks."


class InvalidEventType(DomainError):
    code = CheckoutErrorCode.INVALID_EVENT_TYPE.value
    message = "Unknown event type."


class WebhookEndpointLimit(DomainError):
    code = CheckoutErrorCode.WEBHOOK_ENDPOINT_LIMIT.value
    message = "The organization has as many webhook endpoints as it may have."


class TermsOfServiceUrlMissing(DomainError):
    code = CheckoutErrorCode.TERMS_OF_SERVICE_URL_MISSING.value
    message = "The business entity has no terms of service URL to ask the customer to accept; set terms_url first."


class TermsNotAccepted(DomainError):
    code = CheckoutErrorCode.TERMS_NOT_ACCEPTED.value
    message = "Accept the terms of service to continue."


class CardSetupAttemptsExhausted(DomainError):
    """The hosted page asked for too many SetupIntents for one session (each one is made in the
    merchant's Stripe account)."""

    code = CoreErrorCode.RATE_LIMITED.value
    status = 429
    message = "Too many attempts to save a card. Please try again later."
