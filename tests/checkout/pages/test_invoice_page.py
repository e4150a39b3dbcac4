"""The hosted invoice page: found by its token, the unpaid invoice and how to pay it now (the
saved card, another card saved as the new default, or completing the authentication the bank
asked for). Paying marks the invoice paid, the contract active again, and stops the retries."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from billing.collection import invoices_collect_due
from billing.enums import ContractStatus, InvoiceStatus
from billing.models import Invoice, Payment, SavedPaymentMethod
from billing.payment_methods import customer_default_payment_method
from billing.renewals import contracts_renew_due
from checkout.models import HostedInvoice
from checkout.services.invoice_emails import hosted_invoice_for
from tests.billing.renewal_helpers import EventLog, sell

pytestmark = pytest.mark.django_db
FIRST = datetime(2027, 2, 28, tzinfo=UTC)


@pytest.fixture
def events():
    log = EventLog()
    yield log
    log.close()


def _failed_renewal(customer, behaviour="charges_fail"):
    sold = sell(customer, behaviour=behaviour)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=FIRST, inline=True)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    return sold, invoice, HostedInvoice.objects.get(invoice=invoice)


def _url(page):
    return f"/pay/invoice/{page.token}"


def _card(number="4242 4242 4242 4242"):
    return {"pay": "card", "payment_method": "card", "card_number": number, "card_expiry": "12/34", "card_cvc": "123"}


def test_the_page_shows_the_unpaid_invoice_with_the_hosted_page_headers(customer, client):
    sold, invoice, page = _failed_renewal(customer)
    response = client.get(_url(page))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="amount-due">$49.00<' in body
    assert "We could not charge your card for this invoice." in body
    assert "We will try your card again on Mar 1, 2027." in body
    assert 'data-testid="saved-card">Card ending in 4242<' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert "Test cards:" in body
    assert response["Cache-Control"] == "no-store" and response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("token", ["inv_" + "x" * 43, "nope", "cs_" + "a" * 43])
def test_unknown_tokens_are_not_found(client, token):
    assert client.get(f"/pay/invoice/{token}").status_code == 404


def test_paying_with_another_card_pays_stops_retries_and_makes_it_the_default(customer, client, events):
    sold, invoice, page = _failed_renewal(customer)
    assert invoice.next_payment_attempt == FIRST + timedelta(days=1)
    before = len(events)
    response = client.post(_url(page), _card())
    assert response.status_code == 302 and response["Location"] == _url(page)

    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.PAID, None)
    assert sold.contract.status == ContractStatus.ACTIVE
    succeeded = Payment.objects.get(invoice=invoice, status="succeeded")
    assert (succeeded.amount, succeeded.off_session, succeeded.card_last4) == (invoice.amount_due, False, "4242")
    new = SavedPaymentMethod.objects.get(pk=succeeded.saved_payment_method_id)
    assert new.pk != sold.method.pk and new.provider_reference.startswith("pm_test_succeeds_")
    assert "authorise" in new.mandate_text and new.mandate_ip_address == "127.0.0.1"
    assert customer_default_payment_method(customer_id=customer.pk, livemode=False).pk == new.pk
    assert sold.contract.default_payment_method_id == new.pk
    assert events.types()[before:] == ["payment_method.attached", "invoice.paid", "contract.active"]

    # No more retries: the sweep at the retry time finds nothing.
    assert invoices_collect_due(now=FIRST + timedelta(days=1), inline=True) == 0
    assert Payment.objects.filter(invoice=invoice, status="succeeded").count() == 1

    body = client.get(_url(page)).content.decode()
    assert "this invoice is paid" in body and 'data-testid="amount-paid">$49.00<' in body
    # A second submit (another tab) charges nothing.
    assert client.post(_url(page), _card()).status_code == 302
    assert Payment.objects.filter(invoice=invoice).count() == 2


def test_a_declined_card_on_the_page_leaves_dunning_as_it_was(customer, client):
    sold, invoice, page = _failed_renewal(customer)
    response = client.post(_url(page), {"pay": "saved"})
    assert response.status_code == 402
    assert "Your card was declined." in response.content.decode()
    response = client.post(_url(page), _card("4000 0000 0000 0002"))  # refused when saved
    assert response.status_code == 402
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt, invoice.attempt_count) == (
        InvoiceStatus.OPEN, FIRST + timedelta(days=1), 1)
    assert customer_default_payment_method(customer_id=customer.pk, livemode=False).pk == sold.method.pk
    assert Payment.objects.filter(invoice=invoice, off_session=False).values_list("status", flat=True).get() == "failed"


def test_card_field_errors_are_shown_on_the_fields(customer, client):
    _sold, _invoice, page = _failed_renewal(customer)
    response = client.post(_url(page), {"pay": "card", "payment_method": "card", "card_number": "4242",
                                        "card_expiry": "", "card_cvc": ""})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Enter a valid card number." in body and "Enter the card&#x27;s expiry date." in body
    assert 'class="error-summary"' in body


def test_authentication_required_is_authenticated_on_the_page_and_paid(customer, client, events):
    sold, invoice, page = _failed_renewal(customer, behaviour="authentication_required")
    assert invoice.next_payment_attempt is None  # no blind retry
    body = client.get(_url(page)).content.decode()
    assert "Confirm your payment" in body and "Authenticate and pay $49.00" in body
    response = client.post(_url(page), {"pay": "saved"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and sold.contract.status == ContractStatus.ACTIVE
    assert list(Payment.objects.filter(invoice=invoice).order_by("created_at")
                .values_list("off_session", "status", "failure_code")) == [
        (True, "failed", "authentication_required"), (False, "succeeded", "")]
    assert "invoice.paid" in events.types() and "contract.active" in events.types()


def test_an_unpaid_contract_paid_on_the_page_is_active_again(customer, client):
    from billing.dunning import billing_settings_save

    billing_settings_save(organization_id=customer.organization_id, retry_schedule_days=[1], final_action="unpaid")
    sold, invoice, page = _failed_renewal(customer)
    invoices_collect_due(now=FIRST + timedelta(days=1), inline=True)
    sold.contract.refresh_from_db()
    assert sold.contract.status == ContractStatus.UNPAID
    assert client.post(_url(page), _card()).status_code == 302
    sold.contract.refresh_from_db()
    assert sold.contract.status == ContractStatus.ACTIVE


def test_a_cancelled_contracts_invoice_is_closed(customer, client):
    sold, invoice, page = _failed_renewal(customer)
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.UNCOLLECTIBLE)
    body = client.get(_url(page)).content.decode()
    assert "can no longer be paid here" in body
    assert client.post(_url(page), _card()).status_code == 302
    assert not Payment.objects.filter(invoice=invoice, off_session=False).exists()


def test_posting_needs_the_csrf_token(customer):
    _sold, invoice, page = _failed_renewal(customer)
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post(_url(page), _card()).status_code == 403
    body = csrf_client.get(_url(page)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    assert csrf_client.post(_url(page), {**_card(), "csrfmiddlewaretoken": token}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


@pytest.mark.parametrize(("language", "heading"), [
    ("de", "Ihre Rechnung von"), ("fr", "Votre facture de"), ("es", "Tu factura de"), ("ja", "からの請求書が未払いです")])
def test_the_page_speaks_the_browsers_language(customer, client, language, heading):
    _sold, _invoice, page = _failed_renewal(customer)
    response = client.get(_url(page), HTTP_ACCEPT_LANGUAGE=language)
    assert response["Content-Language"] == language
    assert heading in response.content.decode()


def test_the_page_link_is_made_once_per_invoice(customer):
    _sold, invoice, page = _failed_renewal(customer)
    assert hosted_invoice_for(invoice).token == page.token
    assert re.fullmatch(r"inv_[A-Za-z0-9_-]{43}", page.token)
