"""Detaching a saved payment method reaches the provider: Stripe detaches the PaymentMethod from
its Customer (https://docs.stripe.com/api/payment_methods/detach: "it can no longer be used for a
payment or re-attached to a Customer"), told after commit and asked again by the beat until it
answers; ``payment_method.detached`` announces it. Stripe's side is read back from localstripe."""

import uuid
from decimal import Decimal

import pytest

from billing.enums import PaymentProviderName, SavedPaymentMethodStatus
from billing.gateway import ChargeRequest, StripePaymentProvider
from billing.models import PaymentSettings, SavedPaymentMethod
from billing.payment_methods import (
    saved_payment_method_attach,
    saved_payment_method_detach,
    saved_payment_method_provider_detach,
    saved_payment_methods_provider_detach_due,
)
from checkout.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stripe_card(stripe_mode, localstripe, organization, customer):
    """A card saved with Stripe by a first payment, recorded as the customer's default."""
    stripe_mode(organization)
    provider = StripePaymentProvider(secret_key="sk_test_local")
    stripe_customer = provider.customer_create(idempotency_key=f"customer-{uuid.uuid4()}", metadata={})
    charged = provider.charge(ChargeRequest(
        amount=Decimal("49.00"), currency="USD", idempotency_key=f"first-{uuid.uuid4()}",
        payment_method_id=localstripe.card_payment_method("4242424242424242"),
        customer_reference=stripe_customer, save_for_future=True))
    method = saved_payment_method_attach(
        organization_id=organization.pk, customer_id=customer.pk, livemode=False,
        provider=PaymentProviderName.STRIPE, saved=charged.saved_method, mandate_text="By subscribing…")
    assert localstripe.get(f"/v1/payment_methods/{method.provider_reference}")["customer"] == stripe_customer
    return method


def _detach(method):
    return saved_payment_method_detach(organization_id=method.organization_id, livemode=False, method_id=method.pk)


def test_a_detached_stripe_card_leaves_its_stripe_customer_and_is_announced(stripe_card, localstripe):
    detached = _detach(stripe_card)
    assert (detached.status, detached.provider_detached_at) == (SavedPaymentMethodStatus.DETACHED, None)
    event = Event.objects.get(type="payment_method.detached", object_id=stripe_card.pk)
    assert (event.object_type, event.payload["object"]["id"], event.payload["object"]["status"]) == (
        "payment_method", str(stripe_card.pk), "detached")

    assert saved_payment_method_provider_detach(method_id=stripe_card.pk) is True

    assert localstripe.get(f"/v1/payment_methods/{stripe_card.provider_reference}")["customer"] is None
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is not None
    # Told once: a second pass has nothing to do and sends nothing.
    assert saved_payment_methods_provider_detach_due() == 0


def test_stripe_not_answering_leaves_the_detach_to_the_beat(stripe_card, stripe_double, localstripe):
    _detach(stripe_card)
    stripe_double.unreachable(3, path="/v1/payment_methods")  # the SDK's first try and its two retries

    assert saved_payment_method_provider_detach(method_id=stripe_card.pk) is False
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is None
    assert localstripe.get(f"/v1/payment_methods/{stripe_card.provider_reference}")["customer"]

    assert saved_payment_methods_provider_detach_due() == 1  # Stripe answers again
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is not None
    assert localstripe.get(f"/v1/payment_methods/{stripe_card.provider_reference}")["customer"] is None


def test_a_card_stripe_already_forgot_counts_as_detached(stripe_card, localstripe):
    localstripe.secret_post(f"/v1/payment_methods/{stripe_card.provider_reference}/detach", "")
    _detach(stripe_card)
    assert saved_payment_methods_provider_detach_due() == 1
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is not None


def test_settings_deleted_meanwhile_do_not_keep_it_pending_forever(stripe_card):
    _detach(stripe_card)
    PaymentSettings.objects.filter(organization_id=stripe_card.organization_id).delete()
    assert saved_payment_methods_provider_detach_due() == 1
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is not None


def test_an_active_method_is_never_sent_to_the_provider(stripe_card, localstripe):
    assert saved_payment_method_provider_detach(method_id=stripe_card.pk) is True
    assert localstripe.get(f"/v1/payment_methods/{stripe_card.provider_reference}")["customer"]
    assert SavedPaymentMethod.objects.get(pk=stripe_card.pk).provider_detached_at is None
