"""The customer-facing documents in the customer's language (issue #27): the hosted invoice page
and the invoice itself (its HTML, the PDF made of it) say the reverse-charge mention in German, as
the invoice note requires (Art. 196 MwStSystRL), not the English of ``billing.tax``. The
catalogues' completeness (``scripts/i18n.sh check``) is tests/checkout/test_catalogues.py."""

import datetime
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import translation
from pypdf import PdfReader

from billing.enums import InvoiceBillingReason, PricingModel
from billing.errors import AmountNotSupportedByProvider, CouponNotApplicable, PromotionCodeUsedUp
from billing.gateway import stripe_amount_check
from billing.models import Invoice
from billing.renewals import contracts_renew_due
from billing.tax import OUTSIDE_EU_NOTE, REVERSE_CHARGE_NOTE
from checkout.documents import invoice_document, invoice_document_get, invoice_html, invoice_pdf
from checkout.models import CheckoutSession
from checkout.pages import page_error
from checkout.services.confirm import checkout_session_confirm
from checkout.services.invoice_emails import hosted_invoice_for
from checkout.services.receipts import checkout_session_receipt_send
from tests.checkout.api.conftest import TODAY, URL, build_merchant, plan_body
from tests.checkout.pages.helpers import card, plan_with
from tests.checkout.plan_choices import yearly_plan
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

PARIS = {"line1": "8 rue de la Paix", "city": "Paris", "zip_code": "75002", "country": "FR"}
BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "zip_code": "10117", "country": "DE"}
GERMAN_NOTE = "Steuerschuldnerschaft des Leistungsempfängers"


def _sell_reverse_charge(**session_fields) -> CheckoutSession:
    """A French seller's checkout for a German business with a VAT number (reverse charge),
    confirmed by card on 15 January 2026."""
    with time_machine.travel(datetime.datetime(2026, 1, 15, 10, tzinfo=datetime.UTC), tick=False):
        organization = OrganizationFactory()
        entity = BusinessEntityFactory(organization=organization, name="Acme SAS", address=PARIS,
                                       tax_id="FR40303265045", invoice_prefix="ACME-", default_currency="EUR")
        plan, _priced = plan_with(organization, "EUR", ({"pricing_model": PricingModel.FLAT_FEE,
                                                         "unit_amount": Decimal("100.00"), "product__name": "Pro"}, 1))
        customer = CustomerFactory(organization=organization, business_entity=entity, customer_name="Beta GmbH",
                                   address=BERLIN, tax_info=[{"type": "eu_vat", "value": "DE136695976"}])
        body = {"plan_id": str(plan.pk), "customer_id": str(customer.pk), "start_date": "2026-01-15",
                "success_url": "https://merchant.example/ok", **session_fields}
        response = api_client_for(organization).post("/api/v1/checkout-sessions", data=json.dumps(body),
                                                     content_type="application/json")
        assert response.status_code == 201, response.content
        session = CheckoutSession.objects.get(pk=response.json()["id"])
        checkout_session_confirm(session_id=session.pk, card=card())
        return session


@pytest.fixture
def reverse_charge_renewal():
    """The open renewal invoice of ``_sell_reverse_charge``, with its hosted invoice page."""
    _sell_reverse_charge()
    with time_machine.travel(datetime.datetime(2026, 2, 15, 10, tzinfo=datetime.UTC), tick=False):
        contracts_renew_due(today=datetime.date(2026, 2, 15))
        invoice = Invoice.objects.get(billing_reason=InvoiceBillingReason.RENEWAL)
        assert invoice.tax_reason == "reverse_charge"
        return invoice, hosted_invoice_for(invoice)


@pytest.mark.django_db
def test_hosted_invoice_page_in_german_shows_the_translated_reverse_charge_note(client, reverse_charge_renewal):
    _invoice, page = reverse_charge_renewal

    response = client.get(f"/pay/invoice/{page.token}", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert GERMAN_NOTE in html and "Art. 196 MwStSystRL" in html
    assert "USt. 0 % (Steuerschuldnerschaft des Leistungsempfängers)" in html
    assert "Reverse charge" not in html and "reverse charge" not in html


@pytest.mark.django_db
def test_hosted_invoice_page_in_english_keeps_the_english_note(client, reverse_charge_renewal):
    _invoice, page = reverse_charge_renewal

    html = client.get(f"/pay/invoice/{page.token}", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert REVERSE_CHARGE_NOTE in html and "VAT 0% (reverse charge)" in html
    assert GERMAN_NOTE not in html


@pytest.mark.django_db
def test_invoice_document_and_pdf_in_german_are_translated(reverse_charge_renewal):
    invoice, _page = reverse_charge_renewal

    with translation.override("de"):
        document = invoice_document(invoice_document_get(invoice_id=invoice.pk))
        html = invoice_html(document)
        pdf = invoice_pdf(document)

    assert document.title == "Rechnung" and document.filename == "Rechnung-ACME-000002.pdf"
    assert document.tax_note.startswith(GERMAN_NOTE) and "Art. 196 MwStSystRL" in document.tax_note
    for expected in ("Rechnung ACME-000002", "Ausstellungsdatum", "Rechnungsempfänger", "USt-IdNr.: DE136695976",
                     "Zwischensumme", "Fälliger Betrag", "Offen", GERMAN_NOTE):
        assert expected in html, expected
    assert "Reverse charge" not in html and "Date of issue" not in html
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    for expected in ("Rechnung ACME-000002", "Ausstellungsdatum", "Steuerschuldnerschaft", "MwStSystRL"):
        assert expected in text, (expected, text)


@pytest.mark.django_db
def test_receipt_email_in_german_says_the_reverse_charge_in_german():
    session = _sell_reverse_charge(locale="de")
    mail.outbox.clear()

    assert checkout_session_receipt_send(session_id=session.pk)

    message = mail.outbox[0]
    assert message.subject == "Ihre Quittung von Acme SAS"
    assert "USt. 0 % (Steuerschuldnerschaft des Leistungsempfängers): 0,00\xa0€" in message.body
    assert GERMAN_NOTE in message.body and "Art. 196 MwStSystRL" in message.body
    assert "Reverse charge" not in message.body and "Tax:" not in message.body
    html, _mimetype = message.alternatives[0]
    assert GERMAN_NOTE in html and "Zahlungsbeleg ACME-000001" in html
    (filename, _pdf, _type), = message.attachments
    assert filename == "Zahlungsbeleg-ACME-000001.pdf"


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_the_tax_notes_are_translated_in_every_language(language):
    with translation.override(language):
        assert translation.gettext(REVERSE_CHARGE_NOTE) != REVERSE_CHARGE_NOTE
        assert translation.gettext(OUTSIDE_EU_NOTE) != OUTSIDE_EU_NOTE



@pytest.mark.parametrize(("error", "german", "english"), [
    (CouponNotApplicable("This code is for purchases in EUR."), "Dieser Rabatt gilt nicht für diesen Kauf.",
     "This code is for purchases in EUR."),
    (AmountNotSupportedByProvider(stripe_amount_check(Decimal("13.363"), "KWD")),
     "Der Kartenzahlungsdienst kann diesen Betrag in dieser Währung nicht abbuchen.",
     "Card payments in KWD are taken in steps of 0.010 KWD; 13.363 KWD cannot be charged by card."),
    (PromotionCodeUsedUp("This code has just been used for the last time. Remove it to continue at the full price."),
     "Dieser Code wurde soeben zum letzten Mal eingelöst. Entfernen Sie ihn, um zum vollen Preis fortzufahren.",
     "This code has just been used for the last time. Remove it to continue at the full price."),
])
def test_page_error_with_a_detail_falls_back_to_the_errors_translated_wording(error, german, english):
    with translation.override("de"):
        assert page_error(error) == german
    with translation.override("en"):
        assert page_error(error) == english


@pytest.mark.django_db
def test_invoice_document_has_no_english_left_in_any_language(reverse_charge_renewal):
    invoice, _page = reverse_charge_renewal
    english = ("Date of issue", "Bill to", "VAT number", "Description", "Unit price", "Amount due",  # "Subtotal" is Spanish too
               "Reverse charge", "VAT 0% (reverse charge)", "Invoice ACME")
    for language in [code for code, _name in settings.LANGUAGES if code != "en"]:
        with translation.override(language):
            html = invoice_html(invoice_document(invoice_document_get(invoice_id=invoice.pk)))
        assert f'<html lang="{language}">' in html
        assert [text for text in english if text in html] == [], language


@pytest.mark.django_db
def test_thank_you_page_in_german_shows_the_translated_reverse_charge_note_and_pdf_link(client):
    session = _sell_reverse_charge(locale="de")

    html = client.get(f"/pay/{session.token}").content.decode()

    assert GERMAN_NOTE in html and "Art. 196 MwStSystRL" in html
    assert "Zahlungsbeleg herunterladen (PDF)" in html
    assert "Reverse charge" not in html


@pytest.mark.django_db
def test_plan_switch_in_german(client):
    with time_machine.travel(TODAY, tick=True):
        merchant = build_merchant("Acme")
        yearly = yearly_plan(merchant)
        response = merchant.client.post(URL, content_type="application/json", data=json.dumps(
            plan_body(merchant, plan_choices=[str(merchant.plan.id), str(yearly.id)], locale="de")))
        assert response.status_code == 201, response.content
        session = CheckoutSession.objects.get(pk=response.json()["id"])

        html = client.get(f"/pay/{session.token}").content.decode()

    for expected in ("<legend>Abrechnungszeitraum</legend>", "Monatliche Abrechnung", "Jährliche Abrechnung",
                     "pro Monat", "pro Jahr", "Sie sparen", "Preis aktualisieren", "Preise vor Steuern und Rabatten."):
        assert expected in html, expected
    assert "Billed monthly" not in html and "Billing interval" not in html
