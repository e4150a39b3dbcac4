"""Paying an open invoice with the customer present (the hosted invoice page's service): never
twice, whatever runs at once, and never racing a dunning retry."""

from datetime import UTC, date, datetime, timedelta

import pytest

from billing.collection import invoices_collect_due
from billing.errors import InvoiceNotPayable, InvoicePaymentInProgress
from billing.gateway import TEST_PROVIDER, CardDetails
from billing.invoice_payments import invoice_payment_method_save, invoice_payment_send, invoice_payment_start
from billing.models import Invoice, Payment
from billing.renewals import contracts_renew_due
from tests.helpers import run_together

from .renewal_helpers import sell

FIRST = datetime(2027, 2, 28, tzinfo=UTC)
CARD = CardDetails(number="4242424242424242", exp_month=12, exp_year=2034, cvc="123")


def _failed_invoice(customer):
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=FIRST, inline=True)
    return Invoice.objects.get(contract=sold.contract, billing_reason="renewal")


def _pay(invoice_id, method_id):
    payment = invoice_payment_start(invoice_id=invoice_id, method_id=method_id)
    return invoice_payment_send(payment_id=payment.pk, provider=TEST_PROVIDER).status


@pytest.mark.django_db(transaction=True)
def test_two_pay_now_clicks_at_once_charge_the_invoice_once(customer):
    invoice = _failed_invoice(customer)
    method = invoice_payment_method_save(invoice=invoice, provider=TEST_PROVIDER, card=CARD, mandate_text="ok")

    results, errors = run_together(*[lambda: _pay(invoice.pk, method.pk)] * 4)

    assert results == ["succeeded"]
    assert len(errors) == 3 and all(isinstance(e, (InvoicePaymentInProgress, InvoiceNotPayable)) for e in errors)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert Payment.objects.filter(invoice=invoice, status="succeeded").count() == 1


@pytest.mark.django_db
def test_a_retry_due_while_the_customer_pays_on_the_page_waits(customer):
    invoice = _failed_invoice(customer)
    method = invoice_payment_method_save(invoice=invoice, provider=TEST_PROVIDER, card=CARD, mandate_text="ok")
    pending = invoice_payment_start(invoice_id=invoice.pk, method_id=method.pk)  # sent a moment later

    assert invoices_collect_due(now=FIRST + timedelta(days=1), inline=True) == 0
    assert Payment.objects.filter(invoice=invoice).count() == 2  # the first failure and the page's

    assert invoice_payment_send(payment_id=pending.pk, provider=TEST_PROVIDER).status == "succeeded"
    assert invoices_collect_due(now=FIRST + timedelta(days=1), inline=True) == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == ("paid", None)
