"""StripePaymentProvider's saved-card methods against localstripe (patched where it lacks
Stripe's behaviour: tests.localstripe_plus): the Customer, the first PaymentIntent that saves the
card, SetupIntents, and the off-session charges of renewals. Every assertion reads Stripe's side
back from the server, not our return values alone."""

import uuid
from decimal import Decimal

import pytest

from billing.gateway import ChargeRequest, ChargeStatus, StripePaymentProvider

SUCCEEDS, CHARGES_FAIL = "4242424242424242", "4000000000000341"
ALWAYS_AUTHENTICATE, AUTHENTICATE_UNTIL_SET_UP, DECLINED = "4000002760003184", "4000002500003155", "4000000000000002"


@pytest.fixture
def provider(stripe_mode):
    return StripePaymentProvider(secret_key="sk_test_local", publishable_key="pk_test_local")


@pytest.fixture
def customer(provider):
    return provider.customer_create(idempotency_key=f"customer-{uuid.uuid4()}", email="ada@example.com",
                                    name="Ada Lovelace", metadata={"customer_id": "c1"})


def _key():
    return f"test-{uuid.uuid4()}"


def _saved_by_first_payment(provider, localstripe, customer, number=SUCCEEDS):
    return provider.charge(ChargeRequest(
        amount=Decimal("184.00"), currency="USD", idempotency_key=_key(),
        payment_method_id=localstripe.card_payment_method(number), customer_reference=customer,
        save_for_future=True))


def test_customer_create_makes_a_stripe_customer_with_our_ids(provider, localstripe, customer):
    stored = localstripe.get(f"/v1/customers/{customer}")
    assert customer.startswith("cus_")
    assert (stored["email"], stored["name"], stored["metadata"]) == (
        "ada@example.com", "Ada Lovelace", {"customer_id": "c1"})


def test_a_first_payment_that_saves_the_card_sends_the_customer_and_setup_future_usage(
        provider, localstripe, customer):
    result = _saved_by_first_payment(provider, localstripe, customer)

    assert result.status == ChargeStatus.SUCCEEDED
    intent = localstripe.intent(result.reference)
    assert (intent["customer"], intent["setup_future_usage"], intent["off_session"], intent["amount"]) == (
        customer, "off_session", False, 18400)
    saved = result.saved_method
    assert (saved.brand, saved.last4, saved.exp_month, saved.exp_year, saved.customer_reference) == (
        "visa", "4242", 12, 2031, customer)
    # Stripe attaches the card to the Customer once the intent succeeded.
    assert localstripe.get(f"/v1/payment_methods/{saved.reference}")["customer"] == customer


def test_a_payment_that_does_not_save_sends_no_setup_future_usage(provider, localstripe):
    result = provider.charge(ChargeRequest(amount=Decimal("5.00"), currency="EUR", idempotency_key=_key(),
                                           payment_method_id=localstripe.card_payment_method(SUCCEEDS)))
    intent = localstripe.intent(result.reference)
    assert (result.status, intent["setup_future_usage"], intent["customer"], result.saved_method) == (
        ChargeStatus.SUCCEEDED, None, None, None)


def _off_session(provider, saved, amount="307.43"):
    return provider.charge(ChargeRequest(
        amount=Decimal(amount), currency="USD", idempotency_key=_key(), payment_method_id=saved.reference,
        customer_reference=saved.customer_reference, off_session=True))


def test_an_off_session_renewal_charges_the_saved_card_with_the_customer(provider, localstripe, customer):
    saved = _saved_by_first_payment(provider, localstripe, customer).saved_method

    result = _off_session(provider, saved)

    assert result.status == ChargeStatus.SUCCEEDED
    intent = localstripe.intent(result.reference)
    assert (intent["status"], intent["amount"], intent["currency"], intent["off_session"]) == (
        "succeeded", 30743, "usd", True)
    assert (intent["customer"], intent["payment_method"]) == (customer, saved.reference)


def test_an_off_session_decline_returns_the_failure_code(provider, localstripe, customer):
    # 0341 is saved fine (attaching succeeds); every charge of it is declined.
    saved = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(), metadata={},
                                         payment_method_id=localstripe.card_payment_method(CHARGES_FAIL)).saved_method

    result = _off_session(provider, saved)

    assert (result.status, result.failure_code) == (ChargeStatus.FAILED, "card_declined")
    assert result.reference.startswith("pi_")
    assert localstripe.intent(result.reference)["status"] == "requires_payment_method"


def test_an_off_session_charge_needing_authentication_fails_with_authentication_required(
        provider, localstripe, customer):
    setup = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(), metadata={},
                                         payment_method_id=localstripe.card_payment_method(SUCCEEDS))
    method = localstripe.card_payment_method(ALWAYS_AUTHENTICATE)
    result = provider.charge(ChargeRequest(amount=Decimal("10.00"), currency="USD", idempotency_key=_key(),
                                           payment_method_id=method, customer_reference=customer,
                                           off_session=True))
    assert setup.status == ChargeStatus.SUCCEEDED
    assert (result.status, result.failure_code) == (ChargeStatus.FAILED, "authentication_required")


def test_a_setup_intent_for_the_page_is_made_on_the_customer_for_off_session_use(provider, localstripe, customer):
    result = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(),
                                          metadata={"checkout_session_id": "cs_1"})

    assert result.status == ChargeStatus.PENDING
    assert result.client_secret.startswith(result.reference + "_secret_")
    stored = localstripe.get(f"/v1/setup_intents/{result.reference}")
    assert (stored["customer"], stored["usage"], stored["status"], stored["metadata"]) == (
        customer, "off_session", "requires_payment_method", {"checkout_session_id": "cs_1"})


def test_a_setup_intent_confirmed_on_the_page_is_read_back_with_the_card(provider, localstripe, customer):
    created = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(),
                                           metadata={"checkout_session_id": "cs_1"})
    localstripe.confirm_card_setup(created.client_secret, SUCCEEDS)

    result = provider.setup_intent_result(created.reference, metadata={"checkout_session_id": "cs_1"})

    assert result.status == ChargeStatus.SUCCEEDED
    saved = result.saved_method
    assert (saved.last4, saved.brand, saved.exp_month, saved.exp_year, saved.customer_reference) == (
        "4242", "visa", 12, 2031, customer)
    assert localstripe.get(f"/v1/payment_methods/{saved.reference}")["customer"] == customer
    # and it can be charged off-session afterwards
    assert _off_session(provider, saved, "49.00").status == ChargeStatus.SUCCEEDED


def test_a_setup_intent_made_for_another_checkout_is_refused(provider, localstripe, customer):
    created = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(),
                                           metadata={"checkout_session_id": "cs_other"})
    localstripe.confirm_card_setup(created.client_secret, SUCCEEDS)

    result = provider.setup_intent_result(created.reference, metadata={"checkout_session_id": "cs_1"})

    assert (result.status, result.failure_code, result.saved_method) == (
        ChargeStatus.FAILED, "setup_intent_invalid", None)


def test_a_setup_intent_confirmed_by_the_server_fails_when_authentication_is_needed(
        provider, localstripe, customer):
    result = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(), metadata={},
                                          payment_method_id=localstripe.card_payment_method(
                                              AUTHENTICATE_UNTIL_SET_UP))
    assert (result.status, result.failure_code) == (ChargeStatus.FAILED, "authentication_required")


def test_a_setup_intent_with_a_declined_card_fails_with_stripes_code(provider, localstripe, customer):
    result = provider.setup_intent_create(customer_reference=customer, idempotency_key=_key(), metadata={},
                                          payment_method_id=localstripe.card_payment_method(DECLINED))
    assert (result.status, result.failure_code, result.saved_method) == (ChargeStatus.FAILED, "card_declined", None)
