"""#28: a session's totals at the top level, ``customer_email`` prefill for guests, and the
seeds' conformance (``product_quantities``, ``customer`` beside an existing ``customer_id``,
PATCH's refusal of ``customer`` naming the field)."""

import json
from decimal import Decimal

import pytest

from checkout.models import CheckoutSession
from tests.billing.factories import CouponFactory

from .conftest import URL, URLS, error_of, plan_body

pytestmark = pytest.mark.django_db


def _guest(m, **extra):
    return {"plan_id": str(m.plan.id), "guest_checkout": True, "business_entity_id": str(m.entity.id),
            "customer": {"customer_name": "Ada Lovelace"}, **URLS, **extra}


def test_top_level_totals_are_the_current_invoice_with_the_discount_apart(merchant):
    coupon = CouponFactory(organization=merchant.organization, percent_off=Decimal("25"), duration="forever")

    session = merchant.post(plan_body(merchant, discounts=[{"coupon_id": str(coupon.id)}])).json()

    current = session["estimates"]["current_invoice"]
    discount = -sum(Decimal(line["amount"]) for line in current["line_items"] if line["kind"] == "discount")
    assert discount > 0
    # Starter: 49.00 platform + 3 seats × 12.00 = 85.00 a month, prorated from 15 January.
    assert Decimal(session["amount_subtotal"]) == Decimal(current["subtotal"]) + discount
    assert Decimal(session["amount_discount"]) == discount
    assert session["amount_tax"] == current["tax"]
    assert session["amount_total"] == current["total"]
    assert session["amount_due"] == current["amount_due"]
    assert (Decimal(session["amount_subtotal"]) - Decimal(session["amount_discount"])
            + Decimal(session["amount_tax"])) == Decimal(session["amount_total"])
    for name in ("amount_subtotal", "amount_discount", "amount_tax", "amount_total", "amount_due"):
        assert Decimal(session[name]).as_tuple().exponent == -2, (name, session[name])  # USD: cents


def test_totals_without_a_discount_show_a_zero_discount_in_the_currency_s_units(merchant):
    session = merchant.post(plan_body(merchant)).json()
    assert session["amount_discount"] == "0.00"
    assert session["amount_subtotal"] == session["estimates"]["current_invoice"]["subtotal"]
    assert merchant.get(f"{URL}/{session['id']}").json()["amount_total"] == session["amount_total"]


def test_customer_email_prefills_the_guest_s_details(merchant):
    response = merchant.post(_guest(merchant, customer_email="ada@example.com"))

    assert response.status_code == 201, response.content
    assert response.json()["customer"]["email"] == "ada@example.com"
    session = CheckoutSession.objects.get(pk=response.json()["id"])
    assert session.customer_details["email"] == "ada@example.com"
    assert session.customer_details["customer_name"] == "Ada Lovelace"


@pytest.mark.parametrize("make, code", [
    (lambda m: plan_body(m, customer_email="ada@example.com"), "field_not_allowed"),
    (lambda m: _guest(m, customer_email="ada@example.com",
                      customer={"customer_name": "Ada", "email": "other@example.com"}), "conflicting_fields"),
    (lambda m: _guest(m, customer_email="not an email"), "invalid_email"),
])
def test_customer_email_refusals_name_the_field(merchant, make, code):
    response = merchant.post(make(merchant))
    assert (response.status_code, error_of(response)["code"]) == (422, code), response.content
    assert "customer_email" in error_of(response)["fields"]
    assert not CheckoutSession.objects.exists()


def _quantity_update(m, **extra):
    return {"contract_id": str(m.contract.id), "customer_id": str(m.customer.id), **URLS, **extra}


def test_product_quantities_is_product_overrides(merchant):
    quantities = [{"product_id": str(merchant.seats.id), "quantity": 5}]
    aliased = merchant.post(_quantity_update(merchant, product_quantities=quantities))
    named = merchant.post(_quantity_update(merchant, product_overrides=quantities))

    assert aliased.status_code == 201, aliased.content
    assert aliased.json()["checkout_type"] == "quantity_update"
    assert aliased.json()["product_overrides"] == named.json()["product_overrides"]
    assert aliased.json()["estimates"] == named.json()["estimates"]


def test_product_quantities_beside_product_overrides_is_422(merchant):
    quantities = [{"product_id": str(merchant.seats.id), "quantity": 5}]
    response = merchant.post(_quantity_update(merchant, product_quantities=quantities, product_overrides=quantities))
    assert (response.status_code, error_of(response)["code"]) == (422, "conflicting_fields")
    assert "product_quantities" in error_of(response)["fields"]


def test_customer_details_beside_an_existing_customer_are_refused_not_ignored(merchant):
    response = merchant.post(plan_body(merchant, customer={"customer_name": "Someone Else"}))
    assert (response.status_code, error_of(response)["code"]) == (422, "field_not_allowed")
    assert "customer" in error_of(response)["fields"]
    assert not CheckoutSession.objects.exists()


def test_patch_refusing_customer_names_the_field(merchant):
    created = merchant.post(plan_body(merchant)).json()
    response = merchant.client.patch(f"{URL}/{created['id']}", data=json.dumps({"customer": {"customer_name": "X"}}),
                                     content_type="application/json")
    assert (response.status_code, error_of(response)["code"]) == (422, "field_not_allowed")
    assert list(error_of(response)["fields"]) == ["customer"]
