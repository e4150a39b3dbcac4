"""The hosted page for the buyer (issue #27): guests the merchant knows little about, and the
refusals that keep what was typed."""

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
