"""A Stripe-mode session whose first amount due is more than zero but below Stripe's minimum
charge (billing.gateway.STRIPE_MINIMUM_CHARGES) is refused at create, naming the currency,
unless it can be paid by invoice: the merchant hears it before a customer reaches a page whose
card payment Stripe would refuse."""

import json
from decimal import Decimal

import pytest

from billing.enums import PricingModel
from billing.errors import AmountBelowProviderMinimum
from checkout.models import CheckoutSession
from checkout.services.plan_choice import checkout_session_adjust
from tests.billing.factories import PlanFactory, PlanItemFactory, PricingFactory, ProductFactory

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_plan(merchant):
    """0.40 USD a month; with the entity's 10 % tax, 0.44 USD due today."""
    product = ProductFactory(organization=merchant.organization, name="Tiny")
    pricing = PricingFactory(organization=merchant.organization, product=product,
                             pricing_model=PricingModel.FLAT_FEE, unit_amount=Decimal("0.40"))
    plan = PlanFactory(organization=merchant.organization, name="Tiny", code="tiny")
    PlanItemFactory(plan=plan, product=product, pricing=pricing, default_quantity=1, min_quantity=1,
                    max_quantity=1, position=0)
    return plan


def _tiny_body(merchant, plan) -> dict:
    body = plan_body(merchant)
    body["contract"]["plan_id"] = str(plan.id)
    return body


def test_a_stripe_session_below_the_minimum_is_refused_at_create(merchant, tiny_plan, stripe_mode):
    merchant.entity.allow_invoice_payment = False
    merchant.entity.save(update_fields=["allow_invoice_payment"])
    # The built-in test provider has no minimum.
    assert merchant.post(_tiny_body(merchant, tiny_plan)).status_code == 201
    CheckoutSession.objects.all().delete()
    stripe_mode(merchant.organization)

    response = merchant.post(_tiny_body(merchant, tiny_plan))

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "amount_below_provider_minimum"
    assert error["message"] == "Stripe charges at least 0.50 USD by card; the amount due, 0.44 USD, is below that."
    assert error["fields"] == {"currency": [error["message"]]}
    assert not CheckoutSession.objects.exists()
    # The merchant's usual plan (184.00 and more) is well above it.
    assert merchant.post(plan_body(merchant)).status_code == 201


def test_below_the_minimum_is_created_when_it_can_be_paid_by_invoice(merchant, tiny_plan, stripe_mode):
    stripe_mode(merchant.organization)
    assert merchant.entity.allow_invoice_payment

    response = merchant.post(_tiny_body(merchant, tiny_plan))

    assert response.status_code == 201, response.json()
    assert response.json()["estimates"]["current_invoice"]["amount_due"] == "0.44"


# --- a new price after create: PATCH and the buyer's adjustments --------------------------------


@pytest.fixture
def tiny_seats(merchant):
    """0.20 USD a seat a month, 5 seats by default, the buyer may choose 1 to 20: with the
    entity's 10 % tax, 1.10 USD due today; 2 seats would be 0.44, below Stripe's 0.50."""
    product = ProductFactory(organization=merchant.organization, name="Tiny seats")
    pricing = PricingFactory(organization=merchant.organization, product=product,
                             pricing_model=PricingModel.PER_UNIT, unit_amount=Decimal("0.20"))
    plan = PlanFactory(organization=merchant.organization, name="Tiny seats", code="tiny-seats")
    PlanItemFactory(plan=plan, product=product, pricing=pricing, default_quantity=5, min_quantity=1,
                    max_quantity=20, position=0)
    return plan, product


@pytest.fixture
def stripe_seats_session(merchant, tiny_seats, stripe_mode):
    plan, product = tiny_seats
    merchant.entity.allow_invoice_payment = False
    merchant.entity.save(update_fields=["allow_invoice_payment"])
    stripe_mode(merchant.organization)
    body = _tiny_body(merchant, plan)
    body["product_overrides"] = [{"product_id": str(product.id),
                                  "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 20}}]
    response = merchant.post(body)
    assert response.status_code == 201, response.content
    assert response.json()["estimates"]["current_invoice"]["amount_due"] == "1.10"
    return response.json(), str(product.id)


def _due(session_id) -> str:
    return CheckoutSession.objects.get(pk=session_id).estimates["current_invoice"]["amount_due"]


def test_the_buyer_cannot_adjust_a_stripe_session_below_the_minimum(stripe_seats_session):
    created, seats = stripe_seats_session

    with pytest.raises(AmountBelowProviderMinimum):
        checkout_session_adjust(session_id=created["id"], quantities={seats: "2"})

    assert _due(created["id"]) == "1.10"  # nothing changed
    checkout_session_adjust(session_id=created["id"], quantities={seats: "3"})
    assert _due(created["id"]) == "0.66"


def test_a_patch_cannot_reprice_a_stripe_session_below_the_minimum(merchant, stripe_seats_session):
    created, seats = stripe_seats_session
    overrides = [{**created["product_overrides"][0], "quantity": 2}]

    response = merchant.client.patch(f"{URL}/{created['id']}", content_type="application/json",
                                     data=json.dumps({"product_overrides": overrides}))

    assert response.status_code == 422, response.content
    assert error_of(response)["code"] == "amount_below_provider_minimum"
    assert _due(created["id"]) == "1.10"
