"""Setup sessions through the merchant API (issue #26): the confirm endpoint refuses them (a
setup session's card is typed on the hosted page, never sent by the merchant), and a completed
one shows the card it saved (``setup.payment_method``), in the shape the schema documents."""

import pytest

from billing.models import SavedPaymentMethod
from checkout.models import CheckoutSession, Event
from tests.billing.renewal_helpers import sell

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkout-sessions"
URLS = {"success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel"}


def _setup_session(api_client, customer, contract=None) -> dict:
    body = {"mode": "setup", "customer_id": str(customer.pk), **URLS}
    if contract is not None:
        body["contract_id"] = str(contract.pk)
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("body", [
    {"mode": "charge_now", "payment_method_id": "pm_card_visa"},
    {"mode": "no_payment"},
    {"mode": "invoice"},
])
def test_confirming_a_setup_session_through_the_api_is_refused_and_changes_nothing(customer, api_client, body):
    sold = sell(customer)
    created = _setup_session(api_client, customer, sold.contract)

    response = api_client.post(f"{URL}/{created['id']}/confirm", body, format="json")

    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "setup_session_not_confirmable"
    assert "hosted page" in error["message"]
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == ("open", created["payment_status"])
    assert not SavedPaymentMethod.objects.filter(checkout_session_id=session.pk).exists()
    sold.contract.refresh_from_db()
    assert sold.contract.default_payment_method_id == sold.method.pk
    assert not Event.objects.filter(checkout_session=session, type="checkout_session.completed").exists()


def test_a_setup_session_shows_no_card_until_completed_then_the_saved_card(customer, api_client, client):
    sold = sell(customer)
    created = _setup_session(api_client, customer, sold.contract)
    assert created["setup"] == {"payment_method": None}

    page = "/pay/" + created["url"].rsplit("/pay/", 1)[1]
    response = client.post(page, {"payment_method": "card", "card_number": "5555 5555 5555 4444",
                                  "card_expiry": "11/33", "card_cvc": "123"})
    assert response.status_code == 402  # a refused card saves nothing
    assert api_client.get(f"{URL}/{created['id']}").json()["setup"] == {"payment_method": None}

    response = client.post(page, {"payment_method": "card", "card_number": "4242 4242 4242 4242",
                                  "card_expiry": "11/33", "card_cvc": "123"})
    assert response.status_code == 302

    new = SavedPaymentMethod.objects.get(checkout_session_id=created["id"])
    body = api_client.get(f"{URL}/{created['id']}").json()
    assert body["status"] == "completed"
    assert body["setup"] == {"payment_method": {
        "id": str(new.pk), "provider_reference": new.provider_reference, "brand": "visa", "last4": "4242",
        "exp_month": 11, "exp_year": 2033}}


def test_a_payment_session_has_no_setup_block(customer, api_client, checkout_session_factory):
    session = checkout_session_factory(organization=customer.organization, customer=customer)
    body = api_client.get(f"{URL}/{session.pk}").json()
    assert body["checkout_type"] != "setup" and body["setup"] is None
