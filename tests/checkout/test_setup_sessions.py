"""Setup-mode sessions (Stripe's mode=setup): an existing customer saves a new card on the
hosted page without paying; it becomes their default and their contract's, the completion event
carries it, and the next renewal charges it."""

from datetime import UTC, date, datetime

import pytest

from billing.collection import invoices_collect_due
from billing.models import Invoice, Payment, SavedPaymentMethod
from billing.payment_methods import customer_default_payment_method
from billing.renewals import contracts_renew_due
from checkout.models import CheckoutSession, Event
from tests.billing.renewal_helpers import sell
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkout-sessions"
URLS = {"success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel"}


def _card(number="4242 4242 4242 4242"):
    return {"payment_method": "card", "card_number": number, "card_expiry": "12/34", "card_cvc": "123"}


def _create(api_client, body):
    return api_client.post(URL, body, format="json")


def test_a_setup_session_replaces_the_card_and_the_next_renewal_charges_it(customer, api_client, client,
                                                                          django_assert_max_num_queries):
    sold = sell(customer, behaviour="charges_fail")
    with django_assert_max_num_queries(12):
        response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk),
                                        "contract_id": str(sold.contract.pk), **URLS})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["checkout_type"], body["status"], body["contract_id"], body["customer_id"], body["currency"],
            body["estimates"], body["plan_id"]) == (
        "setup", "open", str(sold.contract.pk), str(customer.pk), "USD", None, None)
    page = "/pay/" + body["url"].rsplit("/pay/", 1)[1]

    html = client.get(page).content.decode()
    assert "Update your payment method" in html
    assert "It replaces your card ending in 4242." in html
    assert "Nothing is charged now." in html

    response = client.post(page, _card("5555 5555 5555 4444"))  # a valid card, but not a test card
    assert response.status_code == 402
    assert CheckoutSession.objects.get(pk=body["id"]).payment_status == "failed"

    response = client.post(page, _card())
    assert response.status_code == 302
    assert response["Location"] == f"https://merchant.example/ok?cs={body['id']}"
    session = CheckoutSession.objects.get(pk=body["id"])
    assert (session.status, session.payment_status) == ("completed", "no_payment_required")
    new = SavedPaymentMethod.objects.get(checkout_session_id=session.pk)
    assert new.provider_reference.startswith("pm_test_succeeds_") and new.last4 == "4242"
    assert "authorise" in new.mandate_text
    sold.contract.refresh_from_db()
    assert sold.contract.default_payment_method_id == new.pk
    assert customer_default_payment_method(customer_id=customer.pk, livemode=False).pk == new.pk
    completed = Event.objects.get(checkout_session=session, type="checkout_session.completed")
    assert completed.payload["payment_method"]["id"] == str(new.pk)
    assert completed.payload["payment_method"]["card"]["last4"] == "4242"
    assert not Payment.objects.filter(checkout_session=session).exists()  # nothing charged
    assert "Your new card is saved" in client.get(page).content.decode()

    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.saved_payment_method_id, payment.amount) == ("succeeded", new.pk, invoice.amount_due)
    assert invoice.status == "paid"


def test_a_setup_session_without_a_contract_sets_the_customers_default(customer, api_client, client):
    sold = sell(customer)
    response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk), **URLS})
    assert response.status_code == 201
    page = "/pay/" + response.json()["url"].rsplit("/pay/", 1)[1]
    assert client.post(page, _card()).status_code == 302
    new = SavedPaymentMethod.objects.get(checkout_session_id=response.json()["id"])
    assert customer_default_payment_method(customer_id=customer.pk, livemode=False).pk == new.pk
    sold.contract.refresh_from_db()
    assert sold.contract.default_payment_method_id == sold.method.pk  # its own method stays


@pytest.mark.parametrize(("extra", "field", "code"), [
    ({"plan_id": "3c9e2f1a-7b6d-4e5c-a4b3-c2d1e0f9a8b7"}, "plan_id", "setup_mode_conflict"),
    ({"product_overrides": [{"product_id": "3c9e2f1a-7b6d-4e5c-a4b3-c2d1e0f9a8b7", "quantity": 2}]},
     "product_overrides", "setup_mode_conflict"),
    ({"trial_period_days": 7}, "trial_period_days", "setup_mode_conflict"),
    ({"customer_id": None}, "customer_id", "field_required"),
])
def test_setup_sessions_refuse_what_they_cannot_do(customer, api_client, extra, field, code):
    response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk), **URLS, **extra})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]
    assert set(error) == {"code", "message", "fields", "trace_id"}


def test_another_tenants_or_customers_contract_is_refused(customer, api_client, other_organization):
    other = sell(CustomerFactory(organization=other_organization))
    response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk),
                                    "contract_id": str(other.contract.pk), **URLS})
    assert response.status_code == 404 and response.json()["error"]["code"] == "contract_not_found"
    someone_else = sell(CustomerFactory(organization=customer.organization,
                                        business_entity=customer.business_entity))
    response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk),
                                    "contract_id": str(someone_else.contract.pk), **URLS})
    assert response.status_code == 422 and response.json()["error"]["code"] == "contract_customer_mismatch"
    assert not CheckoutSession.objects.exists()


def test_with_stripe_the_setup_page_saves_the_card_through_a_setup_intent(customer, api_client, client,
                                                                          stripe_mode, localstripe):
    """The Stripe path: the page asks for a SetupIntent, Stripe.js confirms it (here localstripe),
    the confirm reads the card back from Stripe and makes it the default."""
    from billing.models import ProviderCustomer

    sold = sell(customer)
    stripe_mode(customer.organization)
    response = _create(api_client, {"mode": "setup", "customer_id": str(customer.pk),
                                    "contract_id": str(sold.contract.pk), **URLS})
    assert response.status_code == 201
    session_id, page = response.json()["id"], "/pay/" + response.json()["url"].rsplit("/pay/", 1)[1]
    html = client.get(page).content.decode()
    assert 'id="card-element"' in html and "data-setup-url=" in html and 'name="card_number"' not in html

    secret = client.post(page + "/setup-intent").json()["client_secret"]
    setup_id = secret.split("_secret_")[0]
    localstripe.confirm_card_setup(secret, "4242424242424242")
    response = client.post(page, {"payment_method": "card", "payment_method_id": setup_id})
    assert response.status_code == 302

    new = SavedPaymentMethod.objects.get(checkout_session_id=session_id)
    stripe_customer = ProviderCustomer.objects.get(customer=customer).provider_reference
    assert (new.provider, new.provider_customer, new.last4) == ("stripe", stripe_customer, "4242")
    assert new.provider_reference == localstripe.get(f"/v1/setup_intents/{setup_id}")["payment_method"]
    sold.contract.refresh_from_db()
    assert sold.contract.default_payment_method_id == new.pk
    assert CheckoutSession.objects.get(pk=session_id).status == "completed"
