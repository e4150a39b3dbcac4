"""The billing app's hand-written SQL, each statement beside its ORM twin (as in
``checkout.fastsql``): PostgreSQL runs the SQL, other databases (the SQLite demo) the ORM twin,
and ``tests/billing/test_fastsql.py`` holds both to the same results on PostgreSQL.

Rows, not model instances: ``billing.selectors`` builds the snapshots the pricing engine reads.
"""

import json
from functools import cache

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from core.db import prepared_cursor, sql_or_orm

from .models import Contract, Plan, PlanItem, Pricing, Product, SavedPaymentMethod

# A plan's columns, in ``plan_rows``' order.
PLAN_COLUMNS = ("id", "name", "currency", "status", "code", "version", "trial_period_days")

# A plan item's columns with its product and pricing, in ``plan_rows``' order; the tiers as
# their JSON text (the key of ``billing.selectors``' terms cache).
PLAN_ITEM_COLUMNS = (
    "product_id", "product__name", "product__description", "pricing_id", "pricing__pricing_model",
    "pricing__billing", "pricing__cadence", "pricing__timing", "pricing__unit_amount",
    "pricing__package_size", "tiers_json", "default_quantity", "min_quantity", "max_quantity",
    "is_optional", "pricing__tax_behavior",
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
        " i.default_quantity, i.min_quantity, i.max_quantity, i.is_optional, pc.tax_behavior"
        f" FROM {plan} p LEFT JOIN {item} i ON i.plan_id = p.id"
        f" LEFT JOIN {product} pr ON pr.id = i.product_id LEFT JOIN {pricing} pc ON pc.id = i.pricing_id"
        " WHERE p.id = %s AND p.organization_id = %s ORDER BY i.position, i.id"
    )


# --- the renewal run --------------------------------------------------------------------------

# What the renewal run writes back to each contract it renewed, in ``contract_cursors_update``'s
# order.
CURSOR_COLUMNS = ("id", "next_billing_date", "discount_invoices", "credit_balance", "status", "updated_at")


def contract_cursors_update(rows: list[tuple]) -> None:
    """Write each renewed contract's cursor (``CURSOR_COLUMNS`` per row) back, in one statement
    for the batch. Django's ``bulk_update`` builds a CASE per column and row: 55 % of the run's
    time at 200 contracts a batch."""
    if rows:
        sql_or_orm(contract_cursors_update_sql, contract_cursors_update_orm)(rows)


def contract_cursors_update_sql(rows: list[tuple]) -> None:
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_contract AS c SET next_billing_date = v.next_billing_date, "
            "discount_invoices = v.discount_invoices, credit_balance = v.credit_balance, status = v.status, "
            "updated_at = v.updated_at "
            "FROM unnest(%s::uuid[], %s::date[], %s::integer[], %s::numeric[], %s::text[], %s::timestamptz[]) "
            "AS v(id, next_billing_date, discount_invoices, credit_balance, status, updated_at) WHERE c.id = v.id",
            [list(column) for column in columns],
        )


def contract_cursors_update_orm(rows: list[tuple]) -> None:
    for pk, *values in rows:
        Contract.objects.filter(pk=pk).update(**dict(zip(CURSOR_COLUMNS[1:], values, strict=True)))


def rows_insert(model, rows: list[dict]) -> None:
    """Insert ``rows`` of ``model`` (each a dict of field attribute names to values; fields left
    out take their default) in one ``COPY``: the renewal run's invoices and lines. ``bulk_create``
    spent half of the run's time building model instances and compiling its INSERT."""
    if rows:
        sql_or_orm(rows_insert_sql, rows_insert_orm)(model, rows)


def rows_insert_sql(model, rows: list[dict]) -> None:
    # An auto-increment key is left to the database.
    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and f.get_internal_type().endswith("AutoField"))]
    defaults = {f.attname: f.get_default() for f in fields if f.has_default()}
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else defaults.get(f.attname)
                values.append(json.dumps(value) if value is not None and f.attname in json_fields else value)
            copy.write_row(values)


def rows_insert_orm(model, rows: list[dict]) -> None:
    model.objects.bulk_create(model(**row) for row in rows)


# --- saved payment methods ----------------------------------------------------------------------


def saved_payment_method_upsert(values: dict) -> SavedPaymentMethod:
    """Insert a saved method (``values``: its fields by attribute name, id included) unless its
    provider reference is known already (a retried confirm): one statement either way, returning
    the row's id (get_or_create's SELECT, SAVEPOINT, INSERT and RELEASE were four, on the
    card confirm's path)."""
    return sql_or_orm(saved_payment_method_upsert_sql, saved_payment_method_upsert_orm)(values)


def saved_payment_method_upsert_sql(values: dict) -> SavedPaymentMethod:
    method = SavedPaymentMethod(**values)
    fields = [f for f in SavedPaymentMethod._meta.concrete_fields]
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SavedPaymentMethod._meta.db_table} ({', '.join(q(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            "ON CONFLICT (organization_id, livemode, provider, provider_reference) "
            "DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING id",
            [f.get_db_prep_save(f.pre_save(method, add=True), connection=connection) for f in fields])
        method.pk = cursor.fetchone()[0]
    method._state.adding, method._state.db = False, connection.alias
    return method


def saved_payment_method_upsert_orm(values: dict) -> SavedPaymentMethod:
    keys = ("organization_id", "livemode", "provider", "provider_reference")
    method, _created = SavedPaymentMethod.objects.get_or_create(
        **{key: values[key] for key in keys}, defaults={k: v for k, v in values.items() if k not in keys})
    return method
