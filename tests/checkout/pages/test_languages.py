"""The hosted page in the customer's language: chosen by the session's locale, or with "auto"
by the browser's Accept-Language; amounts, dates and country names follow it (babel)."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from billing.enums import PricingModel
from checkout.enums import SessionStatus
from checkout.i18n import browser_language, page_language
from checkout.pages import open_page_cache
from checkout.services.confirm import checkout_session_confirm
from checkout.services.receipts import checkout_session_receipt_send

from .helpers import card, priced_session, text

pytestmark = pytest.mark.django_db

# One monthly flat fee of 1,234.56: the same amount due today in every language.
STUDIO = ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("1234.56"), "product__name": "Studio"}, 1)


def page(session):
    return f"/pay/{session.token}"


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


@pytest.fixture(autouse=True)
def _empty_page_cache():
    open_page_cache.clear()
    yield
    open_page_cache.clear()


@pytest.mark.parametrize(("header", "expected"), [
    ("de-DE,de;q=0.9,en;q=0.8", "de"),
    ("fr-CH, fr;q=0.9", "fr"),
    ("pt-BR,pt;q=0.9,es;q=0.5", "es"),   # the first language we have, by preference
    ("zh-CN,ja;q=0.2", "ja"),
    ("en-GB", "en"),
    ("nl-NL,*;q=0.5", "en"),            # none of ours: English
    ("", "en"),
    ("de;q=garbage", "en"),             # an unreadable header is no header
])
def test_browser_language_best_supported_match_else_english(header, expected):
    assert browser_language(header) == expected


def test_page_language_session_locale_wins_over_browser_auto_follows_it():
    assert page_language("ja", "de-DE") == "ja"
    assert page_language("auto", "de-DE") == "de"
    assert page_language("en", "de-DE") == "en"


def test_open_page_auto_locale_follows_accept_language_german(client):
    session = priced_session(specs=(STUDIO,), currency="EUR")
    response = client.get(page(session), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert response.status_code == 200
    assert lang_of(response) == "de"
    assert response["Content-Language"] == "de"
    body = text(response)
    assert "Heute fällig" in body and "Ihre Bestellung" in body
    assert "1.234,56 €" in body  # German grouping, decimal comma, symbol after the amount
    assert "1.234,56 € bezahlen" in body  # the pay button
    assert "Beginnt am 15.01.2026." in body  # a German date
    assert "Vereinigte Staaten" in body  # the merchant's country, named in German
    assert "Due today" not in body and "$" not in body


def test_open_page_session_locale_ja_wins_over_accept_language(client):
    session = priced_session(specs=(STUDIO,), currency="EUR", locale="ja")
    response = client.get(page(session), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert lang_of(response) == "ja"
    body = text(response)
    assert "本日のお支払い" in body and "ご購入内容" in body
    assert "€1,234.56" in body
    assert "2026/01/15に開始します。" in body
    assert "Heute fällig" not in body


def test_open_page_without_accept_language_is_english(client):
    session = priced_session(specs=(STUDIO,), currency="EUR")
    response = client.get(page(session))
    assert lang_of(response) == "en"
    body = text(response)
    assert "Due today" in body and "€1,234.56" in body and "Starts on Jan 15, 2026." in body


def test_cached_open_page_is_per_language(client):
    """The open page's HTML cache must not serve one customer's language to another."""
    session = priced_session(specs=(STUDIO,), currency="EUR")
    assert lang_of(client.get(page(session), HTTP_ACCEPT_LANGUAGE="fr-FR")) == "fr"
    again = client.get(page(session), HTTP_ACCEPT_LANGUAGE="es-ES")
    assert lang_of(again) == "es"
    assert "A pagar hoy" in text(again) and "1.234,56 €" in text(again)
    assert lang_of(client.get(page(session), HTTP_ACCEPT_LANGUAGE="fr-FR")) == "fr"


def test_guest_form_labels_errors_and_countries_translated(client):
    session = priced_session(specs=(STUDIO,), currency="EUR", guest=True, locale="de")
    response = client.post(page(session), {"payment_method": "card", "customer_name": "", "email": "x",
                                           "line1": "", "city": "", "country": "ZZ"})
    assert response.status_code == 422
    body = text(response)
    assert lang_of(response) == "de"
    assert "Bitte korrigieren Sie Folgendes" in body
    assert "Vollständiger Name" in body and "Postleitzahl (optional)" in body
    assert "Bitte wählen Sie ein Land aus der Liste." in body
    assert "Bitte geben Sie Ihre Kartennummer ein." in body
    assert '<option value="DE">Deutschland</option>' in body
    # sorted as people look names up: Österreich among the O's, before Zypern
    assert body.index(">Österreich<") < body.index(">Panama<") < body.index(">Zypern<")
    assert "Enter your card number." not in body


def test_tax_id_error_in_french(client):
    session = priced_session(specs=(STUDIO,), currency="EUR", guest=True, locale="fr")
    response = client.post(page(session), {
        "customer_name": "Chloé", "email": "chloe@example.com", "line1": "1 rue de Rivoli", "city": "Paris",
        "country": "FR", "tax_id_type": "eu_vat", "tax_id": "DE123456789", "payment_method": "invoice"})
    assert response.status_code == 422
    assert "Ce numéro de TVA intracommunautaire n&#x27;est pas valide (par exemple DE136695976)." in text(response)


@pytest.mark.parametrize(("status", "locale", "expected"), [
    (SessionStatus.EXPIRED, "de", "Dieser Bezahlvorgang ist abgelaufen"),
    (SessionStatus.CANCELLED, "fr", "Ce paiement a été annulé"),
    (SessionStatus.PROCESSING, "es", "Estamos confirmando su pago"),
    (SessionStatus.EXPIRED, "ja", "このお支払い手続きは有効期限が切れています"),
])
def test_final_state_pages_translated(client, status, locale, expected):
    session = priced_session(specs=(STUDIO,), currency="EUR", locale=locale, status=status)
    response = client.get(page(session))
    assert lang_of(response) == locale
    assert expected in text(response)


def test_not_found_page_follows_accept_language(client):
    response = client.get("/pay/cs_nope_" + "x" * 40, HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5")
    assert response.status_code == 404
    assert lang_of(response) == "ja"
    assert "このお支払いリンクは無効です" in text(response)


def test_page_language_does_not_leak_into_the_request_thread(client):
    session = priced_session(specs=(STUDIO,), currency="EUR", locale="ja")
    with translation.override("en"):
        client.get(page(session))
        assert translation.get_language() == "en"


def test_refused_promotion_code_error_is_translated(client):
    """The domain error's English message (what the API says) is said in German on the page."""
    session = priced_session(specs=(STUDIO,), currency="EUR", locale="de", allow_promotion_codes=True)
    response = client.post(page(session) + "/promotion-code", {"promotion_code": "NOPE", "action": "apply"})
    assert response.status_code == 422
    body = text(response)
    assert '<p class="field-error" id="id_promotion_code_error" role="alert">Dieser Code ist ungültig.</p>' in body
    assert "Aktionscode" in body and "Einlösen" in body


# --- the receipt email -------------------------------------------------------------------------

CARD = {"payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}


def test_the_receipt_is_written_in_the_language_the_customer_confirmed_in(client):
    session = priced_session(specs=(STUDIO,), currency="EUR", tax_rate=None)  # locale "auto"
    response = client.post(page(session), CARD, HTTP_ACCEPT_LANGUAGE="de-AT,de;q=0.9")
    assert response.status_code == 302, text(response)
    session.refresh_from_db()
    assert (session.status, session.customer_language) == (SessionStatus.COMPLETED, "de")

    assert checkout_session_receipt_send(session_id=session.pk) is True
    message = mail.outbox[-1]
    assert message.subject == f"Ihre Quittung von {session.business_entity.name}"
    for expected in ("Vielen Dank für Ihre Zahlung. Dies ist Ihre Quittung.", "Vertragsnummer: ",
                     "Studio  1.234,56\xa0€", "Bezahlter Betrag: 1.234,56\xa0€", "Nächste Zahlung: 1.234,56\xa0€ am "):
        assert expected in message.body, message.body
    assert "Thank you" not in message.body
    assert translation.get_language() == "en-us"  # the worker's language is left as it was


@pytest.mark.parametrize(("locale", "subject"), [("fr", "Votre reçu de "), ("auto", "Your receipt from ")])
def test_a_confirm_through_the_api_writes_the_receipt_in_the_sessions_locale_else_english(locale, subject):
    session = priced_session(specs=(STUDIO,), currency="EUR", tax_rate=None, locale=locale)
    checkout_session_confirm(session_id=session.pk, card=card())
    assert checkout_session_receipt_send(session_id=session.pk) is True
    assert mail.outbox[-1].subject == subject + session.business_entity.name
