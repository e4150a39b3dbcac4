"""The hosted page for the buyer (issue #27): guests the merchant knows little about, and the
refusals that keep what was typed."""

from decimal import Decimal

import pytest

from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from customers.models import Customer

from .helpers import priced_session, text

pytestmark = pytest.mark.django_db


def page(session):
    return f"/pay/{session.token}"


GUEST_POST = {"email": "ada@example.com", "line1": "1 Main St", "city": "Berlin", "country": "DE",
              "payment_method": "card", "card_number": "4242424242424242", "card_expiry": "12/34",
              "card_cvc": "123"}


def test_a_guest_without_a_name_is_asked_for_it_with_the_email_prefilled(client):
    session = priced_session(guest=True)
    CheckoutSession.objects.filter(pk=session.pk).update(customer_details={"email": "ada@example.com"})

    body = text(client.get(page(session)))
    assert '<input type="text" name="customer_name" autocomplete="name"' in body
    assert 'name="customer_name" value=' not in body  # nothing to prefill
    assert 'name="email" value="ada@example.com"' in body

    response = client.post(page(session), {**GUEST_POST, "customer_name": ""})
    assert response.status_code == 422
    assert "Full name: This field is required." in text(response)
    assert not Customer.objects.filter(email="ada@example.com").exists()

    response = client.post(page(session), {**GUEST_POST, "customer_name": "Ada Lovelace"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert Customer.objects.get(pk=session.customer_id).customer_name == "Ada Lovelace"


# --- the promotion code box keeps what was typed -----------------------------------------------

TYPED = {"customer_name": "Ada Lovelace", "email": "ada@example.com", "line1": "Unter den Linden 1",
         "line2": "3. OG", "city": "Berlin", "zip_code": "10117", "state": "", "country": "DE",
         "tax_id_type": "eu_vat", "tax_id": "DE136695976", "payment_method": "card",
         "card_number": "4242424242424242", "card_expiry": "11/33", "card_cvc": "987"}


def _assert_kept(body):
    for name in ("customer_name", "email", "line1", "line2", "city", "zip_code", "tax_id"):
        assert f'name="{name}" value="{TYPED[name]}"' in body, name
    assert '<option value="DE" selected>' in body and '<option value="eu_vat" selected>' in body
    assert 'value="11/33"' in body  # the card's expiry is kept…
    assert "4242424242424242" not in body and 'value="987"' not in body  # …its number and code never


@pytest.mark.parametrize(("code", "status", "shown"), [
    ("spring20", 200, "Code SPRING20 applied: 20% off"),
    ("NOPE", 422, "This code is not valid."),
])
def test_applying_a_code_keeps_every_typed_field(client, code, status, shown):
    from .test_discounts import promo

    session = priced_session(guest=True, allow_promotion_codes=True)
    promo(session)
    response = client.post(page(session) + "/promotion-code",
                           {**TYPED, "promotion_code": code, "action": "apply"})
    assert response.status_code == status
    body = text(response)
    assert shown in body
    _assert_kept(body)
    assert "This field is required" not in body and "error-summary" not in body
    assert ("Pay $147.20" if status == 200 else "Pay $184.00") in body  # 184.00 − 20 %


def test_removing_a_code_keeps_every_typed_field_and_consent(client):
    from checkout.services.discounts import checkout_session_promotion_code_apply

    from .test_discounts import promo

    session = priced_session(guest=True, allow_promotion_codes=True, terms_url="https://acme.example/terms")
    promo(session)
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    response = client.post(page(session) + "/promotion-code", {**TYPED, "accept_terms": "on", "action": "remove"})
    assert response.status_code == 200
    body = text(response)
    _assert_kept(body)
    assert 'name="accept_terms" id="id_accept_terms" required checked' in body
    assert "Pay $184.00" in body


def test_a_typed_code_not_applied_is_applied_instead_of_paying(client):
    """Enter in the code box submits the checkout form (its default button): the code is
    applied and nothing is charged; the customer then pays the discounted price."""
    from billing.models import Payment

    from .test_discounts import promo

    session = priced_session(guest=True, allow_promotion_codes=True)
    promo(session)
    response = client.post(page(session), {**TYPED, "promotion_code": "SPRING20"})
    assert response.status_code == 200
    assert "Code SPRING20 applied" in text(response) and not Payment.objects.exists()
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and session.estimates["current_invoice"]["amount_due"] == "147.20"

    response = client.post(page(session), TYPED)
    assert response.status_code == 302
    assert Payment.objects.get().amount == Decimal("147.20")
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert session.invoice.total == Decimal("147.20")
