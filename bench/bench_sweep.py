"""Benchmark: the expiry sweep on a big table, and create latency while it runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout uv run python bench/bench_sweep.py
    … bench/bench_sweep.py --sessions 200000 --rounds 2     # quicker
    … bench/bench_sweep.py --keep                           # leave the database for a rerun with --reuse

Builds a throwaway database (``<DATABASE_URL's database>_sweep`` on the same server, or
``--database``: created, migrated, dropped at the end unless ``--keep``), seeds the demo merchant, and fills
``--sessions`` sessions (default 1,000,000) by copying a session created through the real
API, so rows carry real quote/estimates JSON:

    arriving steadily over 7 days, each living 24 hours: 10 % of the table open and past
    expires_at (due), ~14 % open and not yet due (the last day's), the rest history
    (completed / expired / cancelled: not in the partial index)

Then, for each round: POST /api/v1/checkout-sessions in a closed loop with nobody else on
the database (baseline), and again while a separate process runs the sweep
(``checkout_sessions_expire_due``, as the beat task does). Between rounds the swept sessions
are reopened and their events deleted, and the tables vacuumed.

Prints sessions expired per second (the sweep process's own timing), the create throughput
of the same run (the creates/s of the loop without the sweep) and the ratio of the two, and
create latency percentiles without and during the sweep. Targets (issue #17, as ratios so they
hold on any machine): expired/s ≥ 20 × the create throughput; create p99 during the sweep
≤ 1.2 × without it.
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

from bench.common import bench_env, database_create, database_drop, percentile, sessions_clone  # noqa: E402

TARGET_RATE_RATIO = 20.0  # expired/s per create/s
TARGET_P99_RATIO = 1.20


def _env_for_bench(database_url: str) -> dict:
    env = bench_env(
        database_url,
        REDIS_URL=None,
        CELERY_BROKER_URL=None,
        # Not eager: the sweep's one "dispatch the outbox" message goes to the in-memory
        # broker instead of running the outbox pass inside the timed sweep.
        CELERY_TASK_ALWAYS_EAGER="false",
        CHECKOUT_CREATE_RATE_LIMIT="0",
    )
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


# --- the sweeping process ---------------------------------------------------------------

def sweeper_main() -> None:
    import django

    django.setup()
    from django.db import connection

    from checkout.sessions.expiry import checkout_sessions_expire_due

    options = json.loads(os.environ.get("BENCH_SWEEP_OPTIONS") or "{}")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        for name, value in json.loads(os.environ.get("BENCH_SWEEP_SETTINGS") or "{}").items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    expired = checkout_sessions_expire_due(**options)
    seconds = time.perf_counter() - started
    print(json.dumps({"expired": expired, "seconds": seconds}), flush=True)


# --- the benchmark ------------------------------------------------------------------------

def fill(n: int, template_id) -> None:
    # Sessions arrive steadily over 7 days (heap order = arrival order) and live 24 hours.
    # Of those past their expiry, 11.7 % are still open (due: 10 % of the table); the rest
    # ended (completed / expired / cancelled). The last day's are open and not yet due.
    created = f"(now() - interval '7 days' + (i::float8 / {n}) * interval '7 days')"
    past = f"(i <= {n} * 6 / 7)"
    pick = "((i::bigint * 7919) %% 1000)"
    overrides = {
        "id": "gen_random_uuid()",
        "token": "'cs_bench_' || i",
        "created_at": created,
        "updated_at": created,
        "expires_at": f"{created} + interval '24 hours'",
        "status": (f"CASE WHEN NOT {past} THEN 'open' WHEN {pick} < 117 THEN 'open' "
                   f"WHEN {pick} < 600 THEN 'completed' WHEN {pick} < 850 THEN 'expired' ELSE 'cancelled' END"),
        "completed_at": f"CASE WHEN {past} AND {pick} BETWEEN 117 AND 599 THEN {created} + interval '1 hour' END",
        "expired_at": f"CASE WHEN {past} AND {pick} BETWEEN 600 AND 849 THEN {created} + interval '24 hours' END",
        "cancelled_at": f"CASE WHEN {past} AND {pick} >= 850 THEN {created} + interval '2 hours' END",
    }
    sessions_clone(n, [template_id], overrides)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE checkout_checkoutsession")
        cursor.execute("VACUUM ANALYZE checkout_event")


def checkpoint() -> None:
    """Write out the dirty pages of the previous phase, so the next one is not charged for them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def reopen_swept(since=None) -> int:
    """Undo the sweeps (since ``since``, or all of them) so the next round has the same work.

    Sessions are found through their sweep events: the fill wrote none, so the fill's own
    expired history stays as it is."""
    from django.db import connection

    since_sql = "AND created_at >= %s" if since is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH swept AS (DELETE FROM checkout_event WHERE type = 'checkout_session.expired' "
            f"{since_sql} RETURNING checkout_session_id) "
            "UPDATE checkout_checkoutsession SET status = 'open', expired_at = NULL "
            "WHERE status = 'expired' AND id IN (SELECT checkout_session_id FROM swept)",
            [since] if since is not None else [],
        )
        return cursor.rowcount


class Creator:
    def __init__(self, api_key: str, body: dict):
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        self.body = json.dumps(body)

    def one(self) -> float:
        started = time.perf_counter()
        response = self.client.post("/api/v1/checkout-sessions", self.body, content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"create answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    def many(self, count: int) -> list[float]:
        return [self.one() for _ in range(count)]

    def for_seconds(self, seconds: float) -> list[float]:
        latencies, stop = [], time.perf_counter() + seconds
        while time.perf_counter() < stop:
            latencies.append(self.one())
        return latencies

    def until(self, done: threading.Event) -> list[float]:
        latencies = []
        while not done.is_set():
            latencies.append(self.one())
        return latencies


def sweep_with_creates(creator: Creator, env: dict, sweepers: int = 1) -> tuple[dict, list[float]]:
    """Start ``sweepers`` sweeping processes at once (each the beat task's sweep; SKIP LOCKED
    splits the work between them) and time creates until the last one finishes."""
    children = [subprocess.Popen([sys.executable, __file__, "--sweeper"], cwd=ROOT, env=env, text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(sweepers)]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    done, results = threading.Event(), []

    def wait_results():
        for child in children:
            results.append(json.loads(child.stdout.readline()))
        done.set()

    reader = threading.Thread(target=wait_results, daemon=True)
    reader.start()
    started = time.perf_counter()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    latencies = creator.until(done)
    wall = time.perf_counter() - started
    reader.join()
    for child in children:
        child.wait(timeout=60)
    seconds = wall if sweepers > 1 else results[0]["seconds"]
    return {"expired": sum(r["expired"] for r in results), "seconds": seconds}, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=10.0,
                        help="How long creates are timed without the sweep, each round (about as long "
                             "as a sweep lasts, so both p99s come from samples of similar size).")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a kept bench database (no refill).")
    parser.add_argument("--batch-size", type=int, help="Sweep batch size (default: the sweep's own).")
    parser.add_argument("--sweepers", type=int, default=1,
                        help="Sweeping processes started at once (the rate is their total over the wall time).")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="A PostgreSQL setting for the sweep's own session, e.g. wal_compression=lz4 "
                             "(superuser settings need a superuser DATABASE_URL); repeatable.")
    parser.add_argument("--database", help="Name of the scratch database (default: DATABASE_URL's name + _sweep).")
    parser.add_argument("--sweeper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweeper:
        sweeper_main()
        return 0

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
        return 2
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    bench_db = args.database or f"{parts.path.strip('/') or 'checkout'}_sweep"
    bench_url = urlunsplit(parts._replace(path=f"/{bench_db}"))
    fresh = database_create(admin_url, bench_db, reuse=args.reuse)
    env = _env_for_bench(bench_url)
    options = {"batch_size": args.batch_size}
    env["BENCH_SWEEP_OPTIONS"] = json.dumps({k: v for k, v in options.items() if v is not None})
    env["BENCH_SWEEP_SETTINGS"] = json.dumps(dict(item.split("=", 1) for item in args.set))
    print(f"Sweep options: {env['BENCH_SWEEP_OPTIONS']}; sweep session settings: {env['BENCH_SWEEP_SETTINGS']}")
    os.environ.update(env)
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from checkout.demo import demo_merchant_seed
    from checkout.models import CheckoutSession

    try:
        call_command("migrate", verbosity=0)
        demo = demo_merchant_seed().as_json()
        body = {
            "customer_id": demo["customers"][0],
            "plan_id": next(iter(demo["plans"].values())),
            "success_url": "https://merchant.example/success?cs={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://merchant.example/cancel",
            "metadata": {"order": "bench"},
        }
        creator = Creator(demo["api_key"], body)
        creator.many(20)  # warm up: imports, connection, caches
        if fresh:
            template = CheckoutSession.objects.order_by("created_at").first()
            started = time.perf_counter()
            print(f"Filling {args.sessions:,} sessions …")
            fill(args.sessions, template.id)
            vacuum()
            print(f"  done in {time.perf_counter() - started:.0f} s")
        elif reopen_swept():
            vacuum()  # a kept database holds the last round's sweep: undo it
        total = CheckoutSession.objects.count()
        due = CheckoutSession.objects.filter(status="open", expires_at__lte=timezone.now()).count()
        print(f"Table: {total:,} sessions, {due:,} due.\n")

        baseline, during, rates, create_rates, rate_ratios, p99_ratios = [], [], [], [], [], []
        for round_ in range(1, args.rounds + 1):
            checkpoint()
            base = creator.for_seconds(args.baseline_seconds)
            create_rate = len(base) / sum(base)  # one client, back to back: creates per second
            checkpoint()
            round_start = timezone.now()
            result, latencies = sweep_with_creates(creator, env, args.sweepers)
            rate = result["expired"] / result["seconds"]
            p99_ratio = percentile(latencies, 99) / percentile(base, 99)
            print(f"Round {round_}: expired {result['expired']:,} in {result['seconds']:.2f} s = {rate:,.0f}/s "
                  f"= {rate / create_rate:.1f} × the create throughput ({create_rate:.0f}/s without the sweep); "
                  f"create p99 {percentile(base, 99) * 1000:.1f} ms without, "
                  f"{percentile(latencies, 99) * 1000:.1f} ms during ({len(latencies)} creates, "
                  f"{len(latencies) / result['seconds']:.0f}/s): {p99_ratio:.2f}×")
            baseline += base
            during += latencies
            rates.append(rate)
            create_rates.append(create_rate)
            rate_ratios.append(rate / create_rate)
            p99_ratios.append(p99_ratio)
            if round_ < args.rounds:
                reopen_swept(round_start)
                vacuum()

        p99_base, p99_during = percentile(baseline, 99), percentile(during, 99)
        ratio = p99_during / p99_base
        rate = statistics.median(rates)
        rate_ratio = statistics.median(rate_ratios)

        def spread(values, fmt):
            return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"

        print()
        print(f"Sessions expired per second, median [min–max] of {len(rates)} rounds: {spread(rates, '{:,.0f}')}")
        print(f"Create throughput in the same rounds (one client, no sweep): {spread(create_rates, '{:,.0f}')}/s")
        print(f"Expired/s ÷ create/s: {spread(rate_ratios, '{:.1f}')} (target ≥ {TARGET_RATE_RATIO:.0f}) "
              f"{'PASS' if rate_ratio >= TARGET_RATE_RATIO else 'FAIL'}")
        print(f"Create latency without the sweep: p50 {percentile(baseline, 50) * 1000:.1f} ms, "
              f"p99 {p99_base * 1000:.1f} ms ({len(baseline)} requests)")
        print(f"Create latency during the sweep:  p50 {percentile(during, 50) * 1000:.1f} ms, "
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
