"""Selectors feeding the engine: organization scoping, locked terms and constant query counts."""

import uuid
from datetime import date
from decimal import Decimal as D

import pytest

from billing.errors import InvalidPricing
from billing.estimates import (
    Quote,
    estimate_contract_change,
    estimate_new_contract,
    quote_from_plan,
)
from billing.selectors import contract_snapshot_get, plan_snapshot_get, pricings_get, products_get
from checkout.models import CheckoutSession
from tests.billing.factories import (
    ContractFactory,
    PhaseFactory,
    PhaseItemFactory,
    PlanFactory,
    PlanItemFactory,
    PricingFactory,
    ProductFactory,
)
from tests.checkout.factories import CheckoutSessionFactory
from tests.core.factories import BusinessEntityFactory

pytestmark = pytest.mark.django_db

TIERS = [
    {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
    {"up_to": None, "unit_amount": "4.00"},
]


def make_plan(organization, size, **kw):
    plan = PlanFactory(organization=organization, **kw)
    for n in range(size):
        pricing = PricingFactory(
            organization=organization, pricing_model="tiered", unit_amount=None, tiers=TIERS
        )
        PlanItemFactory(plan=plan, pricing=pricing, default_quantity=12, position=n)
    return plan


# --- plans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 25])
def test_plan_snapshot_get_takes_two_queries_whatever_the_size(
    organization, django_assert_max_num_queries, size
):
    plan = make_plan(organization, size)
    with django_assert_max_num_queries(2):
        snapshot = plan_snapshot_get(organization_id=organization.id, plan_id=plan.id)
    assert len(snapshot.items) == size
    assert snapshot.items[0].terms.amount(12) == D("58.00")  # 10 × 5 + 2 × 4


def test_plan_snapshot_get_carries_items_in_order_with_bounds(organization):
    plan = PlanFactory(organization=organization, currency="EUR")
    seats = PricingFactory(organization=organization, currency="EUR", unit_amount=D("9.5000"))
    setup = PricingFactory(
        organization=organization,
        currency="EUR",
        billing="one_time",
        cadence="",
        pricing_model="flat_fee",
        unit_amount=D(100),
    )
    PlanItemFactory(plan=plan, pricing=setup, position=2)
    PlanItemFactory(
        plan=plan,
        pricing=seats,
        position=1,
        default_quantity=3,
        min_quantity=1,
        max_quantity=10,
        is_optional=True,
    )
    snapshot = plan_snapshot_get(organization_id=organization.id, plan_id=str(plan.id))
    assert (snapshot.id, snapshot.currency, snapshot.status) == (str(plan.id), "EUR", "active")
    first, second = snapshot.items
    assert (first.product_id, first.pricing_id, first.name) == (
        str(seats.product_id),
        str(seats.id),
        seats.product.name,
    )
    assert (first.default_quantity, first.min_quantity, first.max_quantity, first.is_optional) == (
        3,
        1,
        10,
        True,
    )
    assert first.terms.unit_amount == D("9.5")
    assert (second.terms.billing, second.terms.cadence, second.terms.months) == (
        "one_time",
        None,
        0,
    )


def test_plan_snapshot_get_other_organization_or_bad_id_is_none(
    organization, other_organization, django_assert_num_queries
):
    plan = make_plan(other_organization, 1)
    assert plan_snapshot_get(organization_id=organization.id, plan_id=plan.id) is None
    with django_assert_num_queries(0):
        assert plan_snapshot_get(organization_id=organization.id, plan_id="not-a-uuid") is None
    assert plan_snapshot_get(organization_id=organization.id, plan_id=uuid.uuid4()) is None


def test_plan_snapshot_get_reports_a_broken_catalogue_pricing(organization):
    plan = PlanFactory(organization=organization)
    pricing = PricingFactory(
        organization=organization,
        pricing_model="tiered",
        unit_amount=None,
        tiers=[{"up_to": 10, "unit_amount": "1"}],
    )  # last tier not open-ended
    PlanItemFactory(plan=plan, pricing=pricing)
    with pytest.raises(InvalidPricing) as raised:
        plan_snapshot_get(organization_id=organization.id, plan_id=plan.id)
    assert list(raised.value.fields) == [f"pricings.{pricing.id}.tiers.0.up_to"]


def test_plan_snapshot_reads_hand_written_numeric_tiers_exactly(organization):
    plan = PlanFactory(organization=organization)
    pricing = PricingFactory(
        organization=organization,
        pricing_model="volume",
        unit_amount=None,
        tiers=[{"up_to": 10, "unit_amount": 0.1}, {"up_to": None, "unit_amount": 0.07}],
    )
    PlanItemFactory(plan=plan, pricing=pricing)
    terms = plan_snapshot_get(organization_id=organization.id, plan_id=plan.id).items[0].terms
    assert [t.unit_amount for t in terms.tiers] == [D("0.1"), D("0.07")]


# --- catalogue lookups ------------------------------------------------------------------------


def test_pricings_get_one_query_scoped_to_the_organization(
    organization, other_organization, django_assert_num_queries
):
    mine = [PricingFactory(organization=organization) for _ in range(3)]
    theirs = PricingFactory(organization=other_organization)
    with django_assert_num_queries(1):
        found = pricings_get(
            organization_id=organization.id,
            pricing_ids=[p.id for p in mine] + [theirs.id, "garbage"],
        )
    assert set(found) == {str(p.id) for p in mine}
    one = found[str(mine[0].id)]
    assert (one.product.id, one.currency, one.terms.unit_amount) == (
        str(mine[0].product_id),
        "USD",
        D(10),
    )
    with django_assert_num_queries(0):
        assert pricings_get(organization_id=organization.id, pricing_ids=["garbage"]) == {}


def test_products_get_one_query_scoped_to_the_organization(
    organization, other_organization, django_assert_num_queries
):
    mine = ProductFactory(organization=organization, description="Per seat")
    theirs = ProductFactory(organization=other_organization)
    with django_assert_num_queries(1):
        found = products_get(organization_id=organization.id, product_ids=[mine.id, str(theirs.id)])
    assert list(found) == [str(mine.id)]
    assert (found[str(mine.id)].name, found[str(mine.id)].description) == (mine.name, "Per seat")


# --- contracts --------------------------------------------------------------------------------


def make_contract(
    organization, *, tax_rate=None, phases=((date(2026, 1, 15), None, 5),), plan=None
):
    entity = BusinessEntityFactory(organization=organization, is_default=False, tax_rate=tax_rate)
    contract = ContractFactory(
        organization=organization, business_entity=entity, start_date=phases[0][0], plan=plan
    )
    for position, (start, end, quantity) in enumerate(phases):
        phase = PhaseFactory(
            contract=contract, start_date=start, end_date=end, position=position, plan=plan
        )
        PhaseItemFactory(
            phase=phase,
            quantity=quantity,
            pricing=PricingFactory(organization=organization, unit_amount=D("10.00")),
        )
    return contract


def test_contract_snapshot_get_phase_in_force_with_locked_terms(
    organization, django_assert_max_num_queries
):
    contract = make_contract(
        organization,
        tax_rate=D("8.2500"),
        phases=((date(2026, 1, 15), date(2026, 4, 1), 5), (date(2026, 4, 1), None, 8)),
    )
    # the catalogue price changes after the sale: the locked terms still say 10.00
    second_item = contract.phases.get(position=1).items.get()
    second_item.pricing.unit_amount = D("99.00")
    second_item.pricing.save()
    with django_assert_max_num_queries(4):
        snapshot = contract_snapshot_get(
            organization_id=organization.id, contract_id=contract.id, on=date(2026, 5, 1)
        )
    assert (snapshot.customer_id, snapshot.currency, snapshot.tax_rate) == (
        str(contract.customer_id),
        "USD",
        D("8.2500"),
    )
    assert (snapshot.phase.start_date, snapshot.billing_anchor) == (
        date(2026, 4, 1),
        date(2026, 1, 15),
    )
    (locked,) = snapshot.phase.items
    assert (locked.quantity, locked.terms.unit_amount) == (8, D("10.00"))
    early = contract_snapshot_get(
        organization_id=organization.id, contract_id=contract.id, on=date(2026, 2, 1)
    )
    assert early.phase.items[0].quantity == 5


def test_contract_snapshot_get_feeds_an_amendment(organization):
    contract = make_contract(organization, tax_rate=D(10))
    snapshot = contract_snapshot_get(
        organization_id=organization.id, contract_id=contract.id, on=date(2026, 3, 1)
    )
    new_items = [snapshot.phase.items[0].replace(quantity=8)]
    estimates = estimate_contract_change(
        contract=snapshot, new_items=new_items, change_date=date(2026, 3, 1)
    )
    # [15 Feb, 15 Mar) = 28 days, 14 unused: −50 × ½ + 80 × ½ = 15; tax 1.50
    assert (estimates.current_invoice.subtotal, estimates.current_invoice.tax) == (
        D("15.00"),
        D("1.50"),
    )


def test_contract_snapshot_get_anchor_restarts_with_a_new_cadence(organization):
    contract = make_contract(organization, phases=((date(2026, 1, 15), date(2026, 3, 1), 1),))
    phase = PhaseFactory(contract=contract, start_date=date(2026, 3, 1), position=1)
    PhaseItemFactory(phase=phase, pricing=PricingFactory(organization=organization, cadence="P1Y"))
    snapshot = contract_snapshot_get(
        organization_id=organization.id, contract_id=contract.id, on=date(2026, 6, 1)
    )
    assert snapshot.billing_anchor == date(2026, 3, 1)


def test_contract_snapshot_get_before_start_and_after_end(organization):
    contract = make_contract(organization, phases=((date(2026, 1, 15), date(2026, 3, 1), 1),))
    before = contract_snapshot_get(
        organization_id=organization.id, contract_id=contract.id, on=date(2025, 1, 1)
    )
    after = contract_snapshot_get(
        organization_id=organization.id, contract_id=contract.id, on=date(2026, 3, 1)
    )
    assert before.phase.start_date == date(2026, 1, 15)
    assert after.phase is None


def test_contract_snapshot_get_with_plan_loads_bounds(organization, django_assert_max_num_queries):
    plan = make_plan(organization, 3)
    contract = make_contract(organization, plan=plan)
    with django_assert_max_num_queries(4):
        snapshot = contract_snapshot_get(
            organization_id=organization.id, contract_id=contract.id, on=date(2026, 2, 1)
        )
    assert snapshot.plan_id == str(plan.id)
    assert len(snapshot.plan_items) == 3


def test_contract_snapshot_get_other_organization_is_none(organization, other_organization):
    contract = make_contract(other_organization)
    assert contract_snapshot_get(organization_id=organization.id, contract_id=contract.id) is None
    assert contract_snapshot_get(organization_id=organization.id, contract_id="nope") is None


# --- the locked quote -------------------------------------------------------------------------


def test_stored_estimate_does_not_change_when_plan_prices_change(organization):
    plan = make_plan(organization, 2)
    snapshot = plan_snapshot_get(organization_id=organization.id, plan_id=plan.id)
    quote = quote_from_plan(plan=snapshot, start_date=date(2026, 1, 15))
    estimates = estimate_new_contract(quote=quote, tax_rate=None).to_json()
    session = CheckoutSessionFactory(
        organization=organization, plan=plan, quote=quote.to_json(), estimates=estimates
    )
    assert estimates["current_invoice"]["subtotal"] == "116.00"  # 2 × (10 × 5 + 2 × 4)

    # the merchant raises prices afterwards
    for item in plan.items.select_related("pricing"):
        item.pricing.tiers = [
            {"up_to": 5, "unit_amount": "9.00"},
            {"up_to": None, "unit_amount": "8.00"},
        ]
        item.pricing.save()

    session = CheckoutSession.objects.get(pk=session.pk)
    assert session.estimates == estimates
    relocked = estimate_new_contract(quote=Quote.from_json(session.quote), tax_rate=None).to_json()
    assert relocked == estimates
    # …while a fresh quote of the same plan sees the new prices: 2 × (5 × 9 + 7 × 8) = 202
    fresh = quote_from_plan(
        plan=plan_snapshot_get(organization_id=organization.id, plan_id=plan.id),
        start_date=date(2026, 1, 15),
    )
    assert estimate_new_contract(quote=fresh, tax_rate=None).current_invoice.subtotal == D("202.00")
