"""Saving a card with Stripe: the checkout's Stripe Customer, and the SetupIntent the hosted page
confirms when nothing is charged today (a trial, a 100 % discount, a start in the future).

```
page "Start subscription" ──POST setup-intent──▶ SetupIntent (customer, usage=off_session)
      ◀── client_secret ──   Stripe.js confirmCardSetup (3-D Secure in the browser)
      ──confirm with the SetupIntent's id──▶ read back from Stripe ──▶ saved card, session completed
```

The card is read back from Stripe at confirm (``StripePaymentProvider.setup_intent_result``),
never taken from the browser, and only from a SetupIntent made for this session (its metadata).
"""

import logging
import uuid

from billing.payment_methods import provider_customer_reference
from checkout.enums import CheckoutType, SessionStatus
from checkout.errors import CardSetupAttemptsExhausted, PaymentMethodNotAllowed, SessionNotOpen
from checkout.mandates import session_saves_card
from checkout.models import CheckoutSession
from core.ratelimit import window_count
from customers.models import Customer

logger = logging.getLogger(__name__)


def checkout_session_provider_customer(*, session: CheckoutSession, provider) -> str:
    """The provider's customer a card saved at this checkout is attached to ("" for the test
    provider). A known customer's is created once and kept (``ProviderCustomer``); a guest is
    not one of our customers until the confirm succeeds, so the checkout gets its own Stripe
    Customer (the same for every call: its idempotency key is the session's), recorded for the
    customer the confirm creates or finds (``provider_customer_remember``)."""
    if not hasattr(provider, "customer_create"):
        return ""
    if session.customer_id is not None:
        customer = session.customer or Customer.objects.get(pk=session.customer_id)
        return provider_customer_reference(provider=provider, organization_id=session.organization_id,
                                           customer=customer, livemode=session.livemode)
    # Only what cannot change between two tries: the details a guest types may differ on a
    # retry, and Stripe refuses an idempotency key sent again with other parameters.
    return provider.customer_create(
        idempotency_key=f"checkout-{session.pk}-customer",
        metadata={"checkout_session_id": str(session.pk), "organization_id": str(session.organization_id)})


def checkout_session_setup_intent_create(*, session_id) -> str:
    """A SetupIntent for the hosted page to confirm, on the checkout's Stripe Customer, for
    off-session use; returns its client secret. Refused (``payment_method_not_allowed``) unless
    the session is open, owes nothing today and keeps a card, with Stripe as its provider.

    No transaction: the only row written is the customer's ``ProviderCustomer`` (one
    get-or-create); the confirm decides everything else under the session's lock."""
    from .confirm import checkout_session_amount_due, checkout_session_payment_provider  # it imports us

    session = CheckoutSession.objects.select_related("customer", "business_entity").get(pk=session_id)
    if session.status != SessionStatus.OPEN:
        raise SessionNotOpen()
    _setup_intents_limit(session)
    # A setup session has nothing priced: nothing due.
    due = 0 if session.checkout_type == CheckoutType.SETUP else checkout_session_amount_due(session)
    provider = checkout_session_payment_provider(session)
    saves_card = session.checkout_type == CheckoutType.SETUP or session_saves_card(session, due)
    if due > 0 or not saves_card or not hasattr(provider, "setup_intent_create"):
        raise PaymentMethodNotAllowed("This checkout saves no card with a SetupIntent.")
    result = provider.setup_intent_create(
        customer_reference=checkout_session_provider_customer(session=session, provider=provider),
        # Protects the SDK's own retries of this call; each click may make a new SetupIntent
        # (one that failed authentication cannot be confirmed again).
        idempotency_key=f"checkout-{session.pk}-setup-{uuid.uuid4().hex}",
        metadata=setup_intent_metadata(session))
    return result.client_secret


def setup_intent_metadata(session: CheckoutSession) -> dict:
    """What a SetupIntent made for ``session`` carries, and what the confirm checks it against."""
    return {"checkout_session_id": str(session.pk), "organization_id": str(session.organization_id)}


# Each click may make a SetupIntent in the merchant's Stripe account: a page (or a script) cannot
# make more than this many an hour for one session.
SETUP_INTENTS_PER_HOUR = 20


def _setup_intents_limit(session: CheckoutSession) -> None:
    try:
        made = window_count(f"checkout-setup-intents:{session.pk}", ttl=3600)
    except Exception:  # the cache is down: the page keeps working (the limit fails open)
        logger.warning("setup intent limit: cache unavailable; not counted")
        return
    if made > SETUP_INTENTS_PER_HOUR:
        raise CardSetupAttemptsExhausted()


def checkout_session_card_set_up(*, session: CheckoutSession, provider, card, payment_method_id: str):
    """Save a card for later charges without charging it (a trial's confirm, a setup session):
    the provider's answer (``ChargeResult`` with its ``saved_method``). Stripe: a SetupIntent the
    page confirmed (Stripe.js ``confirmCardSetup``, 3-D Secure included) is read back from Stripe,
    never taken from the browser; a bare payment method (the API's) is set up here, where nobody
    can authenticate. The test provider checks the card."""
    if provider.hosted_card_fields and payment_method_id.startswith("seti_"):
        return provider.setup_intent_result(payment_method_id, metadata=setup_intent_metadata(session))
    if provider.hosted_card_fields:
        return provider.setup_intent_create(
            customer_reference=checkout_session_provider_customer(session=session, provider=provider),
            idempotency_key=f"checkout-{session.pk}-setup-{uuid.uuid4().hex}",
            metadata=setup_intent_metadata(session), payment_method_id=payment_method_id)
    return provider.save(card)
