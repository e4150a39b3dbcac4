"""Refunding a completed session's card payment from its admin page (Finance and Admin: the
``billing.refund_invoice`` permission), through the same service as the API
(``billing.refunds.payment_refund``): in full, whatever is left of it."""

from decimal import Decimal

from billing.enums import PaymentAttemptStatus
from billing.models import Payment
from billing.refunds import payment_refund
from checkout.models import CheckoutSession
from core.errors import Conflict


def _paid(session: CheckoutSession) -> Payment | None:
    return Payment.objects.filter(checkout_session_id=session.pk, status=PaymentAttemptStatus.SUCCEEDED).first()


def session_refundable(session: CheckoutSession) -> tuple[Decimal, str] | None:
    """(amount left to refund, currency) of the session's card payment, or None."""
    payment = _paid(session)
    if payment is None:
        return None
    return payment.amount - payment.amount_refunded, payment.currency


def session_payment_refund(session: CheckoutSession, *, reason: str, requested_by: str):
    payment = _paid(session)
    if payment is None:
        raise Conflict("No card payment went through on this session: there is nothing to refund.",
                       code="nothing_to_refund")
    return payment_refund(organization_id=session.organization_id, livemode=session.livemode,
                          payment_id=payment.pk, reason=reason, source="admin", requested_by=requested_by)
