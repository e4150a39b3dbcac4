"""The hosted page over HTTP (Django test client): status codes, redirects, headers, rows."""

import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from billing.enums import BillingEventType
from billing.gateway import CARD_DECLINED, CARD_SETTLES_LATER
from billing.models import Contract, Invoice, Payment, SavedPaymentMethod
from checkout.enums import CheckoutType, EventType, PaymentStatus, SessionStatus
from checkout.models import Event
from checkout.pages import CSRF_PLACEHOLDER, open_page_cache
from customers.models import Customer

from .helpers import API_CALLS, SEATS, amendment_session, priced_session, text

pytestmark = pytest.mark.django_db

CARD = {"payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}
GUEST = {"customer_name": "Grace Guest", "email": "grace@example.com", "line1": "1 Main St", "city": "Austin",
         "zip_code": "73301", "country": "US"}


def page(session):
    return f"/pay/{session.token}"


# --- rendering ------------------------------------------------------------------------------


def test_open_page_shows_merchant_purchase_invoices_and_totals(client):
    session = priced_session(specs=(SEATS, API_CALLS))
    response = client.get(page(session))
    assert response.status_code == 200
    body = text(response)
    assert session.business_entity.name in body
    assert session.plan.name in body
    assert "Seats" in body and "API calls" in body
    assert "3 × $12.00" in body
    assert "Due today" in body and "$36.00" in body
    # next invoice: seats again plus the first month of API calls in arrears, tier by tier
    assert "Next invoice" in body and "$48.50" in body
    assert "Units 1–1,000: 1,000 × $0.01" in body and "Units 1,001–1,500: 500 × $0.005" in body
    assert "Billed in arrears" in body
    assert "Jan 15 – Feb 14, 2026" in body  # half-open periods read as inclusive dates
    assert "Pay $36.00" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert "Test mode" in body


def test_open_page_explains_proration_in_words(client):
    session, _contract, _phase = amendment_session(new_quantity=5)
    body = text(client.get(page(session)))
    assert "Credit for the 14 unused days (of 31) of a period already paid, at $36.00 per full month." in body
    assert "Prorated: 14 of 31 days of the period, at $60.00 for a full month." in body
    assert "-$16.26" in body and "$27.10" in body and "$10.84" in body
    assert "Update your subscription" in body


def test_open_page_formats_other_currencies(client):
    session = priced_session(currency="EUR", specs=(({**SEATS[0], "unit_amount": Decimal("1234.50")}, 1),))
    assert "€1,234.50" in text(client.get(page(session)))


def test_open_page_has_security_headers(client):
    session = priced_session()
    response = client.get(page(session))
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "form-action 'self' https://merchant.example" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert "<script>" not in response.content.decode()  # no inline script
    assert " style=" not in response.content.decode()


def test_page_is_found_by_token_not_by_id(client):
    session = priced_session()
    assert len(session.token) >= 22  # ≥ 128 bits of URL-safe base64
    response = client.get(f"/pay/{session.pk}")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert "not valid" in text(response)
    assert client.get("/pay/cs_nope").status_code == 404


def test_open_page_renders_with_a_constant_number_of_queries(client, django_assert_num_queries):
    small = priced_session(specs=(SEATS,))
    big = priced_session(guest=True, specs=(SEATS, API_CALLS, ({**SEATS[0], "product__name": "More"}, 9)))
    client.get(page(small))  # warm babel's and the template loader's caches
    open_page_cache.clear()
    # First render of a session: the probe for the page cache, the session with its business
    # entity, customer and plan in one query, whatever the number of items, and the
    # organization's payment settings (test provider or Stripe's card field); a session's very
    # first view adds one insert (checkout.activity: the dashboard's "page opened"), once.
    with django_assert_num_queries(3):
        assert client.get(page(small)).status_code == 200
    with django_assert_num_queries(4):
        assert client.get(page(big)).status_code == 200
    # Again: the probe only.
    with django_assert_num_queries(1):
        assert client.get(page(small)).status_code == 200
    with django_assert_num_queries(1):
        assert client.get(page(big)).status_code == 200


def test_cached_page_gets_a_fresh_csrf_token_and_works(client):
    session = priced_session()
    first, second = Client(), Client()
    bodies = [c.get(page(session)).content.decode() for c in (first, second)]
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1) for body in bodies]
    assert tokens[0] != tokens[1] and all(CSRF_PLACEHOLDER not in body for body in bodies)
    csrf_client = Client(enforce_csrf_checks=True)
    body = csrf_client.get(page(session)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    response = csrf_client.post(page(session), {**CARD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].startswith("https://merchant.example/success")


def test_cached_page_is_not_served_once_the_session_is_due(client):
    session = priced_session()
    assert "Pay $184.00" in text(client.get(page(session)))  # now cached
    session.__class__.objects.filter(pk=session.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "This checkout has expired" in text(client.get(page(session)))


def test_guest_page_prefills_the_merchants_details(client):
    session = priced_session(guest=True)
    body = text(client.get(page(session)))
    assert 'value="Grace Guest"' in body and 'value="grace.guest@example.com"' in body
    assert '<option value="US" selected>' in body
    for label in ("Full name", "Email", "Address", "City", "Country", "Tax ID (optional)", "Card number"):
        assert f">{label}</label>" in body


def test_invoice_choice_only_where_the_entity_allows_it(client):
    assert "Pay by invoice" in text(client.get(page(priced_session(allow_invoice=True))))
    assert 'value="invoice"' not in text(client.get(page(priced_session(allow_invoice=False))))


def test_zero_total_page_asks_for_no_payment_when_cards_are_collected_only_if_required(client):
    body = text(client.get(page(priced_session(specs=(API_CALLS,), payment_method_collection="if_required"))))
    assert "Card number" not in body and "Nothing is due today" in body and ">Confirm</button>" in body
    assert 'data-testid="mandate"' not in body


def test_zero_total_page_saves_a_card_for_the_renewals_with_the_agreement_shown(client):
    session = priced_session(specs=(API_CALLS,))
    body = text(client.get(page(session)))
    assert "Card number" in body and "Your card is saved for the payments that follow" in body
    assert ">Start subscription</button>" in body and "Pay by invoice" not in body
    upcoming = session.estimates["next_invoice"]
    assert (f"you authorise {session.business_entity.name} to charge this card ${upcoming['total']} every month "
            "until you cancel") in body

    response = client.post(page(session), CARD)
    assert response.status_code == 302
    method = SavedPaymentMethod.objects.get()
    assert method.mandate_text in body and method.mandate_ip_address == "127.0.0.1"
    assert not Payment.objects.exists()


# --- confirm --------------------------------------------------------------------------------


def test_pay_with_success_card_redirects_to_success_url_with_session_id(client):
    session = priced_session()
    response = client.post(page(session), CARD)
    assert response.status_code == 302
    assert response["Location"] == f"https://merchant.example/success?session={session.pk}"
    assert "merchant.example" in response["Content-Security-Policy"]
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Invoice.objects.get().total == Decimal("184.00")
    assert Contract.objects.get().pk == session.contract_id
    # The session's completion, and the card saved for the renewals (billing's own event).
    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(
        [EventType.COMPLETED, BillingEventType.PAYMENT_METHOD_ATTACHED])


def test_declined_card_shows_the_message_keeps_the_expiry_and_creates_nothing(client):
    session = priced_session()
    response = client.post(page(session), {**CARD, "card_number": CARD_DECLINED})
    # The page again (not a redirect, which would lose what was typed): the card's expiry is
    # kept for the retry, its number and security code never echoed.
    assert response.status_code == 402
    body = text(response)
    assert "Your card was declined" in body and "<form" in body
    assert f'value="{CARD["card_expiry"]}"' in body
    assert CARD_DECLINED not in body and f'value="{CARD["card_cvc"]}"' not in body
    assert "Your card was declined" in text(client.get(page(session)))
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not Contract.objects.exists() and not Invoice.objects.exists()
    # retry
    response = client.post(page(session), CARD)
    assert response["Location"].startswith("https://merchant.example/success")
    assert Contract.objects.count() == 1


def test_settle_later_redirects_to_pending_url(client):
    session = priced_session()
    with mock.patch("checkout.tasks.payment_settle.apply_async"):
        response = client.post(page(session), {**CARD, "card_number": CARD_SETTLES_LATER})
    assert response.status_code == 302 and response["Location"] == "https://merchant.example/pending"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.PROCESSING, PaymentStatus.PENDING)
    body = text(client.get(page(session)))
    assert "confirming your payment" in body and "<form" not in body and "Card ending in 0077" in body


def test_pay_by_invoice_from_the_page(client):
    session = priced_session()
    response = client.post(page(session), {"payment_method": "invoice"})
    assert response.status_code == 302 and response["Location"].startswith("https://merchant.example/success")
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.payment_method) == ("completed", "pending", "invoice")


def test_pay_by_invoice_not_offered_is_a_field_error(client):
    session = priced_session(allow_invoice=False)
    response = client.post(page(session), {"payment_method": "invoice"})
    assert response.status_code == 422
    assert "Select a valid choice" in text(response)
    assert not Contract.objects.exists()


def test_guest_invalid_email_shows_field_error_then_valid_email_completes(client):
    session = priced_session(guest=True)
    response = client.post(page(session), {**GUEST, "email": "not-an-email", **CARD})
    assert response.status_code == 422
    body = text(response)
    assert 'id="id_email_error"' in body and "Enter a valid email address." in body
    assert 'aria-invalid="true"' in body and 'aria-describedby="id_email_error"' in body
    assert 'href="#id_email"' in body  # error summary links to the field
    assert 'value="4242' not in body and 'value="123"' not in body  # card number and CVC never echoed back
    assert 'value="12/34"' in body  # the expiry is harmless and kept
    assert not Customer.objects.exists() and not Payment.objects.exists()

    response = client.post(page(session), {**GUEST, **CARD})
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.email, customer.customer_name, customer.address["country"]) == (
        "grace@example.com", "Grace Guest", "US")


@pytest.mark.parametrize("field, value, message", [
    ("card_number", "4242 4242 4242 4241", "Enter a valid card number."),
    ("card_number", "", "Enter your card number."),
    ("card_expiry", "01/20", "This card has expired."),
    ("card_expiry", "13/30", "Enter the expiry date as MM/YY."),
    ("card_cvc", "12", "Enter the 3 or 4 digits on the back of the card."),
])
def test_card_fields_are_validated_by_the_form(client, field, value, message):
    session = priced_session()
    response = client.post(page(session), {**CARD, field: value})
    assert response.status_code == 422
    assert message in text(response)
    assert not Payment.objects.exists()


def test_guest_tax_id_needs_a_type(client):
    session = priced_session(guest=True)
    response = client.post(page(session), {**GUEST, **CARD, "tax_id": "DE123456789"})
    assert response.status_code == 422 and "Choose the type of your tax ID." in text(response)
    response = client.post(page(session), {**GUEST, **CARD, "tax_id": "DE136695976", "tax_id_type": "eu_vat"})
    assert response.status_code == 302
    assert Customer.objects.get().tax_info == [{"type": "eu_vat", "value": "DE136695976"}]


def test_double_submit_sends_the_second_to_the_success_url_too(client):
    session = priced_session()
    first = client.post(page(session), CARD)
    second = client.post(page(session), CARD)
    assert first["Location"] == second["Location"] == f"https://merchant.example/success?session={session.pk}"
    assert Contract.objects.count() == 1 and Invoice.objects.count() == 1 and Payment.objects.count() == 1


def test_confirm_on_an_expired_session_shows_the_expired_page(client):
    session = priced_session(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = client.post(page(session), CARD)
    assert response.status_code == 302 and response["Location"] == page(session)
    body = text(client.get(page(session)))
    assert "This checkout has expired" in body and "<form" not in body
    assert 'href="https://merchant.example/cancel"' in body
    assert not Payment.objects.exists()


def test_blank_success_url_redirects_to_the_receipt(client):
    session = priced_session(success_url="")
    response = client.post(page(session), CARD)
    assert response["Location"] == page(session)
    body = text(client.get(page(session)))
    assert "Contract reference" in body and str(session.__class__.objects.get().contract_id) in body


def test_csrf_is_enforced_on_confirm_and_cancel():
    session = priced_session()
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post(page(session), CARD).status_code == 403
    assert csrf_client.post(page(session) + "/cancel").status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and not Payment.objects.exists()


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_redirects_to_cancel_url(client):
    session = priced_session()
    response = client.post(page(session) + "/cancel")
    assert response.status_code == 302 and response["Location"] == "https://merchant.example/cancel"
    session.refresh_from_db()
    assert (session.status, session.cancellation_reason) == (SessionStatus.CANCELLED, "requested_by_customer")
    assert list(Event.objects.values_list("type", flat=True)) == [EventType.CANCELLED]
    body = text(client.get(page(session)))
    assert "This checkout was cancelled" in body and "<form" not in body


def test_cancel_is_post_only(client):
    session = priced_session()
    assert client.get(page(session) + "/cancel").status_code == 405
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


def test_cancel_after_completion_changes_nothing(client):
    session = priced_session()
    client.post(page(session), CARD)
    response = client.post(page(session) + "/cancel")
    assert response.status_code == 302 and response["Location"] == page(session)
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED


# --- final states ---------------------------------------------------------------------------


def test_completed_page_is_a_receipt_with_the_contract_reference(client):
    session = priced_session()
    client.post(page(session), CARD)
    session.refresh_from_db()
    body = text(client.get(page(session)))
    assert str(session.contract_id) in body and "Card ending in 4242" in body and "$184.00" in body
    assert "<form" not in body
    assert f'href="https://merchant.example/success?session={session.pk}"' in body


@pytest.mark.parametrize("status, heading", [
    (SessionStatus.EXPIRED, "This checkout has expired"),
    (SessionStatus.CANCELLED, "This checkout was cancelled"),
    (SessionStatus.PROCESSING, "confirming your payment"),
])
def test_final_states_show_a_page_not_a_form(client, status, heading):
    session = priced_session(status=status)
    response = client.get(page(session))
    assert response.status_code == 200
    body = text(response)
    assert heading in body and "<form" not in body and "merchant.example" in body


def test_page_read_expires_a_due_session(client):
    session = priced_session(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "This checkout has expired" in text(client.get(page(session)))
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED
    assert list(Event.objects.values_list("type", flat=True)) == [EventType.EXPIRED]


def test_plan_switch_page_names_the_new_plan(client):
    session, _c, _p = amendment_session(checkout_type=CheckoutType.PLAN_SWITCH)
    assert f"Switch to {session.plan.name}" in text(client.get(page(session)))


def test_card_details_are_hidden_from_error_reports(rf):
    from django.views.debug import SafeExceptionReporterFilter

    from checkout.views import checkout_page

    session = priced_session()
    request = rf.post(page(session), CARD)
    request._dont_enforce_csrf_checks = True
    assert checkout_page(request, token=session.token).status_code == 302  # marked by the decorator
    cleaned = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleaned["card_number"] == cleaned["card_cvc"] == "********************"
    assert cleaned["card_expiry"] == "12/34"


@pytest.mark.parametrize(("tax_type", "typed", "country", "stored"), [
    ("eu_vat", "DE 136 695 976", "DE", "DE136695976"),
    ("eu_vat", "136695976", "DE", "DE136695976"),  # the prefix comes from the billing country
    ("gb_vat", "GB980780684", "GB", "GB980780684"),
    ("au_abn", "51 824 753 556", "AU", "51824753556"),
    ("other", "anything 123", "US", "anything 123"),
])
def test_guest_tax_id_valid_for_its_type_is_stored_compact(client, tax_type, typed, country, stored):
    session = priced_session(guest=True)
    response = client.post(page(session), {**GUEST, **CARD, "country": country, "tax_id": typed,
                                           "tax_id_type": tax_type})
    assert response.status_code == 302, text(response)[:2000]
    assert Customer.objects.get().tax_info == [{"type": tax_type, "value": stored}]


@pytest.mark.parametrize(("tax_type", "typed", "message"), [
    ("eu_vat", "DE123456789", "This is not a valid number for an EU VAT number (for example DE136695976)."),
    ("gb_vat", "GB12345", "This is not a valid number for a UK VAT number (for example GB980780684)."),
    ("us_ein", "00-0000000", "This is not a valid number for a US EIN (for example 04-2103594)."),
    ("au_abn", "51 824 753 557", "This is not a valid number for an Australian ABN (for example 51 824 753 556)."),
])
def test_guest_tax_id_invalid_for_its_type_is_a_field_error(client, tax_type, typed, message):
    session = priced_session(guest=True)
    with mock.patch("socket.socket", side_effect=AssertionError("no network on the request path")):
        response = client.post(page(session), {**GUEST, **CARD, "tax_id": typed, "tax_id_type": tax_type})
    assert response.status_code == 422
    body = text(response)
    assert f'<p class="field-error" id="id_tax_id_error"><span class="visually-hidden">Error: </span>{message}</p>' in body
    assert '<a href="#id_tax_id">Tax ID (optional): ' in body  # in the error summary
    assert not Customer.objects.exists()
