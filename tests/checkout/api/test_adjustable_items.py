"""Adjustable lines (#27): a merchant lets the buyer change a per-unit line's quantity within
bounds (``adjustable_quantity``, as Stripe's) and remove or re-add an optional add-on
(``optional``); the create validates them, the hosted page's service re-prices and re-locks the
estimate on each change, and the confirm bills the chosen items."""

import json
from decimal import Decimal

import pytest

from billing.models import Contract, Invoice
from checkout.errors import LineNotAdjustable, QuantityNotInRange
from checkout.models import CheckoutSession
from checkout.services.plan_choice import checkout_session_adjust
from tests.billing.factories import PlanItemFactory
from tests.checkout.plan_choices import yearly_plan

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

# Starter: platform 49.00 (flat) + 3 seats × 12.00 (per unit) a month, onboarding 199.00 once
# (an optional plan item); tax 10 %. Seats min 1, max 50.


def seats(m, **adjustable):
    return {"product_id": str(m.seats.id), "adjustable_quantity": {"enabled": True, **adjustable}}


def onboarding(m, **extra):
    return {"product_id": str(m.onboarding.id), "optional": True, **extra}


def adjustable_body(m, **extra):
    return plan_body(m, product_overrides=[seats(m, minimum=1, maximum=20), onboarding(m)], **extra)


def create(m, body=None) -> dict:
    response = m.post(body or adjustable_body(m))
    assert response.status_code == 201, response.content
    return response.json()


# --- the create --------------------------------------------------------------------------------


def test_create_stores_and_shows_the_adjustable_lines(merchant):
    body = create(merchant)

    assert body["product_overrides"] == [
        {"product_id": str(merchant.seats.id), "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 20}},
        {"product_id": str(merchant.onboarding.id), "optional": True},
    ]
    assert body["estimates"]["current_invoice"]["total"] == "312.40"  # (49 + 36 + 199) × 1.1
    row = CheckoutSession.objects.get(pk=body["id"])
    assert row.product_overrides == body["product_overrides"]
    assert merchant.get(f"{URL}/{body['id']}").json()["product_overrides"] == body["product_overrides"]


def test_bounds_default_to_one_and_ninety_nine(merchant):
    # Storage (volume-priced, no maximum of its own) added to the plan.
    PlanItemFactory(plan=merchant.plan, product=merchant.storage, pricing=merchant.storage_pricing,
                    default_quantity=10, min_quantity=0, max_quantity=None, position=3)
    body = create(merchant, plan_body(merchant, product_overrides=[
        {"product_id": str(merchant.storage.id), "adjustable_quantity": {"enabled": True}}]))
    assert body["product_overrides"][0]["adjustable_quantity"] == {"enabled": True, "minimum": 1, "maximum": 99}


@pytest.mark.parametrize(("override", "field", "code"), [
    # A flat fee has no quantity to choose (platform), nor has a one-time flat add-on.
    ({"adjustable_quantity": {"enabled": True}, "product": "platform"},
     "product_overrides.0.adjustable_quantity", "quantity_not_adjustable"),
    ({"adjustable_quantity": {"enabled": True}, "product": "onboarding"},
     "product_overrides.0.adjustable_quantity", "quantity_not_adjustable"),
    ({"adjustable_quantity": {"enabled": True, "minimum": 5, "maximum": 4}},
     "product_overrides.0.adjustable_quantity.maximum", "adjustable_quantity_invalid"),
    ({"adjustable_quantity": {"enabled": True, "maximum": 1000}},
     "product_overrides.0.adjustable_quantity.maximum", None),
    ({"adjustable_quantity": {"enabled": True, "minimum": -1}},
     "product_overrides.0.adjustable_quantity.minimum", None),
    # Seats: the plan item allows 1–50.
    ({"adjustable_quantity": {"enabled": True, "minimum": 0, "maximum": 10}},
     "product_overrides.0.adjustable_quantity.minimum", "adjustable_quantity_outside_plan"),
    ({"adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 60}},
     "product_overrides.0.adjustable_quantity.maximum", "adjustable_quantity_outside_plan"),
    # The initial quantity (the plan's default 3, or the one given) must be within the bounds.
    ({"adjustable_quantity": {"enabled": True, "minimum": 5, "maximum": 10}},
     "product_overrides.0.quantity", "quantity_out_of_bounds"),
    ({"quantity": 12, "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 10}},
     "product_overrides.0.quantity", "quantity_out_of_bounds"),
    ({"is_enabled": False, "adjustable_quantity": {"enabled": True}},
     "product_overrides.0.adjustable_quantity", "conflicting_fields"),
    # Only an optional plan item can be an add-on the buyer removes.
    ({"optional": True}, "product_overrides.0.optional", "item_not_optional"),
])
def test_adjustable_lines_are_validated(merchant, override, field, code):
    product = getattr(merchant, override.pop("product", "seats"))
    response = merchant.post(plan_body(merchant, product_overrides=[{"product_id": str(product.id), **override}]))

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert field in error["fields"], error
    if code is not None:
        assert error["code"] == code
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize("name", ["adjustable_quantity", "optional"])
def test_adjustable_lines_go_with_plan_based_new_contracts_only(merchant, name):
    value = {"enabled": True} if name == "adjustable_quantity" else True
    response = merchant.post({"contract_id": str(merchant.contract.id), "customer_id": str(merchant.customer.id),
                              "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 4,
                                                     name: value}]})
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("field_not_allowed", [f"product_overrides.0.{name}"])


def test_another_tenants_product_answers_as_an_unknown_id(merchant, rival):
    response = merchant.post(plan_body(merchant, product_overrides=[seats(rival)]))
    assert response.status_code == 404, response.content
    assert "product_overrides.0.product_id" in error_of(response)["fields"]

    created = create(merchant)
    assert rival.get(f"{URL}/{created['id']}").status_code == 404


def test_patch_keeps_the_adjustable_lines(merchant):
    created = create(merchant)
    response = merchant.client.patch(f"{URL}/{created['id']}", content_type="application/json",
                                     data=json.dumps({"metadata": {"cart": "42"}}))
    assert response.status_code == 200, response.content
    assert response.json()["product_overrides"] == created["product_overrides"]


# --- adjusting on the hosted page (the service) ------------------------------------------------


def test_a_new_quantity_reprices_and_relocks_the_estimate(merchant):
    created = create(merchant)

    checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): "7"})

    row = CheckoutSession.objects.get(pk=created["id"])
    current = row.estimates["current_invoice"]
    assert (current["subtotal"], current["tax"], current["total"]) == ("332.00", "33.20", "365.20")
    assert row.estimates["next_invoice"]["total"] == "146.30"  # (49 + 7 × 12) × 1.1
    assert row.amount_total == Decimal("365.20")
    assert {i["product_id"]: i["quantity"] for i in row.quote["phases"][0]["items"]}[str(merchant.seats.id)] == 7
    assert row.product_overrides[0] == {**created["product_overrides"][0], "quantity": 7}
    assert merchant.get(f"{URL}/{created['id']}").json()["amount_total"] == "365.20"


def test_an_add_on_removed_and_added_back(merchant):
    created = create(merchant)
    onboarding_id = str(merchant.onboarding.id)

    checkout_session_adjust(session_id=created["id"], included={onboarding_id: False})
    row = CheckoutSession.objects.get(pk=created["id"])
    assert row.estimates["current_invoice"]["total"] == "93.50"  # (49 + 36) × 1.1
    assert onboarding_id not in {i["product_id"] for i in row.quote["phases"][0]["items"]}

    checkout_session_adjust(session_id=created["id"], included={onboarding_id: True})
    assert CheckoutSession.objects.get(pk=created["id"]).estimates == created["estimates"]


def test_quantity_add_on_and_plan_change_together_in_one_relock(merchant):
    yearly = yearly_plan(merchant)
    created = create(merchant, adjustable_body(merchant, plan_choices=[str(merchant.plan.id), str(yearly.id)]))

    checkout_session_adjust(session_id=created["id"], plan_id=str(yearly.id),
                            quantities={str(merchant.seats.id): 10}, included={str(merchant.onboarding.id): False})

    row = CheckoutSession.objects.get(pk=created["id"])
    assert row.plan_id == yearly.id
    assert row.estimates["current_invoice"]["total"] == "1859.00"  # (490 + 10 × 120) × 1.1


def test_unchanged_values_change_nothing(merchant):
    created = create(merchant)
    before = CheckoutSession.objects.get(pk=created["id"])

    checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): "3"},
                            included={str(merchant.onboarding.id): True})

    assert CheckoutSession.objects.get(pk=created["id"]).updated_at == before.updated_at


@pytest.mark.parametrize("quantity", ["0", "21", "-1", "2.5", "abc", "", "1e3"])
def test_a_quantity_outside_the_bounds_changes_nothing(merchant, quantity):
    created = create(merchant)
    before = CheckoutSession.objects.get(pk=created["id"])

    with pytest.raises(QuantityNotInRange) as refused:
        checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): quantity})

    assert (refused.value.status, refused.value.code) == (422, "quantity_out_of_bounds")
    assert refused.value.fields == {f"quantity_{merchant.seats.id}": ["Choose a quantity from 1 to 20."]}
    after = CheckoutSession.objects.get(pk=created["id"])
    assert (after.estimates, after.product_overrides, after.updated_at) == (
        before.estimates, before.product_overrides, before.updated_at)


def test_forged_lines_change_nothing(merchant, rival):
    created = create(merchant)
    before = CheckoutSession.objects.get(pk=created["id"])

    forgeries = [
        {"quantities": {str(merchant.platform.id): "2"}},  # sold, not adjustable
        {"quantities": {str(merchant.storage.id): "2"}},  # not sold at all
        {"quantities": {str(rival.seats.id): "2"}},  # another tenant's
        {"quantities": {"not-a-uuid": "2"}},
        {"included": {str(merchant.seats.id): False}},  # not optional
        {"included": {str(merchant.platform.id): False}},
        {"included": {str(rival.onboarding.id): True}},
    ]
    for forged in forgeries:
        with pytest.raises(LineNotAdjustable) as refused:
            checkout_session_adjust(session_id=created["id"], **forged)
        assert (refused.value.status, refused.value.code) == (400, "line_not_adjustable")

    after = CheckoutSession.objects.get(pk=created["id"])
    assert (after.estimates, after.product_overrides, after.updated_at) == (
        before.estimates, before.product_overrides, before.updated_at)


def test_a_refused_line_leaves_the_valid_ones_unapplied(merchant):
    created = create(merchant)
    with pytest.raises(LineNotAdjustable):
        checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): "9"},
                                included={str(merchant.seats.id): False})
    assert CheckoutSession.objects.get(pk=created["id"]).estimates == created["estimates"]


def test_a_session_without_adjustable_lines_refuses_any(merchant):
    created = create(merchant, plan_body(merchant))
    with pytest.raises(LineNotAdjustable):
        checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): "4"})
    with pytest.raises(LineNotAdjustable):
        checkout_session_adjust(session_id=created["id"], included={str(merchant.onboarding.id): False})


def test_confirming_bills_the_shown_estimate_with_the_chosen_items(merchant):
    created = create(merchant)
    checkout_session_adjust(session_id=created["id"], quantities={str(merchant.seats.id): "7"},
                            included={str(merchant.onboarding.id): False})
    shown = CheckoutSession.objects.get(pk=created["id"]).estimates["current_invoice"]

    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                              path=f"{URL}/{created['id']}/confirm")

    assert confirmed.status_code == 200, confirmed.content
    invoice = Invoice.objects.get(checkout_session_id=created["id"])
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal(shown["subtotal"]), Decimal(shown["tax"]), Decimal(shown["total"]))
    assert invoice.total == Decimal("146.30")  # (49 + 7 × 12) × 1.1, no onboarding
    contract = Contract.objects.get(pk=confirmed.json()["contract_id"])
    items = {item.product_id: item.quantity for item in contract.phases.get().items.all()}
    assert items == {merchant.platform.id: 1, merchant.seats.id: 7}
