"""Card checkouts in Stripe mode keep the card for the renewals (issue #25), against localstripe
(tests.localstripe_plus): a Stripe Customer per customer, setup_future_usage on the first
PaymentIntent, a SetupIntent when nothing is due today, the saved card recorded as the
customer's default with its mandate, and the renewal charged off-session to it."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.enums import PaymentAttemptStatus
from billing.models import Contract, Invoice, Payment, PaymentSettings, ProviderCustomer, SavedPaymentMethod
from billing.test_clocks import test_clock_advance, test_clock_create
from checkout.enums import PaymentStatus, SessionStatus
from checkout.services.confirm import checkout_session_confirm, checkout_session_payment_sync
from tests.checkout.pages.helpers import PLATFORM, SEATS, START, priced_session
from tests.stripe_helpers import signed_event

SUCCEEDS, THREE_D_SECURE, CHARGES_FAIL = "4242424242424242", "4000002500003155", "4000000000000341"
ALWAYS_AUTHENTICATE = "4000002760003184"
pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_session(stripe_mode):
    def make(**kwargs):
        session = priced_session(success_url="https://merchant.example/ok", cancel_url="https://merchant.example/no",
                                 **kwargs)
        if "organization" not in kwargs:
            stripe_mode(session.organization)
        return session
    return make


def _trial(stripe_session, **kwargs):
    return stripe_session(specs=(SEATS, PLATFORM), trial_end=START + datetime.timedelta(days=14), **kwargs)


def test_a_card_checkout_saves_the_card_on_the_customers_stripe_customer(stripe_session, localstripe):
    session = stripe_session()
    result = checkout_session_confirm(session_id=session.pk,
                                      payment_method_id=localstripe.card_payment_method(SUCCEEDS))

    assert result.outcome == "completed"
    payment = Payment.objects.get(checkout_session=session)
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id, provider="stripe")
    intent = localstripe.intent(payment.provider_reference)
    assert (intent["amount"], intent["customer"], intent["setup_future_usage"]) == (
        18400, stripe_customer.provider_reference, "off_session")
    method = SavedPaymentMethod.objects.get()
    assert (method.provider, method.provider_reference, method.provider_customer) == (
        "stripe", intent["payment_method"], stripe_customer.provider_reference)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "4242", 12, 2031)
    assert method.mandate_text.startswith("By subscribing, you authorise ")
    assert method.default_since is not None and payment.saved_payment_method_id == method.pk
    assert Contract.objects.get().default_payment_method_id == method.pk
    assert localstripe.get(f"/v1/payment_methods/{method.provider_reference}")["customer"] == (
        stripe_customer.provider_reference)


def test_the_stripe_customer_is_created_once_per_customer(stripe_session, localstripe):
    first = stripe_session()
    checkout_session_confirm(session_id=first.pk, payment_method_id=localstripe.card_payment_method(SUCCEEDS))
    second = stripe_session(organization=first.organization, entity=first.business_entity,
                            customer=first.customer)
    checkout_session_confirm(session_id=second.pk, payment_method_id=localstripe.card_payment_method(SUCCEEDS))

    reference = ProviderCustomer.objects.get(customer_id=first.customer_id).provider_reference
    assert [i["amount"] for i in localstripe.intents_of(reference)] == [18400, 18400]
    assert set(SavedPaymentMethod.objects.values_list("provider_customer", flat=True)) == {reference}


def test_a_guest_checkout_gets_a_stripe_customer_kept_for_the_customer_it_creates(stripe_session, localstripe):
    session = stripe_session(guest=True)
    result = checkout_session_confirm(session_id=session.pk, customer_details={"customer_name": "Grace Guest"},
                                      payment_method_id=localstripe.card_payment_method(SUCCEEDS))

    assert result.outcome == "completed"
    session.refresh_from_db()
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id)
    stored = localstripe.get(f"/v1/customers/{stripe_customer.provider_reference}")
    # Made before the guest was one of our customers, from what a retry sends again unchanged.
    assert stored["metadata"] == {"checkout_session_id": str(session.pk),
                                  "organization_id": str(session.organization_id)}
    assert SavedPaymentMethod.objects.get().provider_customer == stripe_customer.provider_reference


def test_a_card_that_needed_3ds_is_saved_when_the_payment_settles(stripe_session, localstripe):
    session = stripe_session()
    pending = checkout_session_confirm(session_id=session.pk,
                                       payment_method_id=localstripe.card_payment_method(THREE_D_SECURE))
    assert pending.outcome == "processing" and not SavedPaymentMethod.objects.exists()
    localstripe.authenticate(pending.payment.client_secret, success=True)

    checkout_session_payment_sync(session_id=session.pk)

    method = SavedPaymentMethod.objects.get()
    reference = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    assert (method.last4, method.provider_customer, method.exp_year) == ("3155", reference, 2031)
    assert localstripe.get(f"/v1/payment_methods/{method.provider_reference}")["customer"] == reference
    assert Contract.objects.get().default_payment_method_id == method.pk


def test_a_card_saved_through_the_webhook_is_recorded_once_as_the_default(client, stripe_session, localstripe):
    session = stripe_session()
    pending = checkout_session_confirm(session_id=session.pk,
                                       payment_method_id=localstripe.card_payment_method(THREE_D_SECURE))
    intent = localstripe.authenticate(pending.payment.client_secret, success=True)
    body, signature = signed_event("payment_intent.succeeded", intent)
    hook = reverse("checkout:stripe-webhook", args=[PaymentSettings.objects.get().pk])

    for _delivery in range(2):  # Stripe delivers at least once
        answer = client.post(hook, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        assert answer.status_code == 200

    method = SavedPaymentMethod.objects.get()
    assert (method.provider_reference, method.last4, method.provider_customer) == (
        intent["payment_method"], "3155", intent["customer"])
    assert method.mandate_text.startswith("By subscribing, you authorise ")
    assert Payment.objects.get(checkout_session=session).saved_payment_method_id == method.pk


def test_the_setup_intent_endpoint_needs_the_pages_csrf_token(stripe_session, localstripe):
    session = _trial(stripe_session)
    before = len(localstripe.get("/v1/setup_intents?limit=10000")["data"])
    response = Client(enforce_csrf_checks=True).post(reverse("checkout:setup-intent", args=[session.token]))
    assert response.status_code == 403
    assert len(localstripe.get("/v1/setup_intents?limit=10000")["data"]) == before


def _setup_intent(client, session) -> str:
    response = client.post(reverse("checkout:setup-intent", args=[session.token]))
    assert response.status_code == 200, response.content
    return response.json()["client_secret"]


def test_a_trial_saves_the_card_with_a_setup_intent_the_page_confirmed(client, stripe_session, localstripe):
    session = _trial(stripe_session)
    assert Decimal(session.estimates["current_invoice"]["amount_due"]) == 0
    secret = _setup_intent(client, session)
    setup_id = secret.split("_secret_")[0]
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    stored = localstripe.get(f"/v1/setup_intents/{setup_id}")
    assert (stored["customer"], stored["usage"], stored["metadata"]["checkout_session_id"]) == (
        stripe_customer, "off_session", str(session.pk))
    localstripe.confirm_card_setup(secret, SUCCEEDS)

    result = checkout_session_confirm(session_id=session.pk, payment_method_id=setup_id)

    assert result.outcome == "completed"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.NO_PAYMENT_REQUIRED)
    assert not Payment.objects.exists()  # nothing charged
    method = SavedPaymentMethod.objects.get()
    assert (method.provider_reference, method.provider_customer, method.last4) == (
        localstripe.get(f"/v1/setup_intents/{setup_id}")["payment_method"], stripe_customer, "4242")
    assert Contract.objects.get().default_payment_method_id == method.pk


def test_a_setup_intent_of_another_checkout_is_refused(client, stripe_session, localstripe):
    other, session = _trial(stripe_session), _trial(stripe_session)
    secret = _setup_intent(client, other)
    localstripe.confirm_card_setup(secret, SUCCEEDS)

    result = checkout_session_confirm(session_id=session.pk, payment_method_id=secret.split("_secret_")[0])

    assert (result.outcome, result.failure_code) == ("payment_failed", "setup_intent_invalid")
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not SavedPaymentMethod.objects.exists() and not Contract.objects.exists()


def test_a_setup_intent_not_confirmed_on_the_page_saves_nothing(client, stripe_session, localstripe):
    session = _trial(stripe_session)
    secret = _setup_intent(client, session)

    result = checkout_session_confirm(session_id=session.pk, payment_method_id=secret.split("_secret_")[0])

    assert (result.outcome, result.failure_code) == ("payment_failed", "setup_failed")
    assert not SavedPaymentMethod.objects.exists()


def test_the_setup_intent_endpoint_refuses_a_session_with_money_due(client, stripe_session, localstripe):
    session = stripe_session()
    response = client.post(reverse("checkout:setup-intent", args=[session.token]))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "payment_method_not_allowed"
    missing = client.post(reverse("checkout:setup-intent", args=["cs_nope"]))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "checkout_session_not_found")


def test_the_api_trial_confirm_sets_the_card_up_server_side(stripe_session, localstripe):
    session = _trial(stripe_session)
    result = checkout_session_confirm(session_id=session.pk,
                                      payment_method_id=localstripe.card_payment_method(SUCCEEDS))
    assert result.outcome == "completed"
    method = SavedPaymentMethod.objects.get()
    assert localstripe.get(f"/v1/payment_methods/{method.provider_reference}")["customer"] == method.provider_customer


def _renew_a_month(session, until=datetime.datetime(2026, 2, 15, 12, tzinfo=datetime.UTC)):
    clock = test_clock_create(organization_id=session.organization_id, customer_id=session.customer_id,
                              frozen_time=datetime.datetime(2026, 1, 15, 12, tzinfo=datetime.UTC))
    test_clock_advance(organization_id=session.organization_id, clock_id=clock.pk, frozen_time=until)


def test_the_renewal_charges_the_saved_card_off_session_with_stripe(stripe_session, localstripe):
    session = stripe_session()
    checkout_session_confirm(session_id=session.pk, payment_method_id=localstripe.card_payment_method(SUCCEEDS))
    method = SavedPaymentMethod.objects.get()

    _renew_a_month(session)

    renewal = Invoice.objects.exclude(checkout_session=session).get()
    assert (renewal.status, renewal.total) == ("paid", Decimal("85.00"))  # 3 seats × 12 + 49, no onboarding
    payment = Payment.objects.get(invoice=renewal)
    assert (payment.status, payment.off_session, payment.saved_payment_method_id) == (
        PaymentAttemptStatus.SUCCEEDED, True, method.pk)
    off_session = [i for i in localstripe.intents_of(method.provider_customer) if i["off_session"]]
    assert [(i["id"], i["status"], i["amount"], i["payment_method"]) for i in off_session] == [
        (payment.provider_reference, "succeeded", 8500, method.provider_reference)]


def test_a_declined_renewal_records_stripes_failure_code(stripe_session, localstripe, client):
    session = _trial(stripe_session)
    secret = _setup_intent(client, session)
    localstripe.confirm_card_setup(secret, CHARGES_FAIL)  # saved fine; charges are declined
    checkout_session_confirm(session_id=session.pk, payment_method_id=secret.split("_secret_")[0])

    _renew_a_month(session, until=datetime.datetime(2026, 1, 29, 12, tzinfo=datetime.UTC))  # the trial's end

    payment = Payment.objects.get(invoice__isnull=False)
    assert (payment.status, payment.failure_code) == (PaymentAttemptStatus.FAILED, "card_declined")
    assert payment.provider_reference.startswith("pi_")
    assert Contract.objects.get().status == "past_due"


def test_a_renewal_the_bank_wants_authenticated_waits_for_the_customer(stripe_session, localstripe):
    session = stripe_session()
    pending = checkout_session_confirm(session_id=session.pk,
                                       payment_method_id=localstripe.card_payment_method(ALWAYS_AUTHENTICATE))
    localstripe.authenticate(pending.payment.client_secret, success=True)
    checkout_session_payment_sync(session_id=session.pk)  # paid on-session, card saved

    _renew_a_month(session, until=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC))

    payment = Payment.objects.get(invoice__isnull=False)  # tried once, no blind retries since
    assert (payment.status, payment.failure_code) == (PaymentAttemptStatus.FAILED, "authentication_required")
    renewal = Invoice.objects.get(pk=payment.invoice_id)
    assert (renewal.status, renewal.next_payment_attempt) == ("open", None)
    off_session = [i for i in localstripe.intents_of(payment.saved_payment_method.provider_customer)
                   if i["off_session"]]
    assert [(i["id"], i["status"]) for i in off_session] == [(payment.provider_reference, "requires_payment_method")]


def test_a_guest_trial_keeps_the_setup_intents_stripe_customer_for_the_customer_it_creates(
        client, stripe_session, localstripe):
    session = _trial(stripe_session, guest=True)
    secret = _setup_intent(client, session)
    setup_id = secret.split("_secret_")[0]
    localstripe.confirm_card_setup(secret, SUCCEEDS)

    result = checkout_session_confirm(session_id=session.pk, payment_method_id=setup_id,
                                      customer_details={"customer_name": "Grace Guest"})

    assert result.outcome == "completed"
    session.refresh_from_db()
    stripe_customer = localstripe.get(f"/v1/setup_intents/{setup_id}")["customer"]
    assert ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference == stripe_customer
    assert SavedPaymentMethod.objects.get(customer_id=session.customer_id).provider_customer == stripe_customer


def test_a_session_cannot_make_setup_intents_without_end(client, stripe_session, localstripe, monkeypatch):
    from checkout.services import card_setup

    monkeypatch.setattr(card_setup, "SETUP_INTENTS_PER_HOUR", 2)
    session = _trial(stripe_session)
    made = [_setup_intent(client, session) for _attempt in range(2)]
    before = len(localstripe.get("/v1/setup_intents?limit=10000")["data"])

    refused = client.post(reverse("checkout:setup-intent", args=[session.token]))

    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
    assert len(localstripe.get("/v1/setup_intents?limit=10000")["data"]) == before
    assert len(set(made)) == 2
