"""Benchmark: invoice estimates per second (pure engine) and the plan selector's query count.

    uv run python bench/bench_estimates.py                # engine only (no database needed)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout uv run python bench/bench_estimates.py

Engine: a 10-item plan of tiered items (a mix of in-advance and in-arrears, one-time setup
excluded) starting on 31 January, so every period boundary goes through month-end clamping; a
Quote is reused across rounds (the engine keeps no state between calls). Best of several runs,
one process, one core. Target: ≥ 5,000 estimates/s.

Selector: plans of 1, 10 and 100 items are written to a throwaway database (created, migrated
and dropped by the script, named ``bench_estimates_<pid>``; SQLite in memory without
DATABASE_URL) and ``plan_snapshot_get``'s queries are counted: constant (2) whatever the size.
"""

import os
import sys
import timeit
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from billing.estimates import Quote, QuoteItem, QuotePhase, estimate_new_contract
from billing.pricing import PriceTerms, Tier

TARGET = 5_000
TIERS = (
    Tier(10, Decimal("5.00")),
    Tier(100, Decimal("4.00"), Decimal("10.00")),
    Tier(None, Decimal("3.5000")),
)


def ten_item_quote() -> Quote:
    items = tuple(
        QuoteItem(
            product_id=f"product-{n}",
            name=f"Product {n}",
            description="",
            quantity=37 + n,
            terms=PriceTerms(
                "tiered", timing="in_arrears" if n % 3 == 0 else "in_advance", tiers=TIERS
            ),
        )
        for n in range(10)
    )
    start = date(2026, 1, 31)
    return Quote("USD", start, None, (QuotePhase("Main", start, None, items),))


def rate(fn, number=1_000, repeat=7) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=repeat)) / number
    return 1 / best


def bench_engine() -> None:
    quote = ten_item_quote()
    tax = Decimal("8.25")
    estimates = estimate_new_contract(quote=quote, tax_rate=tax)
    lines = len(estimates.current_invoice.line_items) + len(estimates.next_invoice.line_items)
    engine = rate(lambda: estimate_new_contract(quote=quote, tax_rate=tax))
    with_json = rate(lambda: estimate_new_contract(quote=quote, tax_rate=tax).to_json())
    print(f"engine, 10 tiered items ({lines} lines in current + next):")
    print(
        f"  estimate_new_contract            {engine:10,.0f} estimates/s  (target {TARGET:,}: "
        f"{'ok' if engine >= TARGET else 'MISSED'})"
    )
    print(f"  estimate_new_contract + to_json  {with_json:10,.0f} estimates/s")


def bench_selector() -> None:
    from django.db import DatabaseError, connection
    from django.test.utils import CaptureQueriesContext

    # A throwaway database of our own (never the shared one, never pytest's test_<name>).
    connection.settings_dict["TEST"]["NAME"] = f"bench_estimates_{os.getpid()}"
    try:
        original = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
    except DatabaseError as error:
        print(f"selector: skipped (no database: {error})")
        return
    try:
        from billing.models import Plan, PlanItem, Pricing, Product
        from billing.selectors import plan_snapshot_get
        from core.models import Organization

        print(f"selector plan_snapshot_get ({connection.vendor}, throwaway database):")
        org = Organization.objects.create(name="bench-estimates")
        for size in (1, 10, 100):
            plan = Plan.objects.create(
                organization=org, name=f"Bench {size}", code=f"bench-{size}", currency="USD"
            )
            products = Product.objects.bulk_create(
                Product(organization=org, name=f"P{size}-{n}", sku=f"bench-{size}-{n}")
                for n in range(size)
            )
            pricings = Pricing.objects.bulk_create(
                Pricing(
                    organization=org,
                    product=p,
                    currency="USD",
                    pricing_model="tiered",
                    cadence="P1M",
                    tiers=[
                        {"up_to": 10, "unit_amount": "5.00"},
                        {"up_to": None, "unit_amount": "4.00"},
                    ],
                )
                for p in products
            )
            PlanItem.objects.bulk_create(
                PlanItem(plan=plan, product=pr.product, pricing=pr, position=n)
                for n, pr in enumerate(pricings)
            )
            with CaptureQueriesContext(connection) as captured:
                snapshot = plan_snapshot_get(organization_id=org.id, plan_id=plan.id)
            assert len(snapshot.items) == size
            per_second = rate(
                lambda plan=plan: plan_snapshot_get(organization_id=org.id, plan_id=plan.id),
                number=20,
                repeat=3,
            )
            print(
                f"  plan of {size:3d} items: {len(captured.captured_queries)} queries, {per_second:8,.0f} snapshots/s"
            )
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    bench_engine()
    bench_selector()
