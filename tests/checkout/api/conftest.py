"""Fixtures for the merchant API: a catalogue, a customer with a running contract, a second
tenant, and helpers to call the API."""

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from billing.enums import BillingType, PricingModel, Timing
from billing.models import Contract, Plan, Pricing, Product
from core.models import BusinessEntity, Organization
from core.services import api_key_create
from customers.models import Customer
from tests.billing.factories import (
    ContractFactory,
    PhaseFactory,
    PhaseItemFactory,
    PlanFactory,
    PlanItemFactory,
    PricingFactory,
    ProductFactory,
)
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_with_key

URL = "/api/v1/checkout-sessions"
START = datetime.date(2026, 1, 15)
CONTRACT_START = datetime.date(2026, 1, 1)
CHANGE = datetime.date(2026, 1, 20)
URLS = {
    "success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://merchant.example/cancel",
}


@dataclass
class Merchant:
    """One tenant with everything a checkout can reference."""

    organization: Organization
    entity: BusinessEntity
    customer: Customer
    platform: Product
    seats: Product
    onboarding: Product
    storage: Product
    platform_pricing: Pricing
    seats_pricing: Pricing
    onboarding_pricing: Pricing
    storage_pricing: Pricing
    plan: Plan
    plan_pro: Plan
    plan_eur: Plan
    contract: Contract
    key: str
    client: APIClient

    def post(self, body, *, path=URL, **headers):
        return self.client.post(
            path, data=json.dumps(body), content_type="application/json", **headers
        )

    def get(self, path=URL, **params):
        return self.client.get(path, params)


def build_merchant(name: str) -> Merchant:
    org = OrganizationFactory(name=name)
    entity = BusinessEntityFactory(organization=org, is_default=True, tax_rate=Decimal("10.0000"))
    customer = CustomerFactory(organization=org, business_entity=entity)
    platform = ProductFactory(organization=org, name="Platform fee")
    seats = ProductFactory(organization=org, name="Seats")
    onboarding = ProductFactory(organization=org, name="Onboarding")
    storage = ProductFactory(organization=org, name="Storage")
    platform_pricing = PricingFactory(
        organization=org,
        product=platform,
        pricing_model=PricingModel.FLAT_FEE,
        unit_amount=Decimal("49.00"),
    )
    seats_pricing = PricingFactory(organization=org, product=seats, unit_amount=Decimal("12.00"))
    onboarding_pricing = PricingFactory(
        organization=org,
        product=onboarding,
        pricing_model=PricingModel.FLAT_FEE,
        billing=BillingType.ONE_TIME,
        cadence="",
        unit_amount=Decimal("199.00"),
    )
    storage_pricing = PricingFactory(
        organization=org,
        product=storage,
        pricing_model=PricingModel.VOLUME,
        unit_amount=None,
        tiers=[
            {"up_to": 100, "unit_amount": "0.50", "flat_amount": "0"},
            {"up_to": None, "unit_amount": "0.40", "flat_amount": "5.00"},
        ],
        timing=Timing.IN_ADVANCE,
    )
    plan = PlanFactory(organization=org, name="Starter", code="starter")
    PlanItemFactory(
        plan=plan,
        product=platform,
        pricing=platform_pricing,
        default_quantity=1,
        min_quantity=1,
        max_quantity=1,
        position=0,
    )
    PlanItemFactory(
        plan=plan,
        product=seats,
        pricing=seats_pricing,
        default_quantity=3,
        min_quantity=1,
        max_quantity=50,
        position=1,
    )
    PlanItemFactory(
        plan=plan,
        product=onboarding,
        pricing=onboarding_pricing,
        default_quantity=1,
        min_quantity=0,
        max_quantity=1,
        is_optional=True,
        position=2,
    )
    plan_pro = PlanFactory(organization=org, name="Pro", code="pro")
    pro_platform = PricingFactory(
        organization=org,
        product=platform,
        pricing_model=PricingModel.FLAT_FEE,
        unit_amount=Decimal("99.00"),
    )
    pro_seats = PricingFactory(organization=org, product=seats, unit_amount=Decimal("10.00"))
    PlanItemFactory(
        plan=plan_pro,
        product=platform,
        pricing=pro_platform,
        min_quantity=1,
        max_quantity=1,
        position=0,
    )
    PlanItemFactory(
        plan=plan_pro,
        product=seats,
        pricing=pro_seats,
        default_quantity=5,
        min_quantity=1,
        max_quantity=100,
        position=1,
    )
    plan_eur = PlanFactory(organization=org, name="Starter EUR", code="starter-eur", currency="EUR")
    PlanItemFactory(
        plan=plan_eur,
        product=platform,
        pricing=PricingFactory(
            organization=org,
            product=platform,
            currency="EUR",
            pricing_model=PricingModel.FLAT_FEE,
            unit_amount=Decimal("45.00"),
        ),
    )
    contract = ContractFactory(
        organization=org,
        customer=customer,
        business_entity=entity,
        plan=plan,
        start_date=CONTRACT_START,
    )
    phase = PhaseFactory(contract=contract, plan=plan, start_date=CONTRACT_START)
    PhaseItemFactory(
        phase=phase, product=platform, pricing=platform_pricing, quantity=1, position=0
    )
    PhaseItemFactory(phase=phase, product=seats, pricing=seats_pricing, quantity=3, position=1)
    key = api_key_create(organization=org)[1]
    client = api_client_with_key(key)
    return Merchant(
        org,
        entity,
        customer,
        platform,
        seats,
        onboarding,
        storage,
        platform_pricing,
        seats_pricing,
        onboarding_pricing,
        storage_pricing,
        plan,
        plan_pro,
        plan_eur,
        contract,
        key,
        client,
    )


# The API prices only start dates inside a window around today (one billing period back, a
# year ahead); these tests' dates are fixed in January 2026, so they run on 10 January 2026.
# Time keeps ticking from there, so expiry and timeouts behave as in real time.
TODAY = datetime.datetime(2026, 1, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache; every test starts with fresh windows.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def merchant(db) -> Merchant:
    return build_merchant("Acme")


@pytest.fixture
def rival(db) -> Merchant:
    """A second tenant with the same kinds of rows."""
    return build_merchant("Globex")


def plan_body(m: Merchant, **extra) -> dict:
    """A plan-based new contract for the merchant's customer (the most common create)."""
    return {
        "contract": {
            "is_plan_based": True,
            "plan_id": str(m.plan.id),
            "currency": "USD",
            "start_date": START.isoformat(),
            "end_date": None,
        },
        "customer_id": str(m.customer.id),
        **URLS,
        **extra,
    }


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "trace_id"}, body
    assert body["error"]["trace_id"]
    return body["error"]


__all__ = ["CHANGE", "URL", "URLS", "Merchant", "build_merchant", "error_of", "plan_body"]
