"""The EU VAT rule end to end (issue #27): a session created through the API is priced with the
buyer's rule, the first invoice and the renewal invoices follow it, the customer sees invoice
numbers, the PDF (WeasyPrint, text read back with pypdf) says number, totals and the
reverse-charge note, and pay-by-invoice gives the due date and the bank details."""

import datetime
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from pypdf import PdfReader

from billing.enums import InvoiceBillingReason, PaymentMethod, PricingModel
from billing.models import Contract, Invoice, Payment
from billing.renewals import contracts_renew_due
from checkout.documents import invoice_document, invoice_document_get, invoice_html, invoice_pdf
from checkout.errors import TaxChanged
from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm
from checkout.services.invoice_emails import hosted_invoice_for
from checkout.services.receipts import checkout_session_receipt_send
from tests.checkout.pages.helpers import card, plan_with
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

pytestmark = pytest.mark.django_db

PARIS = {"line1": "8 rue de la Paix", "city": "Paris", "zip_code": "75002", "country": "FR"}
BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "zip_code": "10117", "country": "DE"}
LYON = {"line1": "1 place Bellecour", "city": "Lyon", "zip_code": "69002", "country": "FR"}
BANK = "Acme SAS\nIBAN FR76 3000 6000 0112 3456 7890 189\nBIC AGRIFRPP"


@pytest.fixture(autouse=True)
def _on_the_start_date():
    with time_machine.travel(datetime.datetime(2026, 1, 15, 10, tzinfo=datetime.UTC), tick=False):
        yield


def _merchant():
    organization = OrganizationFactory()
    entity = BusinessEntityFactory(organization=organization, name="Acme SAS", address=PARIS, tax_id="FR40303265045",
                                   tax_rate=Decimal("8.25"), invoice_prefix="ACME-", payment_terms_days=14,
                                   bank_details=BANK, default_currency="EUR", allow_invoice_payment=True)
    plan, _priced = plan_with(organization, "EUR", ({"pricing_model": PricingModel.FLAT_FEE,
                                                     "unit_amount": Decimal("100.00"), "product__name": "Pro"}, 1))
    return organization, entity, plan


def _session(organization, plan, customer=None, guest_details=None, entity=None) -> CheckoutSession:
    body = {"plan_id": str(plan.pk), "start_date": "2026-01-15", "success_url": "https://merchant.example/ok"}
    if customer is not None:
        body["customer_id"] = str(customer.pk)
    else:
        body.update(guest_checkout=True, customer=guest_details, business_entity_id=str(entity.pk))
    response = api_client_for(organization).post("/api/v1/checkout-sessions", data=json.dumps(body),
                                                 content_type="application/json")
    assert response.status_code == 201, response.content
    return CheckoutSession.objects.get(pk=response.json()["id"])


def _pdf_text(invoice) -> str:
    reader = PdfReader(io.BytesIO(invoice_pdf(invoice_document(invoice_document_get(invoice_id=invoice.pk)))))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(("address", "tax_info", "rate", "tax", "total", "reason"), [
    (BERLIN, [{"type": "eu_vat", "value": "DE136695976"}], "0", "0.00", "100.00", "reverse_charge"),
    (BERLIN, [{"type": "eu_vat", "value": "DE136695977"}], "19", "19.00", "119.00", "destination"),  # bad check digit
    (BERLIN, [], "19", "19.00", "119.00", "destination"),
    (LYON, [{"type": "eu_vat", "value": "FR40303265045"}], "20", "20.00", "120.00", "domestic"),
    ({"line1": "1 Main St", "city": "Austin", "country": "US"}, [], "0", "0.00", "100.00", "outside_eu"),
])
def test_session_estimate_follows_the_vat_rule_for_a_known_customer(address, tax_info, rate, tax, total, reason):
    organization, entity, plan = _merchant()
    customer = CustomerFactory(organization=organization, business_entity=entity, address=address, tax_info=tax_info)

    current = _session(organization, plan, customer).estimates["current_invoice"]

    assert (current["tax_rate"], current["tax"], current["total"], current["tax_reason"]) == (rate, tax, total, reason)


def test_guest_sent_by_the_merchant_with_a_vat_number_is_priced_with_reverse_charge():
    organization, entity, plan = _merchant()
    details = {"customer_name": "Beta GmbH", "email": "ap@beta.example", "address": BERLIN,
               "tax_info": [{"type": "eu_vat", "value": "DE136695976"}]}
    current = _session(organization, plan, guest_details=details, entity=entity).estimates["current_invoice"]
    assert (current["tax"], current["total"], current["tax_reason"]) == ("0.00", "100.00", "reverse_charge")


def test_non_eu_seller_keeps_its_flat_rate_for_an_eu_business():
    organization = OrganizationFactory()
    entity = BusinessEntityFactory(organization=organization, tax_rate=Decimal("8.25"))  # San Francisco
    plan, _priced = plan_with(organization, "USD", ({"pricing_model": PricingModel.FLAT_FEE,
                                                     "unit_amount": Decimal("100.00")}, 1))
    customer = CustomerFactory(organization=organization, business_entity=entity, address=BERLIN,
                               tax_info=[{"type": "eu_vat", "value": "DE136695976"}])
    current = _session(organization, plan, customer).estimates["current_invoice"]
    assert (current["tax_rate"], current["tax"], current["total"], current["tax_reason"]) == (
        "8.25", "8.25", "108.25", "")


def test_reverse_charge_first_and_renewal_invoices_have_numbers_note_and_pdf():
    organization, entity, plan = _merchant()
    customer = CustomerFactory(organization=organization, business_entity=entity, customer_name="Beta GmbH",
                               address=BERLIN, tax_info=[{"type": "eu_vat", "value": "DE136695976"}])
    session = _session(organization, plan, customer)

    result = checkout_session_confirm(session_id=session.pk, card=card())

    first = Invoice.objects.get(pk=result.invoice.pk)
    assert (first.number, first.business_entity_id, first.tax_reason) == ("ACME-000001", entity.pk, "reverse_charge")
    assert (first.subtotal, first.tax, first.total) == (Decimal("100.00"), Decimal("0"), Decimal("100.00"))
    contract = Contract.objects.get(pk=result.contract.pk)
    assert (contract.tax_rate, contract.tax_reason) == (Decimal("0"), "reverse_charge")

    contracts_renew_due(today=datetime.date(2026, 3, 15))
    renewals = list(Invoice.objects.filter(billing_reason=InvoiceBillingReason.RENEWAL).order_by("invoice_date"))
    assert [(r.number, r.total, r.tax_reason) for r in renewals] == [
        ("ACME-000002", Decimal("100.00"), "reverse_charge"), ("ACME-000003", Decimal("100.00"), "reverse_charge")]

    text = _pdf_text(renewals[0])
    for expected in ("ACME-000002", "Acme SAS", "FR40303265045", "Beta GmbH", "DE136695976", "Berlin",
                     "€100.00", "VAT 0% (reverse charge)", "Reverse charge: VAT to be accounted for by the recipient",
                     "Article 196"):
        assert expected in text, (expected, text)
    assert "Paid" not in text  # a renewal not charged yet is open
    assert "Pay this invoice online" not in text  # no hosted invoice page yet

    page = hosted_invoice_for(renewals[0])  # made by the dunning e-mails (checkout.services.invoice_emails)
    document = invoice_document(invoice_document_get(invoice_id=renewals[0].pk))
    assert document.hosted_invoice_url == f"{settings.PUBLIC_BASE_URL}/pay/invoice/{page.token}"
    assert f'href="{document.hosted_invoice_url}"' in invoice_html(document)


def test_receipt_email_attaches_the_pdf_and_its_html_is_the_document():
    organization, entity, plan = _merchant()
    customer = CustomerFactory(organization=organization, business_entity=entity, customer_name="Beta GmbH",
                               email="ap@beta.example", address=BERLIN,
                               tax_info=[{"type": "eu_vat", "value": "DE136695976"}])
    session = _session(organization, plan, customer)
    checkout_session_confirm(session_id=session.pk, card=card())
    mail.outbox.clear()

    assert checkout_session_receipt_send(session_id=session.pk)

    message = mail.outbox[0]
    assert "Invoice ACME-000001" in message.body
    assert str(Invoice.objects.get().pk) not in message.body  # numbers, not UUIDs
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "ACME-000001" in html and "Article 196" in html
    (filename, pdf, pdf_type), = message.attachments
    assert (filename, pdf_type) == ("Receipt-ACME-000001.pdf", "application/pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Receipt ACME-000001" in text and "€100.00" in text and "Reverse charge" in text and "Paid on" in text


def test_pay_by_invoice_gives_due_date_bank_details_and_the_pdf_link(client):
    organization, entity, plan = _merchant()
    customer = CustomerFactory(organization=organization, business_entity=entity, customer_name="Claire Martin",
                               email="claire@example.fr", address=LYON, tax_info=[])
    session = _session(organization, plan, customer)

    result = checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.INVOICE)

    invoice = Invoice.objects.get(pk=result.invoice.pk)
    assert invoice.due_date == invoice.invoice_date + datetime.timedelta(days=14) == datetime.date(2026, 1, 29)
    assert (invoice.number, invoice.total, invoice.tax) == ("ACME-000001", Decimal("120.00"), Decimal("20.00"))
    page = client.get(f"/pay/{session.token}")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="invoice-number">ACME-000001<' in html
    assert "Please pay €120.00 by Jan 29, 2026." in html
    assert "IBAN FR76 3000 6000 0112 3456 7890 189" in html
    assert str(invoice.pk) not in html

    pdf = client.get(f"/pay/{session.token}/invoice.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert 'filename="Invoice-ACME-000001.pdf"' in pdf["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("Invoice ACME-000001", "VAT (20%)", "€20.00", "€120.00", "Open: due on", "Jan 29, 2026",
                     "IBAN FR76", "Claire Martin", "Lyon"):
        assert expected in text, (expected, text)

    mail.outbox.clear()
    assert checkout_session_receipt_send(session_id=session.pk)
    body = mail.outbox[0].body
    assert "Please pay €120.00 by Jan 29, 2026." in body and "IBAN FR76" in body


def test_invoice_pdf_needs_the_token_of_a_completed_session(client):
    organization, entity, plan = _merchant()
    customer = CustomerFactory(organization=organization, business_entity=entity, address=LYON)
    session = _session(organization, plan, customer)
    assert client.get(f"/pay/{session.token}/invoice.pdf").status_code == 404  # still open: no invoice
    checkout_session_confirm(session_id=session.pk, card=card())
    assert client.get(f"/pay/{session.token}x/invoice.pdf").status_code == 404
    assert client.get(f"/pay/{session.token}/invoice.pdf").status_code == 200


GUEST = {"customer_name": "Beta GmbH", "email": "ap@beta.example"}
TYPED_BUSINESS = {"customer_name": "Beta GmbH", "email": "ap@beta.example", "address": BERLIN,
                  "tax_info": [{"type": "eu_vat", "value": "DE 136 695 976"}]}


def test_guest_whose_typed_vat_number_changes_the_tax_is_refused_then_pays_the_new_total():
    organization, entity, plan = _merchant()
    session = _session(organization, plan, guest_details=GUEST, entity=entity)
    assert session.estimates["current_invoice"]["total"] == "120.00"  # country unknown: priced at home (FR 20 %)

    with pytest.raises(TaxChanged) as refused:
        checkout_session_confirm(session_id=session.pk, card=card(), customer_details=TYPED_BUSINESS)

    assert refused.value.status == 409 and refused.value.code == "tax_changed"
    assert not Payment.objects.exists() and not Contract.objects.exists() and not Invoice.objects.exists()
    session.refresh_from_db()
    current = session.estimates["current_invoice"]
    assert (current["total"], current["tax_reason"]) == ("100.00", "reverse_charge")
    assert session.amount_total == Decimal("100.00")
    assert session.customer_details["address"]["country"] == "DE"  # what they typed is kept

    result = checkout_session_confirm(session_id=session.pk, card=card(), customer_details=TYPED_BUSINESS)

    assert result.outcome == "completed"
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.tax, invoice.tax_reason) == (
        "ACME-000001", Decimal("100.00"), Decimal("0"), "reverse_charge")
    assert Payment.objects.get().amount == Decimal("100.00")


def test_guest_at_the_sellers_home_pays_what_the_page_showed_at_once():
    organization, entity, plan = _merchant()
    session = _session(organization, plan, guest_details=GUEST, entity=entity)
    typed = {**GUEST, "address": LYON, "tax_info": []}

    result = checkout_session_confirm(session_id=session.pk, card=card(), customer_details=typed)

    assert result.outcome == "completed"
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.tax, invoice.tax_reason) == (Decimal("120.00"), Decimal("20.00"), "domestic")


def test_hosted_page_shows_the_new_total_when_the_typed_vat_number_changes_the_tax(client):
    organization, entity, plan = _merchant()
    session = _session(organization, plan, guest_details=GUEST, entity=entity)
    form = {"customer_name": "Beta GmbH", "email": "ap@beta.example", "line1": BERLIN["line1"],
            "city": "Berlin", "zip_code": "10117", "country": "DE", "tax_id_type": "eu_vat",
            "tax_id": "DE136695976", "payment_method": "card", "card_number": "4242 4242 4242 4242",
            "card_expiry": "12/34", "card_cvc": "123"}

    page = client.post(f"/pay/{session.token}", form)

    assert page.status_code == 409
    html = page.content.decode()
    assert "The tax for your billing details changes the total" in html
    assert "VAT 0% (reverse charge)" in html and 'data-testid="tax-note"' in html
    assert 'value="DE136695976"' in html  # nothing typed is lost
    assert not Payment.objects.exists()

    again = client.post(f"/pay/{session.token}", form)
    assert again.status_code == 302
    assert Invoice.objects.get().total == Decimal("100.00")
