"""Each checkout type end to end: request → 201 body → stored row, with estimates that are
exactly what the pricing engine computes from billing's own selectors."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings

from billing.estimates import (
    estimate_contract_change,
    estimate_new_contract,
    quote_from_plan,
    quote_items_for_quantity_update,
    quote_items_from_plan,
)
from billing.selectors import contract_snapshot_get, plan_snapshot_get
from checkout.enums import CheckoutType, PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from tests.checkout.api.conftest import CHANGE, START, URLS, plan_body

pytestmark = pytest.mark.django_db

PRODUCT_MD_FIELDS = {
    "id",
    "organization_id",
    "object",
    "checkout_type",
    "status",
    "payment_status",
    "url",
    "plan_id",
    "contract_id",
    "start_date",
    "end_date",
    "customer_id",
    "business_entity_id",
    "guest_checkout",
    "customer",
    "currency",
    "product_overrides",
    "success_url",
    "cancel_url",
    "pending_url",
    "attribution",
    "metadata",
    "trace_id",
    "expires_at",
    "created_at",
    "updated_at",
    "estimates",
}


def _created(response) -> tuple[dict, CheckoutSession]:
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert PRODUCT_MD_FIELDS <= set(body)
    session = CheckoutSession.objects.get(pk=body["id"])
    assert body["object"] == "checkout_session"
    assert (body["status"], body["payment_status"]) == (
        SessionStatus.OPEN,
        PaymentStatus.NOT_STARTED,
    )
    assert body["url"] == f"{settings.PUBLIC_BASE_URL}/pay/{session.token}"
    assert body["id"] not in body["url"] and len(session.token) >= 40
    assert body["estimates"] == session.estimates
    return body, session


def test_create_plan_based_contract_new_contract(merchant):
    overrides = [{"product_id": str(merchant.seats.id), "quantity": 5}]
    body, session = _created(
        merchant.post(
            plan_body(
                merchant,
                product_overrides=overrides,
                metadata={"order": "A-1"},
                attribution={"utm_source": "newsletter", "referrer": "https://news.example/"},
            )
        )
    )

    assert body["checkout_type"] == CheckoutType.NEW_CONTRACT
    assert body["organization_id"] == str(merchant.organization.id)
    assert (body["plan_id"], body["contract_id"]) == (str(merchant.plan.id), None)
    assert (body["customer_id"], body["business_entity_id"]) == (
        str(merchant.customer.id),
        str(merchant.entity.id),
    )
    assert (body["currency"], body["start_date"], body["end_date"]) == (
        "USD",
        START.isoformat(),
        None,
    )
    assert body["product_overrides"] == overrides
    assert body["metadata"] == {"order": "A-1"}
    assert body["attribution"] == {"utm_source": "newsletter", "referrer": "https://news.example/"}
    assert (body["success_url"], body["cancel_url"], body["pending_url"]) == (
        URLS["success_url"],
        URLS["cancel_url"],
        None,
    )
    assert body["contract"]["is_plan_based"] is True
    assert (session.checkout_type, session.plan_id, session.customer_id) == (
        CheckoutType.NEW_CONTRACT,
        merchant.plan.id,
        merchant.customer.id,
    )
    # 49.00 platform + 5 × 12.00 seats + 199.00 onboarding, 10 % tax.
    current = body["estimates"]["current_invoice"]
    assert (current["subtotal"], current["tax"], current["total"], current["amount_due"]) == (
        "308.00",
        "30.80",
        "338.80",
        "338.80",
    )
    assert body["estimates"]["next_invoice"]["total"] == "119.90"
    plan = plan_snapshot_get(organization_id=merchant.organization.id, plan_id=merchant.plan.id)
    quote = quote_from_plan(plan=plan, start_date=START, overrides=overrides)
    assert session.quote == quote.to_json()
    assert body["estimates"] == estimate_new_contract(quote=quote, tax_rate=Decimal("10")).to_json()


def test_create_top_level_plan_id_new_contract_takes_currency_and_today_from_plan(merchant):
    body, session = _created(
        merchant.post(
            {"plan_id": str(merchant.plan_eur.id), "customer_id": str(merchant.customer.id), **URLS}
        )
    )

    assert body["checkout_type"] == CheckoutType.NEW_CONTRACT
    assert (body["plan_id"], body["currency"]) == (str(merchant.plan_eur.id), "EUR")
    assert body["start_date"] == datetime.date.today().isoformat()
    assert body["contract"] is None
    assert body["estimates"]["current_invoice"]["currency"] == "EUR"
    assert body["estimates"]["current_invoice"]["subtotal"] == "45.00"


def test_create_product_based_contract_with_catalogue_and_inline_pricings(merchant):
    request = {
        "contract": {
            "is_plan_based": False,
            "currency": "USD",
            "start_date": START.isoformat(),
            "end_date": "2027-01-15",
            "phases": [
                {
                    "name": "Ramp",
                    "start_date": START.isoformat(),
                    "end_date": "2026-04-15",
                    "pricings": [
                        {
                            "product_id": str(merchant.seats.id),
                            "pricing_id": str(merchant.seats_pricing.id),
                            "quantity": 2,
                        }
                    ],
                },
                {
                    "name": "Full",
                    "pricings": [
                        {
                            "product_id": str(merchant.seats.id),
                            "pricing_id": str(merchant.seats_pricing.id),
                            "quantity": 10,
                        },
                        {
                            "product_id": str(merchant.storage.id),
                            "quantity": 12,
                            "pricing": {
                                "pricing_model": "tiered",
                                "billing": "recurring",
                                "cadence": "P1M",
                                "timing": "in_advance",
                                "tiers": [
                                    {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
                                    {"up_to": None, "unit_amount": "4.00"},
                                ],
                            },
                        },
                    ],
                },
            ],
        },
        "customer_id": str(merchant.customer.id),
        **URLS,
    }
    body, session = _created(merchant.post(request))

    assert body["checkout_type"] == CheckoutType.NEW_CONTRACT
    assert (body["plan_id"], body["end_date"]) == (None, "2027-01-15")
    assert body["contract"]["phases"][1]["pricings"][1]["pricing"]["tiers"][1]["up_to"] is None
    assert [p["name"] for p in session.quote["phases"]] == ["Ramp", "Full"]
    assert session.quote["phases"][1]["start_date"] == "2026-04-15"
    # First month: 2 seats × 12.00 = 24.00 + 10 % tax.
    assert body["estimates"]["current_invoice"]["total"] == "26.40"
    lines = body["estimates"]["current_invoice"]["line_items"]
    assert [(line["name"], line["amount"]) for line in lines] == [("Seats", "24.00")]


def test_create_guest_checkout_stores_customer_details_without_a_customer(merchant):
    customer = {
        "customer_name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7123 4567",
        "address": {"line1": "12 St James's Sq", "city": "London", "country": "gb"},
        "tax_info": [{"type": "gb_vat", "value": "GB980780684"}],
    }
    body, session = _created(
        merchant.post(
            {
                "plan_id": str(merchant.plan.id),
                "guest_checkout": True,
                "business_entity_id": str(merchant.entity.id),
                "customer": customer,
                **URLS,
            }
        )
    )

    assert (body["guest_checkout"], body["customer_id"]) == (True, None)
    assert body["customer"]["phone_number"] == "+442071234567"
    assert body["customer"]["address"]["country"] == "GB"
    assert session.customer_details["customer_name"] == "Ada Lovelace"
    assert session.customer_id is None
    assert body["business_entity_id"] == str(merchant.entity.id)


@pytest.mark.parametrize(("extra", "stored"), [
    # Nothing known: the page asks for everything.
    ({}, None),
    # An email only (Stripe's customer_email): stored as the guest's email, the page prefills it.
    ({"customer_email": "ada@example.com"}, {"email": "ada@example.com"}),
    # A customer without a name: the page asks for the name.
    ({"customer": {"email": "ada@example.com", "address": {"country": "DE"}}},
     {"email": "ada@example.com", "address": {"country": "DE"}}),
    ({"customer": {"address": {"country": "DE"}}, "customer_email": "ada@example.com"},
     {"email": "ada@example.com", "address": {"country": "DE"}}),
    # The same email twice (any case) is not a conflict.
    ({"customer": {"email": "Ada@example.com"}, "customer_email": "ada@example.com"}, {"email": "ada@example.com"}),
])
def test_create_guest_checkout_for_a_guest_the_merchant_knows_little_about(merchant, extra, stored):
    body, session = _created(merchant.post({
        "plan_id": str(merchant.plan.id), "guest_checkout": True, "business_entity_id": str(merchant.entity.id),
        **extra, **URLS}))
    assert session.customer_details == stored
    assert body["customer"] == stored
    assert (body["guest_checkout"], body["customer_id"]) == (True, None)


def test_create_plan_switch(merchant):
    body, session = _created(
        merchant.post(
            {
                "contract_id": str(merchant.contract.id),
                "plan_id": str(merchant.plan_pro.id),
                "start_date": CHANGE.isoformat(),
                **URLS,
            }
        )
    )

    assert body["checkout_type"] == CheckoutType.PLAN_SWITCH
    assert (body["plan_id"], body["contract_id"]) == (
        str(merchant.plan_pro.id),
        str(merchant.contract.id),
    )
    assert body["customer_id"] == str(merchant.customer.id)
    assert (body["start_date"], body["end_date"]) == (CHANGE.isoformat(), None)
    contract = contract_snapshot_get(
        organization_id=merchant.organization.id, contract_id=merchant.contract.id, on=CHANGE
    )
    plan = plan_snapshot_get(organization_id=merchant.organization.id, plan_id=merchant.plan_pro.id)
    expected = estimate_contract_change(
        contract=contract, new_items=quote_items_from_plan(plan), change_date=CHANGE
    )
    assert body["estimates"] == expected.to_json()
    kinds = {line["kind"] for line in body["estimates"]["current_invoice"]["line_items"]}
    assert {"credit", "charge"} <= kinds
    assert session.quote["phases"][0]["plan_id"] == str(merchant.plan_pro.id)


def test_create_quantity_update(merchant):
    overrides = [{"product_id": str(merchant.seats.id), "quantity": 8}]
    body, session = _created(
        merchant.post(
            {
                "contract_id": str(merchant.contract.id),
                "product_overrides": overrides,
                "start_date": CHANGE.isoformat(),
                "customer_id": str(merchant.customer.id),
                **URLS,
            }
        )
    )

    assert body["checkout_type"] == CheckoutType.QUANTITY_UPDATE
    assert (body["plan_id"], body["contract_id"]) == (
        str(merchant.plan.id),
        str(merchant.contract.id),
    )
    contract = contract_snapshot_get(
        organization_id=merchant.organization.id, contract_id=merchant.contract.id, on=CHANGE
    )
    items = quote_items_for_quantity_update(contract=contract, overrides=overrides)
    expected = estimate_contract_change(contract=contract, new_items=items, change_date=CHANGE)
    assert body["estimates"] == expected.to_json()
    seats = [
        line
        for line in session.quote["phases"][0]["items"]
        if line["product_id"] == str(merchant.seats.id)
    ]
    assert seats[0]["quantity"] == 8


def test_create_trace_id_in_body_wins_and_is_echoed(merchant):
    response = merchant.post(
        plan_body(merchant, trace_id="order-42.attempt:1"), HTTP_X_REQUEST_ID="hdr-1"
    )

    body, session = _created(response)
    assert body["trace_id"] == session.trace_id == "order-42.attempt:1"
    assert response["X-Request-Id"] == "order-42.attempt:1"


def test_create_x_request_id_header_is_the_trace_id(merchant):
    response = merchant.post(plan_body(merchant), HTTP_X_REQUEST_ID="hdr-77")

    body, _ = _created(response)
    assert body["trace_id"] == "hdr-77" == response["X-Request-Id"]


def test_create_error_carries_the_body_trace_id(merchant):
    response = merchant.post(plan_body(merchant, trace_id="trace-9", customer_id="nope"))

    assert response.json()["error"]["trace_id"] == "trace-9"
