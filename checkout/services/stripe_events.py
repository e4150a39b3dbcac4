"""Stripe's webhooks (``payment_intent.succeeded`` / ``.payment_failed``): verified with the
SDK against the organization's signing secret, then applied through ``payment_settle``, the
one path every outcome takes (return page, webhook, sweep), so a payment completes exactly
once whichever arrives first. The outcome is read back from Stripe, not taken from the body."""

import logging
import uuid

import stripe

from billing.enums import PaymentProviderName
from billing.models import Payment, PaymentSettings
from checkout.errors import StripeWebhookRejected
from core.secrets import secret_decrypt

from .confirm import payment_settle

logger = logging.getLogger(__name__)
HANDLED = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"})


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
    intent_id = event.data.object.id
    payment = Payment.objects.filter(
        organization_id=payment_settings.organization_id, provider=PaymentProviderName.STRIPE,
        provider_reference=intent_id,
    ).only("id").first()
    if payment is None:  # not ours, or its confirm has not committed yet (it completes itself)
        logger.info("stripe event %s: no payment for intent %s", event.id, intent_id)
        return "unknown_payment"
    payment_settle(payment_id=payment.pk)
    return "applied"
