"""Refunds never exceed what was paid, even raced; each has a credit note and an event; refunds and
disputes made in the provider's dashboard are recorded once."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from billing.collection import invoices_collect_due
from billing.errors import PaymentNotFound, PaymentNotRefundable, RefundAmountInvalid, RefundExceedsPayment
from billing.models import CreditNote, Payment, Refund
from billing.refunds import payment_dispute_record, payment_refund, payment_refunds_sync
from billing.renewals import contracts_renew_due

from .renewal_helpers import EventLog, sell

pytestmark = pytest.mark.django_db


def _paid_renewal(customer) -> Payment:
    sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    return Payment.objects.get(invoice__billing_reason="renewal", status="succeeded")


def test_a_partial_then_the_rest_refunds_exactly_what_was_paid(customer):
    payment = _paid_renewal(customer)
    events = EventLog()
    try:
        first = payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk,
                               amount=Decimal("10.50"))
        rest = payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk)
    finally:
        events.close()
    assert (first.status, first.amount, rest.status, rest.amount) == (
        "succeeded", Decimal("10.50"), "succeeded", Decimal("38.5000"))
    payment.refresh_from_db()
    assert payment.amount_refunded == payment.amount == Decimal("49.0000")
    assert list(CreditNote.objects.filter(invoice=payment.invoice).order_by("created_at")
                .values_list("amount", flat=True)) == [Decimal("10.5000"), Decimal("38.5000")]
    assert events.types() == ["payment.refunded", "payment.refunded"]
    assert events[-1]["object"]["amount_refunded"] == "49.00"
    assert events[-1]["data"]["refund"]["amount"] == "38.50"
    with pytest.raises(RefundExceedsPayment):
        payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk,
                       amount=Decimal("0.01"))


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("1.005"), Decimal("NaN")])
def test_amounts_that_are_not_money_are_refused(customer, amount):
    payment = _paid_renewal(customer)
    with pytest.raises(RefundAmountInvalid):
        payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk, amount=amount)
    assert not Refund.objects.exists()


def test_another_organizations_or_modes_payment_is_not_found(customer, other_organization):
    payment = _paid_renewal(customer)
    for organization_id, livemode in ((other_organization.pk, False), (customer.organization_id, True)):
        with pytest.raises(PaymentNotFound):
            payment_refund(organization_id=organization_id, livemode=livemode, payment_id=payment.pk)


def test_a_failed_payment_cannot_be_refunded(customer):
    sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    payment = Payment.objects.get(invoice__billing_reason="renewal")
    with pytest.raises(PaymentNotRefundable):
        payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_payment(customer):
    payment = _paid_renewal(customer)
    barrier = threading.Barrier(6)
    outcomes = []

    def refund():
        try:
            barrier.wait()
            payment_refund(organization_id=customer.organization_id, livemode=False, payment_id=payment.pk,
                           amount=Decimal("10.00"))
            outcomes.append("ok")
        except RefundExceedsPayment:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 4 + ["refused"] * 2
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("40.0000")
    assert sum(Refund.objects.filter(status="succeeded").values_list("amount", flat=True)) == Decimal("40.0000")


def test_refunds_made_at_the_provider_are_recorded_once(customer):
    payment = _paid_renewal(customer)
    reported = [("re_1", Decimal("5.00"), "succeeded"), ("re_2", Decimal("100.00"), "succeeded")]
    payment_refunds_sync(payment_id=payment.pk, refunds=reported)
    payment_refunds_sync(payment_id=payment.pk, refunds=reported)
    refunds = Refund.objects.filter(payment=payment)
    # re_2 would exceed the payment: not recorded
    assert [(r.provider_reference, r.amount, r.status, r.source) for r in refunds] == [
        ("re_1", Decimal("5.0000"), "succeeded", "provider")]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("5.0000")


def test_disputes_are_recorded_and_announced(customer):
    payment = _paid_renewal(customer)
    events = EventLog()
    try:
        payment_dispute_record(payment_id=payment.pk, reference="dp_1", amount=Decimal("49.00"), reason="fraudulent",
                               status="needs_response")
        payment_dispute_record(payment_id=payment.pk, reference="dp_1", amount=Decimal("49.00"), reason="fraudulent",
                               status="lost")
    finally:
        events.close()
    assert list(payment.disputes.values_list("status", flat=True)) == ["lost"]
    assert [e["data"]["dispute"]["status"] for e in events] == ["needs_response", "lost"]
