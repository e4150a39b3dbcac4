"""Stripe's minimum charge per currency (billing.gateway.STRIPE_MINIMUM_CHARGES), checked against
its documentation, https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts ("USD
$0.50", "GBP £0.30", "JPY ¥50", "HUF 175.00 Ft", …), against the Stripe double (which refuses
an intent below it as Stripe does: 400 ``amount_too_small``, "Amount must be at least $0.50
usd"), and in the product: a card checkout below it is refused before Stripe is asked, and a
renewal invoice below it is not charged, not dunned, and left open with the reason."""

import datetime
import json
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from billing.collection import AMOUNT_BELOW_PROVIDER_MINIMUM
from billing.enums import PaymentAttemptStatus, PricingModel
from billing.gateway import (
    STRIPE_MINIMUM_CHARGES,
    ChargeRequest,
    ChargeStatus,
    StripePaymentProvider,
    amount_in_minor_units,
    stripe_below_minimum,
    stripe_minimum_check,
)
from billing.models import Contract, Invoice, Payment
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession, Event
from checkout.services.confirm import checkout_session_confirm
from core.errors import DomainError
from tests.checkout.pages.helpers import ONBOARDING, priced_session

D = Decimal
SUCCEEDS = "4242424242424242"
INTENTS = "/v1/payment_intents"
# Stripe's table, as its page shows it (major units).
DOCUMENTED = {
    "USD": "0.50", "AED": "2.00", "AUD": "0.50", "BGN": "1.00", "BRL": "0.50", "CAD": "0.50", "CHF": "0.50",
    "CZK": "15.00", "DKK": "2.50", "EUR": "0.50", "GBP": "0.30", "HKD": "4.00", "HUF": "175.00", "INR": "0.50",
    "JPY": "50", "MXN": "10", "MYR": "2", "NOK": "3.00", "NZD": "0.50", "PLN": "2.00", "RON": "2.00",
    "SEK": "3.00", "SGD": "0.50", "THB": "10",
}


def tiny(amount: str) -> tuple:
    return ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": D(amount), "product__name": "Tiny"}, 1)


def test_the_table_is_stripes_documented_minimums():
    assert {code: str(amount) for code, amount in STRIPE_MINIMUM_CHARGES.items()} == DOCUMENTED


@pytest.mark.parametrize("currency, sent", [
    ("USD", 50), ("EUR", 50), ("GBP", 30), ("JPY", 50), ("CAD", 50), ("AUD", 50), ("CHF", 50),
    ("HUF", 17500), ("CZK", 1500), ("MXN", 1000), ("HKD", 400),
])
def test_each_minimum_is_sent_to_stripe_in_its_minor_units(currency, sent):
    assert amount_in_minor_units(STRIPE_MINIMUM_CHARGES[currency], currency) == sent


@pytest.mark.parametrize("amount, currency, below", [
    (D("0.49"), "USD", True), (D("0.50"), "USD", False), (D("0.01"), "EUR", True),
    (D("0.29"), "GBP", True), (D("0.30"), "GBP", False), (D("0.49"), "GBP", False),
    (D("49"), "JPY", True), (D("50"), "JPY", False), (D("174.99"), "HUF", True), (D("175.00"), "HUF", False),
    (D("0"), "USD", False),  # nothing due is not a charge
    (D("0.010"), "KWD", False),  # no documented minimum: not refused here
])
def test_amounts_below_the_minimum_are_told_apart(amount, currency, below):
    assert stripe_below_minimum(amount, currency) is below
    assert bool(stripe_minimum_check(amount, currency)) is below


def test_the_reason_names_the_minimum_and_the_amount_due():
    assert stripe_minimum_check(D("0.3000"), "usd") == (
        "Stripe charges at least 0.50 USD by card; the amount due, 0.30 USD, is below that.")


@pytest.mark.parametrize("amount, currency, message", [
    (49, "usd", "Amount must be at least $0.50 usd"),
    (29, "gbp", "Amount must be at least £0.30 gbp"),
    (49, "jpy", "Amount must be at least ¥50 jpy"),
])
def test_the_double_refuses_an_intent_below_the_minimum_as_stripe_does(stripe_double, amount, currency, message):
    request = urllib.request.Request(
        f"{stripe_double.base}{INTENTS}", data=f"amount={amount}&currency={currency}".encode(), method="POST",
        headers={"Authorization": "Bearer sk_test_local", "Idempotency-Key": f"min-{currency}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert json.load(refused.value)["error"] == {
        "type": "invalid_request_error", "code": "amount_too_small", "message": message}


def test_the_provider_reports_stripes_refusal_as_a_failure_nothing_charged(stripe_double, localstripe):
    provider = StripePaymentProvider(secret_key="sk_test_local")
    method = localstripe.card_payment_method(SUCCEEDS)

    result = provider.charge(ChargeRequest(amount=D("0.49"), currency="USD", idempotency_key="min-provider",
                                           payment_method_id=method))

    assert (result.status, result.failure_code, result.reference) == (
        ChargeStatus.FAILED, "provider_amount_too_small", "")
    ok = provider.charge(ChargeRequest(amount=D("0.50"), currency="USD", idempotency_key="min-provider-ok",
                                       payment_method_id=localstripe.card_payment_method(SUCCEEDS)))
    assert ok.status == ChargeStatus.SUCCEEDED
    assert localstripe.intent(ok.reference)["amount"] == 50


@pytest.mark.django_db
def test_a_card_confirm_below_the_minimum_is_refused_before_stripe_is_asked(stripe_double, stripe_mode,
                                                                           localstripe):
    # Created payable by invoice (so the create let it through); the card cannot take 0.30 USD.
    session = priced_session(specs=(tiny("0.30"),), allow_invoice=True)
    stripe_mode(session.organization)

    with pytest.raises(DomainError) as refused:
        checkout_session_confirm(session_id=session.pk, payment_method_id=localstripe.card_payment_method(SUCCEEDS))

    assert (refused.value.code, refused.value.status) == ("amount_below_provider_minimum", 422)
    assert refused.value.fields == {"currency": [
        "Stripe charges at least 0.50 USD by card; the amount due, 0.30 USD, is below that."]}
    assert not stripe_double.posts(INTENTS)
    assert not Payment.objects.exists()
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.OPEN
    # By invoice it goes through.
    assert checkout_session_confirm(session_id=session.pk, payment_method="invoice").outcome == "completed"


@pytest.mark.django_db
def test_a_renewal_below_the_minimum_is_not_charged_not_dunned_and_left_open(stripe_double, stripe_mode,
                                                                            localstripe):
    from billing.test_clocks import test_clock_advance, test_clock_create

    # 99.00 onboarding + 0.30 a month today (charged, card saved); the renewal is 0.30 alone.
    session = priced_session(specs=(tiny("0.30"), ONBOARDING), success_url="https://merchant.example/ok")
    stripe_mode(session.organization)
    first = checkout_session_confirm(session_id=session.pk,
                                     payment_method_id=localstripe.card_payment_method(SUCCEEDS))
    assert first.outcome == "completed"
    intents_before = len(stripe_double.posts(INTENTS))
    clock = test_clock_create(organization_id=session.organization_id, customer_id=session.customer_id,
                              frozen_time=datetime.datetime(2026, 1, 15, 12, tzinfo=datetime.UTC))

    test_clock_advance(organization_id=session.organization_id, clock_id=clock.pk,
                       frozen_time=datetime.datetime(2026, 2, 15, 12, tzinfo=datetime.UTC))

    renewal = Invoice.objects.exclude(checkout_session=session).get()
    assert (renewal.status, renewal.amount_due, renewal.next_payment_attempt) == ("open", D("0.30"), None)
    payment = Payment.objects.get(invoice=renewal)
    assert (payment.status, payment.failure_code, payment.provider_reference) == (
        PaymentAttemptStatus.FAILED, AMOUNT_BELOW_PROVIDER_MINIMUM, "")
    assert payment.failure_message == (
        "Not charged: Stripe charges at least 0.50 USD by card; the amount due, 0.30 USD, is below that.")
    assert len(stripe_double.posts(INTENTS)) == intents_before  # Stripe was never asked
    contract = Contract.objects.get()
    assert contract.status == "active"  # no dunning: nothing the customer did
    assert renewal.first_failed_at is None
    # The merchant is told, once, with the reason and no retry; the customer gets no email.
    [told] = Event.objects.filter(type="invoice.payment_failed", object_id=renewal.pk)
    assert (told.payload["failure_code"], told.payload["next_payment_attempt"], told.payload["object"]["status"]) == (
        AMOUNT_BELOW_PROVIDER_MINIMUM, None, "open")
    assert not Event.objects.filter(type="contract.past_due").exists()
