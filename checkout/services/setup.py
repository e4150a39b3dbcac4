"""Setup-mode sessions (Stripe's ``mode=setup``): an existing customer saves a new card on the
hosted page, without paying; it becomes their default (and the given contract's method), so
the next renewal charges it. ``checkout_session.completed`` carries the new method.

The card is checked and saved by the provider (the test provider's ``save``; Stripe: the
PaymentMethod Stripe.js made, attached to the customer's Stripe Customer), under the session's
lock, as a trial checkout saves its card (``checkout.services.confirm``).
"""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from billing.enums import PaymentMethod, SavedPaymentMethodStatus
from billing.gateway import CardDetails, ChargeStatus, PaymentProvider
from billing.models import Contract, SavedPaymentMethod
from billing.payment_methods import saved_payment_method_announce, saved_payment_method_record
from billing.representation import saved_payment_method_json
from checkout.enums import CheckoutType, EventType, PaymentStatus, SessionStatus
from checkout.errors import CardRequired, SessionNotOpen
from checkout.models import CheckoutSession
from checkout.services.card_setup import checkout_session_card_set_up
from checkout.services.confirm import Mandate
from checkout.sessions.transitions import session_lock_open, session_transition


@dataclass(frozen=True)
class SetupResult:
    session: CheckoutSession
    method: SavedPaymentMethod | None = None
    failure_message: str = ""


def setup_mandate_text(session: CheckoutSession) -> str:
    """The agreement shown next to the button and recorded with the card."""
    return _("By saving this card, you authorise %(merchant)s to charge it for your subscription's future "
             "payments until you cancel.") % {"merchant": session.business_entity.name}


def checkout_session_setup_confirm(*, session_id, provider: PaymentProvider, card: CardDetails | None = None,
                                   payment_method_id: str = "", mandate: Mandate | None = None,
                                   language: str = "") -> SetupResult:
    """Save the card of an open setup session as its customer's default (and its contract's
    method), and complete the session with the new method in the event. A card the provider
    refuses leaves the session open with ``payment_status=failed``."""
    mandate = mandate or Mandate()
    now = timezone.now()
    with session_lock_open(session_id=session_id, now=now, related=("business_entity", "customer"),
                           action="confirmed") as session:
        if session.checkout_type != CheckoutType.SETUP:
            raise SessionNotOpen("Only a setup session saves a card without paying.")
        if (provider.hosted_card_fields and not payment_method_id) or (not provider.hosted_card_fields and not card):
            raise CardRequired(field="payment_method_id")
        clicked = {"customer_language": language} if language and language != session.customer_language else {}
        result = checkout_session_card_set_up(session=session, provider=provider, card=card,
                                              payment_method_id=payment_method_id)
        saved = result.saved_method if result.status == ChargeStatus.SUCCEEDED else None
        failure = None if saved else result
        if saved is None:
            session_transition(session, payment_status=PaymentStatus.FAILED, **clicked, event=EventType.PAYMENT_FAILED,
                               data={"payment_id": None, "failure_code": failure.failure_code[:64],
                                     "failure_message": failure.failure_message[:300]})
            return SetupResult(session, failure_message=failure.failure_message)
        method = saved_payment_method_record(
            organization_id=session.organization_id, customer_id=session.customer_id, livemode=session.livemode,
            provider=provider.name, saved=saved, mandate_text=setup_mandate_text(session),
            ip_address=mandate.ip_address, user_agent=mandate.user_agent, checkout_session_id=session.pk)
        if session.contract_id is not None:
            Contract.objects.filter(pk=session.contract_id).update(default_payment_method=method, updated_at=now)
        saved_payment_method_announce(method)
        session_transition(session, status=SessionStatus.COMPLETED, payment_status=PaymentStatus.NO_PAYMENT_REQUIRED,
                           payment_method=PaymentMethod.CARD, completed_at=now, **clicked,
                           event=EventType.COMPLETED,
                           data={"payment_method": saved_payment_method_json(method),
                                 "saved_payment_method_id": str(method.pk)})
    return SetupResult(session, method)


def setup_session_current_method(session: CheckoutSession) -> SavedPaymentMethod | None:
    """The card the session's renewals use today (shown as "replaces"): the contract's, else the
    customer's default."""
    if session.contract_id is not None:
        contract = Contract.objects.select_related("default_payment_method").get(pk=session.contract_id)
        method = contract.default_payment_method
        if method is not None and method.status == SavedPaymentMethodStatus.ACTIVE:
            return method
    return (SavedPaymentMethod.objects.filter(customer_id=session.customer_id, livemode=session.livemode,
                                              status=SavedPaymentMethodStatus.ACTIVE, default_since__isnull=False)
            .order_by("-default_since").first())
