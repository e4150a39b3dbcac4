"""Benchmark: the conversion dashboard and the metrics scrape on a big sessions table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout uv run python bench/bench_dashboard.py
    … bench/bench_dashboard.py --sessions 200000             # quicker
    … bench/bench_dashboard.py --days 90                     # 1M over 90 days: a third in the window
    … bench/bench_dashboard.py --keep / --reuse              # keep the database, rerun without refilling
    … bench/bench_dashboard.py --sweep-cost 3                # also: the index's cost to the expiry sweep

Builds a throwaway database (``--database``, default ``checkout_ops_bench``, on the server of
DATABASE_URL: created, migrated, dropped at the end unless ``--keep``), seeds the demo merchant,
creates one session per demo plan through the real API (so rows carry real quote/estimates
JSON) and fills ``--sessions`` sessions (default 1,000,000) from them with one
``INSERT … SELECT … FROM generate_series`` per 100,000 rows:

    created evenly over the last ``--days`` days (default 30: every row is inside the
    dashboard's 30-day window, its worst case); 80 % live, 20 % test; spread over the demo's
    plans; 80 % with utm attribution (5 sources × 6 campaigns), 20 % without; outcomes 45 %
    completed, 30 % expired, 15 % cancelled, 10 % still open or processing.

Then VACUUM ANALYZE (as autovacuum would leave the table) and, ``--repeat`` times each: the
dashboard's selector (every query the page runs), the whole page through Django (staff user:
selector, SVG charts, template) and the metrics scrape. Prints the median and the slowest run
of each, and the plan of the dashboard's query (it must be an index-only scan).

``--sweep-cost ROUNDS`` then times the real expiry sweep on 50,000 due sessions of the table
with and without ``session_dashboard`` (dropped and rebuilt), alternating, ROUNDS times each.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, database_create, database_drop, sessions_clone  # noqa: E402

SOURCES = ["google", "newsletter", "linkedin", "partner", "producthunt"]
CAMPAIGNS = ["spring_sale", "brand", "retargeting", "webinar", "launch", "black_friday"]


def templates_create(demo: dict) -> list:
    """One session per demo plan, created through the API: the fill copies their JSON."""
    from django.test import Client

    from checkout.models import CheckoutSession

    client = Client(HTTP_AUTHORIZATION=f"Bearer {demo['api_key']}")
    ids = []
    for plan_id in demo["plans"].values():
        response = client.post("/api/v1/checkout-sessions", json.dumps({
            "customer_id": demo["customers"][1], "plan_id": plan_id,
            "success_url": "https://merchant.example/success?cs={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://merchant.example/cancel",
            "attribution": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand",
                            "landing_page": "https://merchant.example/pricing"},
            "metadata": {"order": "bench"},
        }), content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"create answered {response.status_code}: {response.content[:300]!r}")
        ids.append(response.json()["id"])
    return list(CheckoutSession.objects.filter(pk__in=ids).values_list("pk", flat=True))


def fill(n: int, days: int, template_ids: list) -> None:
    from django.db import connection

    from checkout.models import CheckoutSession

    # Row i: evenly spread over the window (heap order = arrival order, as in production).
    created = f"(now() - interval '{days} days' + (i::float8 / {n}) * interval '{days} days')"
    pick = "((i::bigint * 7919) %% 1000)"
    sources = "ARRAY[" + ", ".join(f"'{s}'" for s in SOURCES) + "]"
    campaigns = "ARRAY[" + ", ".join(f"'{c}'" for c in CAMPAIGNS) + "]"
    unattributed = "((i * 13) %% 5 = 0)"
    source = f"({sources})[1 + (i * 31) %% {len(SOURCES)}]"
    campaign = f"({campaigns})[1 + (i * 17) %% {len(CAMPAIGNS)}]"
    overrides = {
        "id": "gen_random_uuid()",
        "token": "'cs_bench_' || i",
        "livemode": "(i %% 5 <> 0)",
        "created_at": created,
        "updated_at": created,
        "expires_at": f"{created} + interval '24 hours'",
        "status": (f"CASE WHEN {pick} < 450 THEN 'completed' WHEN {pick} < 750 THEN 'expired' "
                   f"WHEN {pick} < 900 THEN 'cancelled' WHEN {pick} < 980 THEN 'open' ELSE 'processing' END"),
        "completed_at": f"CASE WHEN {pick} < 450 THEN {created} + interval '1 hour' END",
        "expired_at": f"CASE WHEN {pick} BETWEEN 450 AND 749 THEN {created} + interval '24 hours' END",
        "cancelled_at": f"CASE WHEN {pick} BETWEEN 750 AND 899 THEN {created} + interval '2 hours' END",
        # The reporting columns as the create service writes them (templates carry amount_total).
        "attribution": (f"CASE WHEN {unattributed} THEN NULL ELSE jsonb_build_object("
                        f"'utm_source', {source}, 'utm_medium', 'cpc', 'utm_campaign', {campaign}, "
                        f"'landing_page', 'https://merchant.example/pricing') END"),
        "utm_source": f"CASE WHEN {unattributed} THEN NULL ELSE {source} END",
        "utm_campaign": f"CASE WHEN {unattributed} THEN NULL ELSE {campaign} END",
    }
    sessions_clone(n, template_ids, overrides)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {CheckoutSession._meta.db_table}")


def index_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('session_dashboard')), "
                       "pg_size_pretty(pg_relation_size('checkout_checkoutsession'))")
        index, table = cursor.fetchone()
    return f"{index} (the table: {table})"


def plan_scan(plan: str) -> str:
    return next((line.strip().lstrip("-> ").split("  (")[0] for line in plan.splitlines() if "Scan" in line), "?")


SWEPT = 50_000


def sweep_cost(rounds: int) -> None:
    """Expire SWEPT sessions with the real sweep, with and without session_dashboard."""
    from django.db import connection

    from checkout.models import CheckoutSession
    from checkout.sessions.expiry import checkout_sessions_expire_due

    index = next(i for i in CheckoutSession._meta.indexes if i.name == "session_dashboard")

    def run(sql, *params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def index_present(present: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_class WHERE relname = 'session_dashboard'")
            exists = cursor.fetchone() is not None
        with connection.schema_editor(atomic=False) as editor:
            if present and not exists:
                editor.add_index(CheckoutSession, index)
            elif exists and not present:
                editor.remove_index(CheckoutSession, index)

    def reopen() -> None:
        # The oldest SWEPT expired sessions become open and due again; the sweep's events go.
        run("DELETE FROM checkout_event WHERE type = 'checkout_session.expired'")
        run("UPDATE checkout_checkoutsession SET status = 'open', expired_at = NULL WHERE id IN "
            "(SELECT id FROM checkout_checkoutsession WHERE status = 'expired' ORDER BY created_at LIMIT %s)", SWEPT)
        run("VACUUM ANALYZE checkout_checkoutsession")
        run("VACUUM checkout_event")
        run("CHECKPOINT")

    checkout_sessions_expire_due()  # the fill's own due open sessions, untimed
    print(f"\nThe expiry sweep on {SWEPT:,} due sessions, with and without session_dashboard:")
    try:
        for round_ in range(1, rounds + 1):
            for present in (True, False):
                index_present(present)
                reopen()
                started = time.perf_counter()
                expired = checkout_sessions_expire_due()
                seconds = time.perf_counter() - started
                print(f"  round {round_} {'with   ' if present else 'without'}: {expired:,} expired in "
                      f"{seconds:.2f} s = {expired / seconds:,.0f}/s", flush=True)
    finally:
        index_present(True)


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def report(name: str, times: list[float]) -> str:
    return (f"{name}: median {statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms, "
            f"first {times[0] * 1000:.0f} ms ({len(times)} runs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30, help="Spread the sessions over this many days.")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database", default="checkout_ops_bench")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a kept bench database (no refill).")
    parser.add_argument("--sweep-cost", type=int, default=0, metavar="ROUNDS",
                        help="Also time the expiry sweep with and without session_dashboard, ROUNDS times each.")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
        return 2
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench_url = urlunsplit(parts._replace(path=f"/{args.database}"))
    fresh = database_create(admin_url, args.database, reuse=args.reuse)
    # Not eager: the sweep's "dispatch the outbox" message goes to the in-memory broker instead
    # of running inside the timed sweep.
    env = bench_env(bench_url, REDIS_URL=None, CELERY_BROKER_URL=None, CELERY_TASK_ALWAYS_EAGER="false",
                    CHECKOUT_CREATE_RATE_LIMIT="0",
                    METRICS_TOKEN="bench-metrics-token", LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
                    ADMIN_2FA_REQUIRED="false")  # the page is requested with force_login (no TOTP code)
    os.environ.clear()
    os.environ.update(env)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from checkout.demo import demo_merchant_seed
    from checkout.models import CheckoutSession
    from checkout.selectors import conversion_dashboard_get, conversion_dashboard_querysets

    try:
        call_command("migrate", verbosity=0)
        demo = demo_merchant_seed().as_json()
        if fresh:
            template_ids = templates_create(demo)
            started = time.perf_counter()
            print(f"Filling {args.sessions:,} sessions over {args.days} days …")
            fill(args.sessions, args.days, template_ids)
            print(f"  done in {time.perf_counter() - started:.0f} s")
        total = CheckoutSession.objects.count()
        dashboard = conversion_dashboard_get(livemode=True)
        print(f"Table: {total:,} sessions; in the dashboard's window (live): {dashboard.totals.created:,}; "
              f"index session_dashboard: {index_size()}.\n")
        organization_id = demo["organization_id"]
        for name, queryset in conversion_dashboard_querysets(livemode=True).items():
            print(f"Plan of the dashboard's query by {name}:")
            print("\n".join("  " + line for line in queryset.explain(analyze=True, buffers=True).splitlines()))
        plan = conversion_dashboard_querysets(livemode=True, organization_id=organization_id)["days"].explain()
        print(f"With the demo organization chosen (all rows are its), the query by day scans: "
              f"{plan_scan(plan)}\n")

        staff = get_user_model().objects.filter(username="bench-ops").first() or \
            get_user_model().objects.create_superuser("bench-ops", "ops@example.com", "pw")
        browser = Client()
        browser.force_login(staff)
        page = reverse("admin:checkout_checkoutsession_dashboard")
        scraper = Client(HTTP_AUTHORIZATION="Bearer bench-metrics-token")

        def page_get():
            response = browser.get(page)
            assert response.status_code == 200, response.status_code

        def scrape():
            response = scraper.get("/metrics")
            assert response.status_code == 200, response.status_code

        results = [
            report("dashboard selector (live mode, every query)", timed(lambda: conversion_dashboard_get(livemode=True),
                                                                      args.repeat)),
            report("dashboard selector (test mode)", timed(lambda: conversion_dashboard_get(livemode=False), args.repeat)),
            report("dashboard selector (live, one organization)",
                   timed(lambda: conversion_dashboard_get(livemode=True, organization_id=organization_id), args.repeat)),
            report("dashboard page, whole request", timed(page_get, args.repeat)),
            report("metrics scrape, whole request", timed(scrape, args.repeat)),
        ]
        print("\n".join(results))
        if args.sweep_cost:
            sweep_cost(args.sweep_cost)
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_drop(admin_url, args.database)


if __name__ == "__main__":
    sys.exit(main())
