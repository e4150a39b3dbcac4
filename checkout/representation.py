"""The JSON objects the API answers with and events carry, built by hand from model rows.

DRF's field-by-field rendering would be the slowest part of a create, so these are plain
functions; the serializers in ``checkout.api.serializers`` describe the same shapes for
the schema (a test holds them in step). Services use these too: an event's ``data.object``
is exactly what ``GET /api/v1/checkout-sessions/{id}`` answered at that moment.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from billing.models import SavedPaymentMethod
from checkout.enums import ALL_EVENTS, CheckoutType, SessionStatus
from checkout.sessions.terms import datetime_text, plain_json


def id_text(value):
    return str(value) if value is not None else None


def checkout_session_json(session) -> dict:
    return {
        "id": str(session.id),
        "object": "checkout_session",
        "organization_id": str(session.organization_id),
        "livemode": session.livemode,
        "checkout_type": session.checkout_type,
        "status": session.status,
        "payment_status": session.payment_status,
        "url": f"{settings.PUBLIC_BASE_URL}/pay/{session.token}",
        "plan_id": id_text(session.plan_id),
        "contract_id": id_text(session.contract_id),
        "start_date": session.start_date.isoformat(),
        "end_date": session.end_date.isoformat() if session.end_date else None,
        "customer_id": id_text(session.customer_id),
        "business_entity_id": str(session.business_entity_id),
        "guest_checkout": session.guest_checkout,
        "customer": session.customer_details,
        "currency": session.currency,
        "contract": session.contract_spec,
        "product_overrides": session.product_overrides or [],
        "plan_choices": [choice["plan_id"] for choice in session.plan_choices or ()],
        **plain_json(session),  # success_url, cancel_url, pending_url, client_reference_id, metadata, locale
        "attribution": session.attribution,
        "trace_id": session.trace_id or None,
        "expires_at": datetime_text(session.expires_at),
        "created_at": datetime_text(session.created_at),
        "updated_at": datetime_text(session.updated_at),
        "completed_at": datetime_text(session.completed_at),
        "cancelled_at": datetime_text(session.cancelled_at),
        "expired_at": datetime_text(session.expired_at),
        "cancellation_reason": session.cancellation_reason or None,
        "cancellation_detail": session.cancellation_detail or None,
        **_totals(session.estimates),
        "estimates": session.estimates or None,
        "allow_promotion_codes": session.allow_promotion_codes,
        "discount": _discount_json(session),
        "trial_end": (session.quote or {}).get("trial_end"),
        "consent_collection": {"terms_of_service": "required" if session.terms_url else "none"},
        "terms_of_service_url": session.terms_url or None,
        "terms_accepted_at": datetime_text(session.terms_accepted_at),
        "after_expiration": {"recovery": {"enabled": session.recovery_enabled}},
        "recovery_url": session.recovery_url or None,
        "recovered_from": id_text(session.recovered_from_id),
        "setup": _setup_json(session),
    }


_renderer = JSONRenderer()


def checkout_session_body(session) -> bytes:
    """``checkout_session_json`` as the API's response body: the bytes a create answers, stores
    for idempotent replays, and answers again."""
    return _renderer.render(checkout_session_json(session))


def _setup_json(session) -> dict | None:
    """A setup session's outcome: the card it saved once completed (None before); None for the
    other kinds. Read only for a completed setup session, so other sessions cost no query."""
    if session.checkout_type != CheckoutType.SETUP:
        return None
    if session.status != SessionStatus.COMPLETED:
        return {"payment_method": None}
    method = SavedPaymentMethod.objects.filter(checkout_session_id=session.pk).order_by("created_at").first()
    if method is None:
        return {"payment_method": None}
    return {"payment_method": {"id": str(method.pk), "provider_reference": method.provider_reference,
                               "brand": method.brand or None, "last4": method.last4 or None,
                               "exp_month": method.exp_month, "exp_year": method.exp_year}}


_NO_TOTALS = dict.fromkeys(("amount_subtotal", "amount_discount", "amount_tax", "amount_total", "amount_due"))


def _totals(estimates) -> dict:
    """The current invoice's totals at the top level, decimal strings like the estimate's:
    ``amount_subtotal`` before discounts and tax, ``amount_discount`` (positive) what the
    discount takes off, ``amount_tax``, ``amount_total`` and ``amount_due`` (after credit)."""
    current = (estimates or {}).get("current_invoice")
    if not current:
        return _NO_TOTALS
    subtotal = Decimal(current["subtotal"])
    zero = subtotal * 0  # the currency's exponent: "0.00" for USD, "0" for JPY
    discount = zero - sum((Decimal(line["amount"]) for line in current.get("line_items") or ()
                           if line.get("kind") == "discount"), zero)
    return {
        "amount_subtotal": str(subtotal + discount),
        "amount_discount": str(discount),
        "amount_tax": current["tax"],
        "amount_total": current["total"],
        "amount_due": current.get("amount_due", current["total"]),
    }


def _discount_json(session) -> dict | None:
    discount = (session.quote or {}).get("discount")
    if discount is None:
        return None
    return {**discount, "promotion_code_id": id_text(session.promotion_code_id)}


# What a preview answers, in this order: the session's own fields, nothing that needs it to exist.
_PREVIEW_KEYS = ("organization_id", "livemode", "checkout_type", "plan_id", "contract_id", "customer_id",
                 "business_entity_id", "currency", "start_date", "end_date", "product_overrides", "estimates")


def checkout_session_preview_json(session) -> dict:
    """A preview: what a create with the same body would price. No id, no url: nothing exists."""
    whole = checkout_session_json(session)
    return {"object": "checkout_session_preview", **{key: whole[key] for key in _PREVIEW_KEYS}}


def webhook_endpoint_json(endpoint) -> dict:
    return {
        "id": str(endpoint.id),
        "object": "webhook_endpoint",
        "organization_id": str(endpoint.organization_id),
        "livemode": endpoint.livemode,
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events) or [ALL_EVENTS],
        "is_active": endpoint.is_active,
        # Set while deliveries are also signed with the secret before the last roll.
        "previous_secret_expires_at": datetime_text(_overlap_ends(endpoint)),
        "created_at": datetime_text(endpoint.created_at),
        "updated_at": datetime_text(endpoint.updated_at),
    }


def _overlap_ends(endpoint):
    ends = endpoint.previous_secret_expires_at
    if ends is None or not endpoint.previous_secret or ends <= timezone.now():
        return None
    return ends
