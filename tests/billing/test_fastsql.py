"""Every hand-written statement in billing/fastsql.py against its ORM twin, on PostgreSQL, with
the same rows: identical results (so the ORM path, which the SQLite demo runs, is tested too)."""

import uuid
from decimal import Decimal

import pytest
from django.conf import settings

from billing import fastsql
from billing.selectors import plan_snapshot_get
from tests.billing.factories import PlanFactory, PlanItemFactory, PricingFactory
from tests.core.factories import OrganizationFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                       reason="compares the PostgreSQL statements with the ORM"),
]

# Hand-written tiers may hold JSON numbers as well as decimal strings.
TIERS = [{"up_to": 10, "unit_amount": "5.00", "flat_amount": 1.5}, {"up_to": None, "unit_amount": "4.00"}]


def test_plan_rows_sql_equals_orm():
    org = OrganizationFactory()
    plan = PlanFactory(organization=org, trial_period_days=14)
    tiered = PricingFactory(organization=org, pricing_model="tiered", unit_amount=None, tiers=TIERS)
    flat = PricingFactory(organization=org, unit_amount=Decimal("12.34"))
    # Saved out of position order: the rows come in position order.
    PlanItemFactory(plan=plan, pricing=flat, position=1, default_quantity=1, is_optional=True)
    PlanItemFactory(plan=plan, pricing=tiered, position=0, default_quantity=12, min_quantity=1, max_quantity=50)
    empty = PlanFactory(organization=org)
    cases = [(org.pk, plan.pk), (org.pk, empty.pk), (OrganizationFactory().pk, plan.pk), (org.pk, uuid.uuid4())]

    results = [(fastsql.plan_rows_sql(organization_id=o, plan_id=p), fastsql.plan_rows_orm(organization_id=o, plan_id=p))
               for o, p in cases]

    for sql, orm in results:
        assert sql == orm
    plan_row, items = results[0][0]
    assert plan_row == (plan.pk, plan.name, plan.currency, plan.status, plan.code, plan.version, 14)
    assert [row[3] for row in items] == [tiered.pk, flat.pk]
    assert items[0][10] == '[{"up_to": 10, "flat_amount": 1.5, "unit_amount": "5.00"}, {"up_to": null, "unit_amount": "4.00"}]'
    assert results[1][0] == ((empty.pk, empty.name, empty.currency, empty.status, empty.code, empty.version, None), [])
    assert results[2][0] is None and results[3][0] is None


def test_plan_snapshot_prices_the_same_from_either_twin(monkeypatch):
    org = OrganizationFactory()
    plan = PlanFactory(organization=org)
    PlanItemFactory(plan=plan, pricing=PricingFactory(organization=org, pricing_model="tiered", unit_amount=None,
                                                      tiers=TIERS), default_quantity=12)
    sql = plan_snapshot_get(organization_id=org.pk, plan_id=plan.pk)
    monkeypatch.setattr("core.db.hand_written_sql_supported", lambda: False)
    orm = plan_snapshot_get(organization_id=org.pk, plan_id=plan.pk)
    assert sql == orm
    assert orm.items[0].terms.amount(12) == Decimal("59.50")  # 10 × 5 + 1.50 flat + 2 × 4
