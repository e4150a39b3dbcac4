"""Benchmark: the renewal run on a big contract table, and create latency while it runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout uv run python bench/bench_renewals.py
    … bench/bench_renewals.py --contracts 100000 --due 10000 --rounds 2     # quicker
    … bench/bench_renewals.py --keep / --reuse                              # keep / reuse the filled database

Builds a throwaway database (``<DATABASE_URL's database>_renewals``, dropped at the end unless
``--keep``), seeds the demo merchant, sells one contract through the real services (a monthly plan
with a flat fee and a tiered per-seat item, a discount, tax: the checkout's estimate, contract,
first invoice and renewal cursor), and copies it ``--contracts`` times (default 1,000,000) with
its phase and items; ``--due`` of them (default 100,000) have their billing date today, the rest
later in the month.

Then, for each round: POST /api/v1/checkout-sessions in a closed loop with nobody else on the
database (baseline), and again while a separate process runs the renewal run
(``contracts_renew_due``, as the beat task does: batches of SKIP LOCKED contracts, each batch's
invoices, lines, cursors and events written in one transaction). Between rounds the renewal
invoices are deleted and the cursors put back.

Prints invoices issued per second (the run's own timing), the create throughput of the same run
and their ratio, and create latency percentiles without and during the run. Targets (issue #25,
as ratios so they hold on any machine): invoices/s ≥ 20 × the create throughput; create p99
during the run ≤ 1.2 × without it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_sweep import Creator, checkpoint  # noqa: E402
from bench.common import bench_env, database_create, database_drop, percentile  # noqa: E402

TARGET_RATE_RATIO = 20.0
TARGET_P99_RATIO = 1.20
DUE_DAY_SQL = "CURRENT_DATE"


def _env(database_url: str) -> dict:
    env = bench_env(database_url, REDIS_URL=None, CELERY_BROKER_URL=None, CELERY_TASK_ALWAYS_EAGER="false",
                    CHECKOUT_CREATE_RATE_LIMIT="0")
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


# --- the renewing process -----------------------------------------------------------------------


def runner_main() -> None:
    import django

    django.setup()
    from django.db import connection

    from billing.renewals import contracts_renew_due

    options = json.loads(os.environ.get("BENCH_RENEW_OPTIONS") or "{}")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        for name, value in json.loads(os.environ.get("BENCH_RENEW_SETTINGS") or "{}").items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    run = contracts_renew_due(**options)
    seconds = time.perf_counter() - started
    print(json.dumps({"invoices": run.invoices, "contracts": run.contracts, "seconds": seconds}), flush=True)


# --- filling ------------------------------------------------------------------------------------


def template_contract(demo):
    """One contract sold the way a checkout sells it (estimate → contract → first invoice →
    renewal cursor), on a plan with a flat fee and a tiered seat price, with tax and a discount."""
    from decimal import Decimal

    from django.utils import timezone

    from billing.enums import InvoiceStatus
    from billing.estimates import Discount, Quote, QuoteItem, QuotePhase, estimate_new_contract
    from billing.pricing import PriceTerms, Tier, add_months
    from billing.services import contract_create_from_quote, invoice_create_from_estimate

    # Not the first demo customer: its contract runs on the demo's test clock, which the real-clock
    # run leaves alone.
    customer = demo.customers[1]
    products = list(demo.products.values())
    start = add_months(timezone.localdate(), -1)  # so today is its renewal date
    items = (
        QuoteItem(str(products[0].pk), products[0].name, "", 1,
                  PriceTerms("flat_fee", "recurring", "P1M", "in_advance", unit_amount=Decimal("49.00"))),
        QuoteItem(str(products[1].pk), products[1].name, "", 25,
                  PriceTerms("tiered", "recurring", "P1M", "in_advance",
                             tiers=(Tier(10, Decimal("12.00"), Decimal("0")), Tier(None, Decimal("9.50"), Decimal("0"))))),
    )
    quote = Quote("USD", start, None, (QuotePhase("Main", start, None, items),),
                  discount=Discount("Loyalty", "forever", percent_off=Decimal("10")))
    estimates = estimate_new_contract(quote=quote, tax_rate=Decimal("8.25"))
    first = estimates.current_invoice.to_json()
    contract = contract_create_from_quote(organization_id=customer.organization_id, customer_id=customer.pk,
                                          business_entity_id=customer.business_entity_id, quote=quote,
                                          first_invoice=first)
    invoice_create_from_estimate(organization_id=customer.organization_id, contract_id=contract.pk,
                                 customer_id=customer.pk, estimate=first, status=InvoiceStatus.PAID)
    return contract


def fill(n: int, due: int, template) -> None:
    """``n`` copies of ``template`` with its phase and items; the first ``due`` bill today, the
    others on a day later this month or next (not due)."""
    from django.db import connection

    from billing.models import Contract, Phase, PhaseItem

    def columns(model):
        return [f.column for f in model._meta.concrete_fields]

    contract_cols = columns(Contract)
    overrides = {
        "id": "gen_random_uuid()",
        "next_billing_date": f"CASE WHEN i <= {due} THEN {DUE_DAY_SQL} ELSE {DUE_DAY_SQL} + 1 + (i %% 27) END",
        "created_at": "now()", "updated_at": "now()", "test_clock_id": "NULL",
    }
    select = ", ".join(overrides.get(c, f"t.{c}") for c in contract_cols)
    phase_cols = [c for c in columns(Phase)]
    item_cols = [c for c in columns(PhaseItem) if c != "id"]
    template_phase = Phase.objects.get(contract=template)
    with connection.cursor() as cursor:
        for start in range(1, n + 1, 100_000):
            stop = min(start + 99_999, n)
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS fill_ids (contract_id uuid, phase_id uuid)")
            cursor.execute(
                f"WITH made AS (INSERT INTO billing_contract ({', '.join(contract_cols)}) "
                f"SELECT {select} FROM generate_series(%s, %s) AS i, billing_contract t WHERE t.id = %s "
                f"RETURNING id) INSERT INTO fill_ids SELECT id, gen_random_uuid() FROM made",
                [start, stop, template.pk])
            phase_select = ", ".join(
                {"id": "f.phase_id", "contract_id": "f.contract_id", "created_at": "now()", "updated_at": "now()"}
                .get(c, f"p.{c}") for c in phase_cols)
            cursor.execute(
                f"INSERT INTO billing_phase ({', '.join(phase_cols)}) SELECT {phase_select} "
                f"FROM fill_ids f, billing_phase p WHERE p.id = %s", [template_phase.pk])
            item_select = ", ".join({"phase_id": "f.phase_id"}.get(c, f"t.{c}") for c in item_cols)
            cursor.execute(
                f"INSERT INTO billing_phaseitem ({', '.join(item_cols)}) SELECT {item_select} "
                f"FROM fill_ids f, billing_phaseitem t WHERE t.phase_id = %s", [template_phase.pk])
            cursor.execute("DELETE FROM fill_ids")
            print(f"  filled {stop:,} / {n:,}", end="\r", flush=True)
    print()


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("billing_contract", "billing_phase", "billing_phaseitem", "billing_invoice",
                      "billing_invoiceline", "checkout_event"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def undo_renewals() -> int:
    """Delete the renewal invoices (and their events) and put the cursors back."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_invoiceline WHERE invoice_id IN "
                       "(SELECT id FROM billing_invoice WHERE billing_reason = 'renewal')")
        cursor.execute("WITH gone AS (DELETE FROM billing_invoice WHERE billing_reason = 'renewal' "
                       "RETURNING contract_id) UPDATE billing_contract SET next_billing_date = "
                       f"{DUE_DAY_SQL}, discount_invoices = 1 WHERE id IN (SELECT contract_id FROM gone)")
        undone = cursor.rowcount
        cursor.execute("SELECT to_regclass('checkout_event') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM checkout_event WHERE type LIKE 'invoice.%%'")
        return undone


def run_with_creates(creator: Creator, env: dict) -> tuple[dict, list[float]]:
    child = subprocess.Popen([sys.executable, __file__, "--runner"], cwd=ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == "ready"
    done, results = threading.Event(), []

    def wait_result():
        results.append(json.loads(child.stdout.readline()))
        done.set()

    reader = threading.Thread(target=wait_result, daemon=True)
    reader.start()
    child.stdin.write("go\n")
    child.stdin.flush()
    latencies = creator.until(done)
    reader.join()
    child.wait(timeout=60)
    return results[0], latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, help="Renewal batch size (default: the run's own).")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="A PostgreSQL setting for the run's own session (e.g. synchronous_commit=off).")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--database")
    parser.add_argument("--runner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runner:
        runner_main()
        return 0

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
        return 2
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench_db = args.database or f"{parts.path.strip('/') or 'checkout'}_renewals"
    bench_url = urlunsplit(parts._replace(path=f"/{bench_db}"))
    fresh = database_create(admin_url, bench_db, reuse=args.reuse)
    env = _env(bench_url)
    env["BENCH_RENEW_OPTIONS"] = json.dumps({"batch_size": args.batch_size} if args.batch_size else {})
    env["BENCH_RENEW_SETTINGS"] = json.dumps(dict(item.split("=", 1) for item in args.set))
    os.environ.update(env)
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from billing.models import Contract
    from checkout.demo import demo_merchant_seed

    try:
        call_command("migrate", verbosity=0)
        demo = demo_merchant_seed()
        body = {"customer_id": str(demo.customers[0].pk), "plan_id": str(next(iter(demo.plans.values())).pk),
                "success_url": "https://merchant.example/success", "cancel_url": "https://merchant.example/cancel"}
        creator = Creator(demo.api_key, body)
        creator.many(20)
        if fresh:
            template = template_contract(demo)
            started = time.perf_counter()
            print(f"Filling {args.contracts:,} contracts ({args.due:,} due today) …")
            fill(args.contracts - 1, args.due - 1, template)
            vacuum()
            print(f"  done in {time.perf_counter() - started:.0f} s")
        elif undo_renewals():
            vacuum()
        today = timezone.localdate()
        print(f"Table: {Contract.objects.count():,} contracts, "
              f"{Contract.objects.filter(next_billing_date__lte=today).count():,} due.\n")

        baseline, during, rates, create_rates, rate_ratios, p99_ratios = [], [], [], [], [], []
        for round_ in range(1, args.rounds + 1):
            checkpoint()
            base = creator.for_seconds(args.baseline_seconds)
            create_rate = len(base) / sum(base)
            checkpoint()
            result, latencies = run_with_creates(creator, env)
            rate = result["invoices"] / result["seconds"]
            p99_ratio = percentile(latencies, 99) / percentile(base, 99)
            print(f"Round {round_}: {result['invoices']:,} invoices in {result['seconds']:.2f} s = {rate:,.0f}/s "
                  f"= {rate / create_rate:.1f} × the create throughput ({create_rate:.0f}/s without the run); "
                  f"create p99 {percentile(base, 99) * 1000:.1f} ms without, "
                  f"{percentile(latencies, 99) * 1000:.1f} ms during ({len(latencies)} creates): {p99_ratio:.2f}×")
            baseline += base
            during += latencies
            rates.append(rate)
            create_rates.append(create_rate)
            rate_ratios.append(rate / create_rate)
            p99_ratios.append(p99_ratio)
            if round_ < args.rounds:
                undo_renewals()
                vacuum()

        p99_base, p99_during = percentile(baseline, 99), percentile(during, 99)
        ratio = p99_during / p99_base
        rate_ratio = statistics.median(rate_ratios)

        def spread(values, fmt):
            return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"

        print()
        print(f"Invoices issued per second, median [min–max] of {len(rates)} rounds: {spread(rates, '{:,.0f}')}")
        print(f"Create throughput in the same rounds (one client, no run): {spread(create_rates, '{:,.0f}')}/s")
        print(f"Invoices/s ÷ create/s: {spread(rate_ratios, '{:.1f}')} (target ≥ {TARGET_RATE_RATIO:.0f}) "
              f"{'PASS' if rate_ratio >= TARGET_RATE_RATIO else 'FAIL'}")
        print(f"Create latency without the run: p50 {percentile(baseline, 50) * 1000:.1f} ms, "
              f"p99 {p99_base * 1000:.1f} ms ({len(baseline)} requests)")
        print(f"Create latency during the run:  p50 {percentile(during, 50) * 1000:.1f} ms, "
              f"p99 {p99_during * 1000:.1f} ms ({len(during)} requests)")
        print(f"p99 during / without, all rounds pooled: {ratio:.2f} (per round {spread(p99_ratios, '{:.2f}')}; "
              f"target ≤ {TARGET_P99_RATIO:.2f}) {'PASS' if ratio <= TARGET_P99_RATIO else 'FAIL'}")
        return 0 if rate_ratio >= TARGET_RATE_RATIO and ratio <= TARGET_P99_RATIO else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_drop(admin_url, bench_db)


if __name__ == "__main__":
    sys.exit(main())
