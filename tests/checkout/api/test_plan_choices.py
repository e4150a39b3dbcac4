"""Plan choices (#27): a merchant offers the buyer the same subscription billed monthly or
yearly; the create validates the choices, the hosted page's service switches between them,
re-pricing and re-locking the estimate, and the confirm bills the chosen plan."""

import json
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.enums import PlanStatus
from billing.models import Contract, Invoice
from checkout.errors import PlanNotOffered
from checkout.models import CheckoutSession
from checkout.services.discounts import checkout_session_promotion_code_apply
from checkout.services.plan_choice import checkout_session_plan_choose
from tests.billing.factories import PlanFactory, PlanItemFactory, PromotionCodeFactory
from tests.checkout.plan_choices import yearly_plan

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

# Starter monthly: platform 49.00 + 3 seats × 12.00 = 85.00 a month (1020.00 a year),
# onboarding 199.00 once; tax 10 %.
# Starter yearly: platform 490.00 + 3 seats × 120.00 = 850.00 a year: saves 170.00 (16 %).


def choices_body(m, yearly, **extra):
    return plan_body(m, plan_choices=[str(m.plan.id), str(yearly.id)], **extra)


def test_create_stores_and_shows_the_choices_priced_on_the_chosen_plan(merchant):
    yearly = yearly_plan(merchant)

    response = merchant.post(choices_body(merchant, yearly))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plan_choices"] == [str(merchant.plan.id), str(yearly.id)]
    assert body["plan_id"] == str(merchant.plan.id)
    assert body["estimates"]["current_invoice"]["total"] == "312.40"  # (85 + 199) × 1.1
    row = CheckoutSession.objects.get(pk=body["id"])
    assert row.plan_choices == [
        {"plan_id": str(merchant.plan.id), "name": "Starter", "months": 1, "period_amount": "85.00"},
        {"plan_id": str(yearly.id), "name": "Starter yearly", "months": 12, "period_amount": "850.00"},
    ]
    assert merchant.get(f"{URL}/{body['id']}").json()["plan_choices"] == body["plan_choices"]


def test_create_without_choices_shows_an_empty_list(merchant):
    body = merchant.post(plan_body(merchant)).json()
    assert body["plan_choices"] == []
    assert CheckoutSession.objects.get(pk=body["id"]).plan_choices == []


def test_top_level_plan_id_form_takes_choices_too(merchant):
    yearly = yearly_plan(merchant)
    response = merchant.post({"plan_id": str(yearly.id), "customer_id": str(merchant.customer.id),
                              "plan_choices": [str(merchant.plan.id), str(yearly.id)],
                              "success_url": "https://merchant.example/ok"})
    assert response.status_code == 201, response.content
    assert response.json()["estimates"]["current_invoice"]["total"] == "1153.90"  # (850 + 199) × 1.1


def test_the_chosen_plan_must_be_among_the_choices(merchant):
    yearly = yearly_plan(merchant)
    response = merchant.post(plan_body(merchant, plan_choices=[str(yearly.id), str(merchant.plan_pro.id)]))
    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (422, "plan_not_in_choices",
                                                                           ["plan_choices"])
    assert not CheckoutSession.objects.exists()


def test_a_plan_offered_twice_is_refused(merchant):
    response = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id), str(merchant.plan.id)]))
    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (422, "duplicate_plan_choice",
                                                                           ["plan_choices.1"])


def test_one_choice_is_not_a_choice(merchant):
    response = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id)]))
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["plan_choices"]


def test_another_tenants_plan_answers_as_an_unknown_id(merchant, rival):
    foreign = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id), str(rival.plan.id)]))
    unknown = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id), str(uuid.uuid4())]))
    assert foreign.status_code == unknown.status_code == 404
    foreign_error, unknown_error = error_of(foreign), error_of(unknown)
    assert foreign_error["code"] == unknown_error["code"] == "plan_not_found"
    assert foreign_error["fields"] == unknown_error["fields"] == {"plan_choices.1": ["No such plan."]}
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize(("make", "status", "code"), [
    (lambda m: yearly_plan(m, currency="EUR"), 422, "currency_mismatch"),
    (lambda m: m.plan_pro, 422, "plan_choices_same_interval"),  # monthly too
    (lambda m: PlanFactory(organization=m.organization, status=PlanStatus.ARCHIVED), 422, "plan_not_active"),
])
def test_each_choice_must_be_sellable_beside_the_plan(merchant, make, status, code):
    other = make(merchant)
    response = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id), str(other.id)]))
    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (status, code, ["plan_choices.1"])


def test_a_choice_mixing_cadences_has_no_interval_to_offer(merchant):
    mixed = yearly_plan(merchant)
    PlanItemFactory(plan=mixed, product=merchant.storage, pricing=merchant.storage_pricing,  # monthly
                    default_quantity=10, position=3)
    response = merchant.post(plan_body(merchant, plan_choices=[str(merchant.plan.id), str(mixed.id)]))
    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (422, "plan_interval_unclear",
                                                                           ["plan_choices.1"])


@pytest.mark.parametrize(("kind", "code"), [
    ("plan_switch", "field_not_allowed"),
    ("setup", "setup_mode_conflict"),
])
def test_choices_go_with_plan_based_new_contracts_only(merchant, kind, code):
    yearly = yearly_plan(merchant)
    body = {"customer_id": str(merchant.customer.id), "plan_choices": [str(merchant.plan_pro.id), str(yearly.id)]}
    if kind == "plan_switch":
        body.update(contract_id=str(merchant.contract.id), plan_id=str(merchant.plan_pro.id))
    else:
        body.update(mode="setup")
    response = merchant.post(body)
    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (422, code, ["plan_choices"])
    assert not CheckoutSession.objects.exists()


def test_overrides_must_fit_every_choice(merchant):
    yearly = yearly_plan(merchant)
    response = merchant.post(choices_body(merchant, yearly, product_overrides=[
        {"product_id": str(merchant.seats.id), "quantity": 60}]))  # over yearly's max 50 (monthly's too)
    assert response.status_code == 422
    assert error_of(response)["code"] == "quantity_out_of_bounds"


def test_patch_reprices_every_choice_and_keeps_them(merchant):
    yearly = yearly_plan(merchant)
    created = merchant.post(choices_body(merchant, yearly)).json()

    patched = merchant.client.patch(f"{URL}/{created['id']}", content_type="application/json", data=json.dumps(
        {"product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 5}]}))

    assert patched.status_code == 200, patched.content
    assert patched.json()["plan_choices"] == created["plan_choices"]
    row = CheckoutSession.objects.get(pk=created["id"])
    assert [c["period_amount"] for c in row.plan_choices] == ["109.00", "1090.00"]  # 49 + 60; 490 + 600


# --- switching on the hosted page (the service) ---------------------------------------------


def test_choosing_the_yearly_plan_reprices_and_relocks_the_estimate(merchant):
    yearly = yearly_plan(merchant)
    created = merchant.post(choices_body(merchant, yearly)).json()

    session = checkout_session_plan_choose(session_id=created["id"], plan_id=str(yearly.id))

    row = CheckoutSession.objects.get(pk=created["id"])
    assert row.plan_id == yearly.id == session.plan_id
    current = row.estimates["current_invoice"]
    assert (current["subtotal"], current["tax"], current["total"]) == ("1049.00", "104.90", "1153.90")
    assert row.estimates["next_invoice"]["total"] == "935.00"  # 850 × 1.1, a year later
    assert row.amount_total == Decimal("1153.90")
    assert row.quote["phases"][0]["plan_id"] == str(yearly.id)
    assert [c["plan_id"] for c in row.plan_choices] == created["plan_choices"]
    assert row.contract_spec["plan_id"] == str(yearly.id)
    shown = merchant.get(f"{URL}/{created['id']}").json()
    assert shown["plan_id"] == str(yearly.id) and shown["amount_total"] == "1153.90"

    checkout_session_plan_choose(session_id=created["id"], plan_id=str(merchant.plan.id))
    assert CheckoutSession.objects.get(pk=created["id"]).estimates == created["estimates"]


def test_a_plan_not_offered_changes_nothing(merchant, rival):
    yearly = yearly_plan(merchant)
    created = merchant.post(choices_body(merchant, yearly)).json()
    before = CheckoutSession.objects.get(pk=created["id"])

    for forged in (merchant.plan_pro.id, rival.plan.id, "not-a-uuid"):
        with pytest.raises(PlanNotOffered) as refused:
            checkout_session_plan_choose(session_id=created["id"], plan_id=str(forged))
        assert refused.value.status == 400 and refused.value.code == "plan_not_offered"

    after = CheckoutSession.objects.get(pk=created["id"])
    assert (after.plan_id, after.estimates, after.updated_at) == (before.plan_id, before.estimates,
                                                                  before.updated_at)


def test_a_session_without_choices_cannot_switch(merchant):
    created = merchant.post(plan_body(merchant)).json()
    with pytest.raises(PlanNotOffered):
        checkout_session_plan_choose(session_id=created["id"], plan_id=str(merchant.plan.id))


def test_a_promotion_code_entered_on_the_page_follows_the_switch(merchant):
    yearly = yearly_plan(merchant)
    PromotionCodeFactory(coupon__organization=merchant.organization, code="TENOFF",
                         coupon__percent_off=Decimal("10"), coupon__duration="forever")
    created = merchant.post(choices_body(merchant, yearly, allow_promotion_codes=True)).json()
    checkout_session_promotion_code_apply(session_id=created["id"], code="TENOFF")

    checkout_session_plan_choose(session_id=created["id"], plan_id=str(yearly.id))

    row = CheckoutSession.objects.get(pk=created["id"])
    assert row.quote["discount"]["promotion_code"] == "TENOFF"
    assert row.promotion_code_id is not None
    assert row.estimates["current_invoice"]["subtotal"] == "944.10"  # 1049 − 104.90


def test_confirming_after_the_switch_bills_the_shown_estimate_on_the_chosen_plan(merchant):
    yearly = yearly_plan(merchant)
    created = merchant.post(choices_body(merchant, yearly)).json()
    checkout_session_plan_choose(session_id=created["id"], plan_id=str(yearly.id))
    shown = CheckoutSession.objects.get(pk=created["id"]).estimates["current_invoice"]

    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                              path=f"{URL}/{created['id']}/confirm")

    assert confirmed.status_code == 200, confirmed.content
    invoice = Invoice.objects.get(checkout_session_id=created["id"])
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal(shown["subtotal"]), Decimal(shown["tax"]), Decimal(shown["total"]))
    assert invoice.total == Decimal("1153.90")
    assert Contract.objects.get(pk=confirmed.json()["contract_id"]).plan_id == yearly.id


@pytest.mark.django_db(transaction=True)
def test_offering_a_second_plan_costs_one_query_more(merchant):
    yearly = yearly_plan(merchant)
    merchant.get(limit=1)  # the key's first use writes last_used_at: measure the steady state
    counts = []
    for body in (plan_body(merchant), choices_body(merchant, yearly)):
        with CaptureQueriesContext(connection) as ctx:
            assert merchant.post(body).status_code == 201
        counts.append(len(ctx.captured_queries))
    assert counts[1] == counts[0] + 1  # the yearly plan with its items: one join
