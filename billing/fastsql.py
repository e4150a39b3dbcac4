"""The billing app's hand-written SQL, each statement beside its ORM twin (as in
``checkout.fastsql``): PostgreSQL runs the SQL, other databases (the SQLite demo) the ORM twin,
and ``tests/billing/test_fastsql.py`` holds both to the same results on PostgreSQL.

Rows, not model instances: ``billing.selectors`` builds the snapshots the pricing engine reads.
"""

from functools import cache

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from core.db import prepared_cursor, sql_or_orm

from .models import Plan, PlanItem, Pricing, Product

# A plan's columns, in ``plan_rows``' order.
PLAN_COLUMNS = ("id", "name", "currency", "status", "code", "version", "trial_period_days")

# A plan item's columns with its product and pricing, in ``plan_rows``' order; the tiers as
# their JSON text (the key of ``billing.selectors``' terms cache).
PLAN_ITEM_COLUMNS = (
    "product_id", "product__name", "product__description", "pricing_id", "pricing__pricing_model",
    "pricing__billing", "pricing__cadence", "pricing__timing", "pricing__unit_amount",
    "pricing__package_size", "tiers_json", "default_quantity", "min_quantity", "max_quantity",
    "is_optional",
)


def plan_rows(*, organization_id, plan_id) -> tuple[tuple, list[tuple]] | None:
    """The organization's plan ``plan_id`` (a UUID) as its row and its item rows (position
    order), or None."""
    return sql_or_orm(plan_rows_sql, plan_rows_orm)(organization_id=organization_id, plan_id=plan_id)


def plan_rows_sql(*, organization_id, plan_id) -> tuple[tuple, list[tuple]] | None:
    # One query (a join) whatever the plan's size: the ORM spent ~1.5 ms of CPU compiling
    # the two it needs, more than the database spends answering.
    with prepared_cursor() as cursor:
        cursor.execute(_plan_sql(), [plan_id, organization_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    plan_width = len(PLAN_COLUMNS)
    return tuple(rows[0][:plan_width]), [tuple(row[plan_width:]) for row in rows if row[plan_width] is not None]


def plan_rows_orm(*, organization_id, plan_id) -> tuple[tuple, list[tuple]] | None:
    plan = Plan.objects.filter(organization_id=organization_id, pk=plan_id).values_list(*PLAN_COLUMNS).first()
    if plan is None:
        return None
    return plan, plan_item_rows(plan_id=plan_id)


def plan_item_rows(*, plan_id) -> list[tuple]:
    """A plan's item rows through the ORM (any database), in ``PLAN_ITEM_COLUMNS`` order."""
    return list(
        PlanItem.objects.filter(plan_id=plan_id).order_by("position", "id")
        .annotate(tiers_json=Cast("pricing__tiers", TextField()))
        .values_list(*PLAN_ITEM_COLUMNS)
    )


@cache
def _plan_sql() -> str:
    """The plan and its items with product and pricing; one row with NULL items for an empty plan."""
    q = connection.ops.quote_name
    plan, item = q(Plan._meta.db_table), q(PlanItem._meta.db_table)
    product, pricing = q(Product._meta.db_table), q(Pricing._meta.db_table)
    return (
        "SELECT p.id, p.name, p.currency, p.status, p.code, p.version, p.trial_period_days,"
        " i.product_id, pr.name, pr.description, i.pricing_id, pc.pricing_model, pc.billing, pc.cadence,"
        " pc.timing, pc.unit_amount, pc.package_size, pc.tiers::text,"
        " i.default_quantity, i.min_quantity, i.max_quantity, i.is_optional"
        f" FROM {plan} p LEFT JOIN {item} i ON i.plan_id = p.id"
        f" LEFT JOIN {product} pr ON pr.id = i.product_id LEFT JOIN {pricing} pc ON pc.id = i.pricing_id"
        " WHERE p.id = %s AND p.organization_id = %s ORDER BY i.position, i.id"
    )
