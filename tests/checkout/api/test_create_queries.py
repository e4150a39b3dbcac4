"""Create's query count: at most 7 (auth and idempotency included, BEGIN/COMMIT counted as
Django counts them), whatever the plan's size.

Transactional tests, so what is measured is what production runs (no test-wrapping savepoints).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.billing.factories import PlanFactory, PlanItemFactory, PricingFactory, ProductFactory
from tests.checkout.api.conftest import CHANGE, URLS, plan_body

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET = 7


def _queries(merchant, body, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = merchant.post(body, **headers)
    assert response.status_code == 201, response.content
    return len(ctx.captured_queries)


def _warm(merchant):
    """The key's first use writes last_used_at (once a minute); measure the steady state."""
    merchant.get(limit=1)


def _big_plan(merchant, items: int):
    plan = PlanFactory(organization=merchant.organization, name="Big", code="big")
    for n in range(items):
        product = ProductFactory(organization=merchant.organization)
        PlanItemFactory(
            plan=plan,
            product=product,
            pricing=PricingFactory(organization=merchant.organization, product=product),
            position=n,
        )
    return plan


def test_create_query_count_is_bounded_and_independent_of_plan_size(merchant):
    _warm(merchant)
    big = _big_plan(merchant, 40)
    small_body = plan_body(merchant)
    big_body = plan_body(merchant)
    big_body["contract"]["plan_id"] = str(big.id)

    small = _queries(merchant, small_body, HTTP_IDEMPOTENCY_KEY="small")
    large = _queries(merchant, big_body, HTTP_IDEMPOTENCY_KEY="large")
    without_key = _queries(merchant, plan_body(merchant))

    # key, claim, customer, plan with its items, one statement for the session + stored response
    assert small == large == 5 <= BUDGET
    assert without_key == 4  # no claim; a plain INSERT


@pytest.mark.parametrize(
    "kind", ["top_level_plan", "guest", "product_based", "plan_switch", "quantity_update"]
)
def test_create_every_checkout_type_stays_within_budget(merchant, kind):
    _warm(merchant)
    body = {
        "top_level_plan": {
            "plan_id": str(merchant.plan.id),
            "customer_id": str(merchant.customer.id),
        },
        "guest": {
            "plan_id": str(merchant.plan.id),
            "guest_checkout": True,
            "business_entity_id": str(merchant.entity.id),
            "customer": {"customer_name": "Guest"},
        },
        "product_based": {
            "customer_id": str(merchant.customer.id),
            "contract": {
                "is_plan_based": False,
                "currency": "USD",
                "start_date": "2026-01-15",
                "phases": [
                    {
                        "pricings": [
                            {
                                "product_id": str(merchant.seats.id),
                                "pricing_id": str(merchant.seats_pricing.id),
                            },
                            {
                                "product_id": str(merchant.storage.id),
                                "pricing": {
                                    "pricing_model": "flat_fee",
                                    "cadence": "P1M",
                                    "unit_amount": "3.00",
                                },
                            },
                        ]
                    }
                ],
            },
        },
        "plan_switch": {
            "contract_id": str(merchant.contract.id),
            "plan_id": str(merchant.plan_pro.id),
            "start_date": CHANGE.isoformat(),
        },
        "quantity_update": {
            "contract_id": str(merchant.contract.id),
            "start_date": CHANGE.isoformat(),
            "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 9}],
        },
    }[kind]

    assert _queries(merchant, {**body, **URLS}, HTTP_IDEMPOTENCY_KEY=kind) <= BUDGET


def test_create_replay_costs_three_queries(merchant):
    _warm(merchant)
    _queries(merchant, plan_body(merchant), HTTP_IDEMPOTENCY_KEY="replay")

    # key, claim attempt, stored response
    assert _queries(merchant, plan_body(merchant), HTTP_IDEMPOTENCY_KEY="replay") == 3
