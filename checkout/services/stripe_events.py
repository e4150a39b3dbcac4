"""Stripe's webhooks, verified with the SDK against the organization's signing secret.

- ``payment_intent.succeeded`` / ``.payment_failed`` / ``.canceled``: applied through
  ``payment_settle``, the one path every outcome takes (return page, webhook, sweep), so a payment
  completes exactly once whichever arrives first; the outcome is read back from Stripe, not taken
  from the body. An intent we have not recorded yet (its answer was lost) is found by its
  ``metadata.payment_id`` and completed; a succeeded intent that pays for nothing of ours (its
  attempt ended failed, or a session of ours already paid by another one) is refunded in full.
- ``charge.refunded``: the payment's refunds, as Stripe lists them, recorded
  (``payment_refunds_sync``: a credit note and ``payment.refunded`` each).
- ``charge.dispute.created`` / ``.updated`` / ``.closed``: the dispute recorded on the payment
  (``payment_dispute_record``: ``payment.disputed``).
"""

import logging
import uuid

import stripe
from django.utils import timezone

from billing.enums import DisputeStatus, PaymentAttemptStatus, PaymentProviderName
from billing.errors import PaymentProviderUnavailable
from billing.gateway import StripePaymentProvider, amount_from_minor_units, provider_for
from billing.models import Payment, PaymentSettings
from billing.refunds import payment_dispute_record, payment_refunds_sync
from checkout.errors import StripeWebhookRejected, StripeWebhookRetryLater
from checkout.models import CheckoutSession
from core.secrets import secret_decrypt

from .confirm import payment_settle

logger = logging.getLogger(__name__)
INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"})
DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"})
HANDLED = INTENT_EVENTS | DISPUTE_EVENTS | {"charge.refunded"}


def stripe_event_handle(*, payment_settings_id: str, payload: bytes, signature: str) -> str:
    """Verify and apply one Stripe event; returns what was done (for the log and the answer).
    Raises ``StripeWebhookRejected`` for an unknown endpoint or a bad signature."""
    try:
        settings_pk = uuid.UUID(str(payment_settings_id))
    except ValueError:
        raise StripeWebhookRejected() from None
    payment_settings = PaymentSettings.objects.filter(pk=settings_pk, provider=PaymentProviderName.STRIPE).first()
    secret = secret_decrypt(payment_settings.stripe_webhook_secret_encrypted) if payment_settings else ""
    if not secret:
        raise StripeWebhookRejected()
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError):
        raise StripeWebhookRejected() from None
    if event.type not in HANDLED:
        return "ignored"
    data = event.to_dict().get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        logger.warning("stripe event %s (%s) has no object id; ignored", event.id, event.type)
        return "ignored"
    if event.type in INTENT_EVENTS:
        return _intent_event(payment_settings, event, obj)
    if event.type == "charge.refunded":
        return _charge_refunded(payment_settings, obj)
    return _dispute_event(payment_settings, obj)


def _payments(payment_settings: PaymentSettings):
    return Payment.objects.filter(organization_id=payment_settings.organization_id,
                                  livemode=payment_settings.livemode, provider=PaymentProviderName.STRIPE)


def _intent_event(payment_settings: PaymentSettings, event, intent: dict) -> str:
    intent_id = intent["id"]
    payments = _payments(payment_settings)
    payment = payments.filter(provider_reference=intent_id).only("id").first()
    if payment is not None:
        payment_settle(payment_id=payment.pk)
        return "applied"
    metadata = intent.get("metadata") if isinstance(intent.get("metadata"), dict) else {}
    payment = _payment_named(payments, metadata.get("payment_id"))
    if payment is not None and payment.status == PaymentAttemptStatus.PENDING and not payment.provider_reference:
        # Our attempt, whose answer never came: the intent is its answer.
        payment_settle(payment_id=payment.pk, reference=intent_id)
        return "applied"
    if event.type == "payment_intent.succeeded" and (payment is not None or _session_of_ours(
            payment_settings, metadata.get("checkout_session_id"))):
        return _orphan_refund(payment_settings, intent_id)
    logger.info("stripe event %s: no payment for intent %s", event.id, intent_id)
    return "unknown_payment"


def _payment_named(payments, value) -> Payment | None:
    try:
        return payments.filter(pk=uuid.UUID(str(value))).first() if value else None
    except ValueError:
        return None


def _session_of_ours(payment_settings: PaymentSettings, value) -> bool:
    try:
        return bool(value) and CheckoutSession.objects.filter(
            pk=uuid.UUID(str(value)), organization_id=payment_settings.organization_id).exists()
    except ValueError:
        return False


def _orphan_refund(payment_settings: PaymentSettings, intent_id: str) -> str:
    """Money Stripe took for one of our sessions that nothing of ours records as paid: all of it
    goes back (the key makes a redelivered event refund once)."""
    provider = provider_for(payment_settings, livemode=payment_settings.livemode)
    if not isinstance(provider, StripePaymentProvider):
        return "unknown_payment"
    try:
        result = provider.refund_unrecorded(reference=intent_id, idempotency_key=f"orphan-{intent_id}")
    except PaymentProviderUnavailable:
        raise StripeWebhookRetryLater() from None
    logger.warning("stripe intent %s paid for nothing recorded: refunded (%s)", intent_id, result.status)
    return "refunded"


def _payment_of_charge(payment_settings: PaymentSettings, charge: dict) -> Payment | None:
    intent = charge.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    if not isinstance(intent_id, str) or not intent_id:
        return None
    return _payments(payment_settings).filter(provider_reference=intent_id).first()


def _charge_refunded(payment_settings: PaymentSettings, charge: dict) -> str:
    payment = _payment_of_charge(payment_settings, charge)
    if payment is None:
        return "unknown_payment"
    provider = provider_for(payment_settings, livemode=payment_settings.livemode)
    if not isinstance(provider, StripePaymentProvider):
        return "unknown_payment"
    try:
        refunds = provider.refunds_of(payment.provider_reference, payment.currency)  # read back from Stripe
    except PaymentProviderUnavailable:
        raise StripeWebhookRetryLater() from None
    payment_refunds_sync(payment_id=payment.pk, refunds=refunds)
    return "applied"


def _dispute_event(payment_settings: PaymentSettings, dispute: dict) -> str:
    payment = _payment_of_charge(payment_settings, dispute)
    if payment is None:
        return "unknown_payment"
    status = dispute.get("status") if dispute.get("status") in DisputeStatus.values else DisputeStatus.NEEDS_RESPONSE
    closed = status in (DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.WARNING_CLOSED)
    try:
        amount = amount_from_minor_units(int(dispute.get("amount") or 0), payment.currency)
    except (TypeError, ValueError):
        return "ignored"
    payment_dispute_record(payment_id=payment.pk, reference=dispute["id"], amount=amount,
                           reason=str(dispute.get("reason") or ""), status=status,
                           closed_at=timezone.now() if closed else None)
    return "applied"

