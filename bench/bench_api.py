"""The create workload: POST /api/v1/checkout-sessions against the floor, open loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout_bench REDIS_URL=redis://127.0.0.1:6379/11 \
        uv run python bench/bench_api.py [--rounds 3] [--seconds 10]

One command, one run:
1. creates (if missing), migrates and seeds the database named by DATABASE_URL (a scratch one:
   a merchant, a customer, a 3-item plan, a secret API key) and counts the SQL statements of
   one create in-process;
2. starts gunicorn with the production configuration (``config/gunicorn.py``, as the README
   runs it: 4 threaded workers × 8 threads, keep-alive, access log) on ``bench.floor``: the
   real app plus the floor, the thinnest DRF endpoint that validates a body and inserts one row;
3. measures both sides' saturation throughput (closed loop), then drives both at 25, 50 and
   75 % of the floor's saturation rate at a fixed offered rate (open loop, latency from each
   request's scheduled send time), interleaved and repeated (``bench/slo.py``);
4. prints p50/p99/p99.9 of each side, their ratios and CPU per request, and the targets:
   at 50 % of the floor's rate, create p99 ≤ 2 × the floor's; create's saturation throughput
   ≥ 50 % of the floor's.

Creates carry a fresh Idempotency-Key each (the claim and the stored response) and pass the
rate limiter on Redis (REDIS_URL; its limit raised for the run). Each create also queues its
outbox task on Redis (no worker runs: the queue, key ``celery``, is deleted at the end).
Database connections stay open between requests (CONN_MAX_AGE, the production default).
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_env, database_create, gunicorn_start, gunicorn_stop  # noqa: E402
from bench.loadgen import request_bytes  # noqa: E402
from bench.slo import Meter, Side, compare, slo_arguments, verdict  # noqa: E402

CREATE_PATH = "/api/v1/checkout-sessions"
FLOOR_PATH = "/bench/floor"
TARGET_P99_RATIO = 2.0
TARGET_SATURATION_RATIO = 0.50


def _env(database_url: str) -> dict:
    env = bench_env(database_url, DEBUG="false", CHECKOUT_CREATE_RATE_LIMIT="100000000")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    return env


def prepare(database_url: str, *, in_process: int = 0) -> dict:
    """Create, migrate and seed the bench database; returns what the clients need (and, with
    ``in_process``, the app's CPU per create over that many creates in-process)."""
    env = {**_env(database_url), "BENCH_IN_PROCESS": str(in_process)}
    db_name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    database_create(admin_url, db_name, reuse=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    seed = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True)
    if seed.returncode:
        sys.exit(f"seeding failed:\n{seed.stderr}")
    return json.loads(seed.stdout.strip().splitlines()[-1])


def _queue_delete(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete("celery")


SEED = r"""
import json, os, django
from decimal import Decimal
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from billing.models import Plan, PlanItem, Pricing, Product
from core.services import api_key_create, organization_get_or_create
from customers.models import Customer
org, entity, _ = organization_get_or_create(name="Bench merchant")
customer, _ = Customer.objects.get_or_create(organization=org, email="bench@example.com",
                                             defaults={"customer_name": "Bench", "business_entity": entity})
plan, created = Plan.objects.get_or_create(organization=org, code="bench", version=1,
                                           defaults={"name": "Bench", "currency": "USD", "status": "active"})
if created:
    for n, (name, kwargs, qty, lo, hi, opt) in enumerate([
        ("Platform", {"pricing_model": "flat_fee", "unit_amount": Decimal("49.00")}, 1, 1, 1, False),
        ("Seats", {"pricing_model": "per_unit", "unit_amount": Decimal("12.00")}, 3, 1, 50, False),
        ("Storage", {"pricing_model": "volume", "tiers": [
            {"up_to": 100, "unit_amount": "0.50", "flat_amount": "0"},
            {"up_to": None, "unit_amount": "0.40", "flat_amount": "5.00"}]}, 50, 0, None, True),
    ]):
        product = Product.objects.create(organization=org, name=name)
        pricing = Pricing.objects.create(organization=org, product=product, currency="USD", billing="recurring",
                                         cadence="P1M", timing="in_advance", **kwargs)
        PlanItem.objects.create(plan=plan, product=product, pricing=pricing, default_quantity=qty,
                                min_quantity=lo, max_quantity=hi, is_optional=opt, position=n)
seats = PlanItem.objects.get(plan=plan, position=1).product_id
_, key = api_key_create(organization=org, name="bench")
# One create in-process, its SQL statements counted as the tests count them (BEGIN/COMMIT included).
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
body = {"contract": {"is_plan_based": True, "plan_id": str(plan.id), "currency": "USD",
                     "start_date": __import__("datetime").date.today().isoformat()},
        "customer_id": str(customer.id), "product_overrides": [{"product_id": str(seats), "quantity": 5}]}
client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
for n in range(3):  # the last one counts: caches warm, statements prepared
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/checkout-sessions", body, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=f"seed-{os.getpid()}-{n}")
    assert response.status_code == 201, response.content
statements = len(queries)  # now: every request clears the log (request_started)
# --in-process: the app's own CPU per create (Django's test client, this one process; the
# database's CPU is not in it), median of 5 batches after a warm-up: steadier than any latency.
import time
creates, cpu_ms = int(os.environ.get("BENCH_IN_PROCESS", "0")), []
for batch in range(6 if creates else 0):
    started = time.process_time()
    for n in range(creates):
        response = client.post("/api/v1/checkout-sessions", body, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=f"cpu-{os.getpid()}-{batch}-{n}")
        assert response.status_code == 201, response.content
    if batch:  # batch 0 warms up
        cpu_ms.append((time.process_time() - started) / creates * 1000)
print(json.dumps({"key": key, "plan": str(plan.id), "customer": str(customer.id), "seats": str(seats),
                  "queries": statements, "cpu_ms": cpu_ms}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    slo_arguments(parser)
    parser.add_argument("--no-idempotency-key", action="store_true",
                        help="send creates without Idempotency-Key (no claim statement)")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="also time N creates in-process, 5 times (the app's CPU per create)")
    parser.add_argument("--in-process-only", action="store_true", help="only that (no gunicorn)")
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database (created if missing).")

    seed = prepare(database_url, in_process=args.in_process or (500 if args.in_process_only else 0))
    if seed["cpu_ms"]:
        figures = ", ".join(f"{ms:.2f}" for ms in sorted(seed["cpu_ms"]))
        print(f"in-process CPU per create (app only, Idempotency-Key, {seed['queries']} statements): median "
              f"{statistics.median(seed['cpu_ms']):.2f} ms [{figures}]")
        if args.in_process_only:
            return
    env = _env(database_url)
    create_body = json.dumps({
        "contract": {"is_plan_based": True, "plan_id": seed["plan"], "currency": "USD",
                     "start_date": datetime.date.today().isoformat()},  # a start in the past is refused
        "customer_id": seed["customer"],
        "product_overrides": [{"product_id": seed["seats"], "quantity": 5}],
        "success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel",
        "metadata": {"order": "@@UNIQUE@@"},
    })
    json_headers = {"Content-Type": "application/json"}
    auth_headers = {**json_headers, "Authorization": f"Bearer {seed['key']}"}

    def create(n: int) -> bytes:
        unique = uuid.uuid4().hex
        headers = auth_headers if args.no_idempotency_key else {**auth_headers, "Idempotency-Key": unique}
        body = create_body.replace("@@UNIQUE@@", unique).encode()
        return request_bytes("POST", CREATE_PATH, headers=headers, body=body)

    def floor(n: int) -> bytes:
        return request_bytes("POST", FLOOR_PATH, headers=json_headers,
                             body=json.dumps({"name": f"bench-{uuid.uuid4().hex}"}).encode())

    server, port = gunicorn_start("bench.floor:application", env=env, production=True,
                                  workers=args.workers, threads=args.threads)
    workers = args.workers or "4 (config)"
    threads = args.threads or "8 (config)"
    print(f"create workload: POST {CREATE_PATH} (Idempotency-Key: {not args.no_idempotency_key}, "
          f"{seed['queries']} SQL statements per create) against the floor POST {FLOOR_PATH} "
          f"(DRF: validate one field, insert one row)")
    print(f"server: gunicorn -c config/gunicorn.py, {workers} workers × {threads} threads; "
          f"database {database_url.rsplit('/', 1)[1]}; {os.cpu_count()} CPUs")
    try:
        summary = compare(port, Side("floor", floor, 201), Side("create", create, 201),
                          Meter(server, database_url),
                          fractions=[float(f) for f in args.fractions.split(",")], rounds=args.rounds,
                          seconds=args.seconds, sat_seconds=args.sat_seconds, sat_clients=args.sat_clients)
    finally:
        gunicorn_stop(server)
        _queue_delete(env["REDIS_URL"])

    print()
    sat = statistics.median(summary["sat_ratios"])
    print(f"create / floor throughput at saturation: {sat:.0%} (target ≥ {TARGET_SATURATION_RATIO:.0%}) "
          f"{verdict(sat >= TARGET_SATURATION_RATIO)}")
    if 0.5 in summary["fractions"]:
        ratio = statistics.median(summary["fractions"][0.5]["ratios"]["p99"])
        print(f"create p99 / floor p99 at 50 % of the floor's saturation rate: {ratio:.2f} "
              f"(target ≤ {TARGET_P99_RATIO:.1f}) {verdict(ratio <= TARGET_P99_RATIO)}")
    print(f"SQL statements per create: {seed['queries']} (BEGIN/COMMIT included; target ≤ 7)")


if __name__ == "__main__":
    main()
