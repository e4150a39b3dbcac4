"""Refunds and disputes: money given back on a payment, and chargebacks the bank opened.

A refund is reserved before the provider is asked, under the payment's row lock: the payment's
``amount_refunded`` (pending refunds included) may never exceed what was paid, so two refunds
racing for the last euro queue on the lock and the second is refused (a database check backs
it). The provider is then called outside every lock, with the refund's own id as idempotency
key; its answer is applied once. A refund the provider refuses gives its reservation back. A
refund made in the provider's dashboard comes back through its events and is recorded the same
way (``payment_refunds_sync``). Each refund has a credit note on the invoice the payment paid,
and a ``payment.refunded`` event.
"""

import logging
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from core.money import quantize

from .enums import BillingEventType, PaymentAttemptStatus, RefundReason, RefundStatus
from .errors import (
    PaymentNotFound,
    PaymentNotRefundable,
    PaymentProviderUnavailable,
    RefundAmountInvalid,
    RefundExceedsPayment,
)
from .gateway import RefundResult
from .models import CreditNote, Dispute, Invoice, Payment, Refund
from .payment_settings import provider_named
from .representation import payment_json, refund_json
from .signals import billing_event_send

logger = logging.getLogger(__name__)


def payment_refund(*, organization_id, livemode: bool, payment_id, amount: Decimal | None = None,
                   reason: str = RefundReason.REQUESTED_BY_CUSTOMER, source: str = "api",
                   requested_by: str = "", on_reserved: Callable[[Refund], None] | None = None) -> Refund:
    """Refund ``amount`` (default: all that is left) of a payment through its provider. Returns
    the refund: ``succeeded``, ``pending`` (the provider completes it later, or did not answer:
    sent again by ``refunds_reconcile_pending``) or ``failed`` (the reservation given back).
    ``on_reserved(refund)`` runs inside the reservation's transaction (an API request records
    its idempotency key's answer with it: a crash after the reservation never refunds twice)."""
    refund = _reserve(organization_id=organization_id, livemode=livemode, payment_id=payment_id, amount=amount,
                      reason=reason, source=source, requested_by=requested_by, on_reserved=on_reserved)
    return refund_send(refund_id=refund.pk)


@transaction.atomic
def _reserve(*, organization_id, livemode, payment_id, amount, reason, source, requested_by,
             on_reserved=None) -> Refund:
    payment = (Payment.objects.select_for_update()
               .filter(pk=payment_id, organization_id=organization_id, livemode=livemode).first())
    if payment is None:
        raise PaymentNotFound()
    if payment.status != PaymentAttemptStatus.SUCCEEDED:
        raise PaymentNotRefundable()
    left = payment.amount - payment.amount_refunded
    amount = left if amount is None else Decimal(amount)
    if not amount.is_finite() or amount <= 0 or quantize(amount, payment.currency) != amount:
        raise RefundAmountInvalid(field="amount")
    if amount > left:
        raise RefundExceedsPayment(f"At most {quantize(left, payment.currency)} {payment.currency} is left to refund.",
                                   field="amount")
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount)
    refund = Refund(organization_id=organization_id, payment=payment, invoice_id=_invoice_of(payment),
                    livemode=livemode, amount=amount, currency=payment.currency, reason=reason, source=source,
                    requested_by=requested_by[:150])
    refund.idempotency_key = f"refund-{refund.pk}"
    refund.save(force_insert=True)
    if on_reserved is not None:
        on_reserved(refund)
    return refund


def payment_refund_unapplied(*, payment_id, reason: str = RefundReason.OTHER) -> Refund:
    """Money that came in for nothing (a settle-later payment whose contract changed meanwhile,
    so it was not applied): all of it is given back through the provider. Call inside the
    transaction that records why; the refund is reserved here and sent once that commits (or by
    ``refunds_reconcile_pending``), whatever the payment's own status."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    amount = payment.amount - payment.amount_refunded
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount)
    refund = Refund(organization_id=payment.organization_id, payment=payment, invoice_id=_invoice_of(payment),
                    livemode=payment.livemode, amount=amount, currency=payment.currency, reason=reason,
                    source="system", requested_by="system")
    refund.idempotency_key = f"refund-{refund.pk}"
    refund.save(force_insert=True)
    transaction.on_commit(lambda: refund_send(refund_id=refund.pk))
    return refund


def _invoice_of(payment: Payment):
    if payment.invoice_id is not None:
        return payment.invoice_id
    return Invoice.objects.filter(checkout_session_id=payment.checkout_session_id).values_list("id", flat=True).first()


def refund_send(*, refund_id) -> Refund:
    """Ask the provider for a pending refund (again, after a lost answer: same key) and apply
    its answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    provider = _provider(refund.payment)
    if provider is None:
        return _apply(refund.pk, RefundResult("failed", failure_reason="The payment's provider is no longer configured."))
    try:
        result = provider.refund(reference=refund.payment.provider_reference, amount=refund.amount,
                                 currency=refund.currency, idempotency_key=refund.idempotency_key)
    except PaymentProviderUnavailable:
        logger.warning("refund %s: no answer from %s; sent again later", refund.pk, refund.payment.provider)
        return refund
    return _apply(refund.pk, result)


def _provider(payment: Payment):
    return provider_named(organization_id=payment.organization_id, livemode=payment.livemode, name=payment.provider)


@transaction.atomic
def _apply(refund_id, result: RefundResult) -> Refund:
    # The payment's row first, as every refund write path takes it (reservation, provider sync):
    # its payment.refunded event is numbered under that lock (checkout.fastsql.object_events_insert),
    # so two refunds of one payment completing at once never take the same sequence.
    payment_id = Refund.objects.filter(pk=refund_id).values_list("payment_id", flat=True).get()
    Payment.objects.select_for_update().filter(pk=payment_id).values_list("pk", flat=True).get()
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    refund.provider_reference = result.reference or refund.provider_reference
    if result.status == "succeeded":
        refund.status = RefundStatus.SUCCEEDED
        refund.save(update_fields=["status", "provider_reference", "updated_at"])
        _refunded(refund)
    elif result.status == "failed":
        refund.status = RefundStatus.FAILED
        refund.failure_reason = (result.failure_reason or "The provider refused the refund.")[:300]
        refund.save(update_fields=["status", "provider_reference", "failure_reason", "updated_at"])
        Payment.objects.filter(pk=refund.payment_id).update(amount_refunded=F("amount_refunded") - refund.amount)
    else:
        refund.save(update_fields=["provider_reference", "updated_at"])
    return refund


def _refunded(refund: Refund) -> None:
    """A refund went through: its credit note, and the event."""
    if refund.invoice_id is not None:
        CreditNote.objects.get_or_create(refund=refund, defaults={
            "organization_id": refund.organization_id, "invoice_id": refund.invoice_id, "amount": refund.amount,
            "currency": refund.currency, "reason": refund.reason})
    payment = Payment.objects.get(pk=refund.payment_id)
    billing_event_send(type=BillingEventType.PAYMENT_REFUNDED, organization_id=refund.organization_id,
                       livemode=refund.livemode, object=payment_json(payment), data={"refund": refund_json(refund)})


def refunds_reconcile_pending(*, limit: int = 200) -> int:
    """Send again the refunds whose answer never came, or that the provider is still completing."""
    ids = list(Refund.objects.filter(status=RefundStatus.PENDING).order_by("created_at")
               .values_list("id", flat=True)[:limit])
    for refund_id in ids:
        refund_send(refund_id=refund_id)
    return len(ids)


@transaction.atomic
def payment_refunds_sync(*, payment_id, refunds: list[tuple[str, Decimal, str]]) -> list[Refund]:
    """Record refunds the provider reports (made in its dashboard, or ours completing):
    ``(reference, amount, status)`` each. A refund already known by its reference only takes the
    reported status; an unknown one is recorded (``source=provider``), as far as the payment's
    amount allows."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    recorded = []
    for reference, amount, status in refunds:
        refund = Refund.objects.select_for_update().filter(payment=payment, provider_reference=reference).first()
        if refund is None:
            if status == RefundStatus.FAILED or payment.amount_refunded + amount > payment.amount:
                continue
            refund = Refund(organization_id=payment.organization_id, payment=payment, invoice_id=_invoice_of(payment),
                            livemode=payment.livemode, amount=amount, currency=payment.currency,
                            source="provider", provider_reference=reference, requested_by=payment.provider)
            refund.save(force_insert=True)
            payment.amount_refunded += amount
            Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount)
        recorded.append(refund)
        if refund.status == RefundStatus.PENDING and status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            _apply(refund.pk, RefundResult(status, reference))
    return recorded


@transaction.atomic
def payment_dispute_record(*, payment_id, reference: str, amount: Decimal, reason: str, status: str,
                           closed_at=None) -> Dispute:
    """Record (or update) a dispute the provider reports, and announce it (``payment.disputed``,
    its status in ``data``)."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)  # its events are numbered under it
    dispute, _created = Dispute.objects.update_or_create(
        payment=payment, provider_reference=reference,
        defaults={"organization_id": payment.organization_id, "livemode": payment.livemode, "amount": amount,
                  "currency": payment.currency, "reason": reason[:64], "status": status, "closed_at": closed_at})
    billing_event_send(type=BillingEventType.PAYMENT_DISPUTED, organization_id=payment.organization_id,
                       livemode=payment.livemode, object=payment_json(payment),
                       data={"dispute": {"id": str(dispute.pk), "provider_reference": reference,
                                         "amount": str(quantize(amount, payment.currency)), "reason": reason,
                                         "status": status}})
    return dispute
