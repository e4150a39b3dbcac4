"""Paying an open invoice with a card new to us, with Stripe (the hosted invoice page's service,
issue #26): one on-session PaymentIntent with ``setup_future_usage=off_session`` pays the invoice
and saves the card. Against localstripe behind the Stripe double (tests/stripe_double.py:
Stripe's idempotency rules, answers lost on demand): the attempt is recorded before Stripe is
asked, a lost answer is sent again with the same key and parameters, and Stripe charges once."""

from datetime import timedelta

import pytest

from billing.collection import payments_reconcile_pending
from billing.enums import InvoiceStatus, PaymentAttemptStatus
from billing.errors import InvoicePaymentInProgress
from billing.gateway import provider_for
from billing.invoice_payments import invoice_payment_send, invoice_payment_start, invoice_payment_sync
from billing.models import Contract, Payment, ProviderCustomer, SavedPaymentMethod
from billing.payment_methods import CardMandate, customer_default_payment_method, invoice_card_mandate_text
from checkout.selectors import payment_settings_get

from .test_invoice_payments import _failed_invoice

INTENTS = "/v1/payment_intents"
SUCCEEDS, DECLINES_ON_CHARGE, ALWAYS_AUTHENTICATE = "4242424242424242", "4000000000000341", "4000002760003184"
MANDATE = CardMandate("By saving this card, you authorise Acme…", ip_address="203.0.113.5", user_agent="Chromium")


@pytest.fixture
def stripe_invoice(customer, stripe_double, stripe_mode):
    """An open invoice whose renewal was declined, its organization now in Stripe mode; and the
    provider the page uses."""
    invoice = _failed_invoice(customer)
    stripe_mode(customer.organization)
    provider = provider_for(payment_settings_get(organization_id=invoice.organization_id, livemode=False),
                            livemode=False)
    return invoice, provider


def _intents_for(localstripe, payment) -> list[dict]:
    return [i for i in localstripe.get(f"{INTENTS}?limit=10000")["data"]
            if (i.get("metadata") or {}).get("payment_id") == str(payment.pk)]


@pytest.mark.django_db(transaction=True)
def test_invoice_payment_new_card_lost_answer_is_charged_once_and_the_reconcile_saves_the_card(
        stripe_invoice, stripe_double, localstripe):
    invoice, provider = stripe_invoice
    card = localstripe.card_payment_method(SUCCEEDS)
    stripe_double.drop(3)  # Stripe charges; the answer to all three SDK tries is lost

    payment = invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=card, provider_name="stripe")
    outcome = invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=MANDATE)

    # Unknown, not failed: the attempt was recorded first and holds the invoice.
    assert outcome.status == PaymentAttemptStatus.PENDING
    payment.refresh_from_db()
    assert (payment.status, payment.provider_reference, payment.saved_payment_method_id, payment.off_session) == (
        PaymentAttemptStatus.PENDING, "", None, False)
    assert (payment.idempotency_key, payment.payment_method_reference) == (f"invoice-{invoice.pk}-page-1", card)
    with pytest.raises(InvoicePaymentInProgress):
        invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=card, provider_name="stripe")
    tries = stripe_double.posts(INTENTS)
    assert len(tries) == 3 and {t["key"] for t in tries} == {payment.idempotency_key}
    assert all(t["params"] == tries[0]["params"] for t in tries)
    stripe_customer = ProviderCustomer.objects.get(customer_id=invoice.customer_id).provider_reference
    sent = tries[0]["params"]
    assert (sent["payment_method"], sent["customer"], sent["setup_future_usage"], sent["amount"]) == (
        card, stripe_customer, "off_session", "4900")
    assert "off_session" not in sent  # the customer is there: the bank may ask for 3-D Secure
    assert len(_intents_for(localstripe, payment)) == 1  # Stripe did charge

    stripe_double.heal()
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(minutes=2))
    assert payments_reconcile_pending() == 1

    again = stripe_double.posts(INTENTS)[3]
    assert (again["key"], again["params"]) == (payment.idempotency_key, sent)
    [intent] = _intents_for(localstripe, payment)
    payment.refresh_from_db()
    invoice.refresh_from_db()
    method = SavedPaymentMethod.objects.get(provider_reference=card)
    assert (payment.status, payment.provider_reference, payment.saved_payment_method_id, payment.card_last4) == (
        PaymentAttemptStatus.SUCCEEDED, intent["id"], method.pk, "4242")
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.PAID, None)
    assert (method.provider, method.provider_customer, method.last4) == ("stripe", stripe_customer, "4242")
    # Nobody was on the page when it paid: the agreement it showed, without where it was accepted.
    assert method.mandate_text == invoice_card_mandate_text(invoice.contract.business_entity.name)
    assert Contract.objects.get(pk=invoice.contract_id).default_payment_method_id == method.pk
    assert customer_default_payment_method(customer_id=invoice.customer_id, livemode=False).pk == method.pk
    assert localstripe.get(f"/v1/payment_methods/{card}")["customer"] == stripe_customer


@pytest.mark.django_db(transaction=True)
def test_invoice_payment_new_card_needing_3ds_is_saved_only_after_authentication(stripe_invoice, localstripe):
    invoice, provider = stripe_invoice
    retry_at = invoice.next_payment_attempt

    failed = invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=localstripe.card_payment_method(
        ALWAYS_AUTHENTICATE), provider_name="stripe")
    asked = invoice_payment_send(payment_id=failed.pk, provider=provider, mandate=MANDATE)
    assert asked.needs_authentication
    localstripe.authenticate(asked.payment.client_secret, success=False)
    outcome = invoice_payment_sync(payment_id=failed.pk, provider=provider, mandate=MANDATE)

    assert (outcome.status, outcome.payment.failure_code) == ("failed", "payment_intent_authentication_failure")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, retry_at)  # dunning unchanged
    assert not SavedPaymentMethod.objects.filter(provider="stripe").exists()

    card = localstripe.card_payment_method(ALWAYS_AUTHENTICATE)
    payment = invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=card, provider_name="stripe")
    assert payment.idempotency_key == f"invoice-{invoice.pk}-page-2"  # a new attempt, a new key
    asked = invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=MANDATE)
    assert asked.needs_authentication and not SavedPaymentMethod.objects.filter(provider="stripe").exists()
    localstripe.authenticate(asked.payment.client_secret, success=True)
    outcome = invoice_payment_sync(payment_id=payment.pk, provider=provider, mandate=MANDATE)

    assert outcome.status == "succeeded"
    method = SavedPaymentMethod.objects.get(provider="stripe")
    assert (method.provider_reference, method.last4, method.mandate_text, method.mandate_ip_address,
            method.mandate_user_agent) == (card, "3184", MANDATE.text, MANDATE.ip_address, MANDATE.user_agent)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Contract.objects.get(pk=invoice.contract_id).default_payment_method_id == method.pk
    assert [i["status"] for i in _intents_for(localstripe, payment)] == ["succeeded"]


@pytest.mark.django_db(transaction=True)
def test_invoice_payment_new_card_declined_saves_nothing_and_keeps_the_schedule(stripe_invoice, localstripe):
    invoice, provider = stripe_invoice
    retry_at = invoice.next_payment_attempt

    payment = invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=localstripe.card_payment_method(
        DECLINES_ON_CHARGE), provider_name="stripe")
    outcome = invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=MANDATE)

    assert (outcome.status, outcome.payment.failure_code) == ("failed", "card_declined")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, retry_at)
    assert not SavedPaymentMethod.objects.filter(provider="stripe").exists()


@pytest.mark.django_db(transaction=True)
def test_invoice_payment_3ds_abandoned_for_an_hour_is_canceled_at_stripe_then_failed(stripe_invoice, localstripe):
    invoice, provider = stripe_invoice
    retry_at = invoice.next_payment_attempt
    payment = invoice_payment_start(invoice_id=invoice.pk, payment_method_reference=localstripe.card_payment_method(
        ALWAYS_AUTHENTICATE), provider_name="stripe")
    asked = invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=MANDATE)
    assert asked.needs_authentication

    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(minutes=30))
    assert payments_reconcile_pending() == 1  # the customer may still be in the bank's dialog: kept
    payment.refresh_from_db()
    assert payment.status == PaymentAttemptStatus.PENDING and payment.client_secret

    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(hours=1))
    assert payments_reconcile_pending() == 1

    payment.refresh_from_db()
    assert (payment.status, payment.failure_code, payment.client_secret) == (
        PaymentAttemptStatus.FAILED, "authentication_abandoned", "")
    # Canceled at Stripe first: completing 3-D Secure later cannot take money for a failed attempt.
    assert [i["status"] for i in _intents_for(localstripe, payment)] == ["canceled"]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, retry_at)
    assert not SavedPaymentMethod.objects.filter(provider="stripe").exists()
