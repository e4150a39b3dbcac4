"""Benchmark POST /api/v1/checkout-sessions under gunicorn on PostgreSQL.

    uv run python bench/bench_api.py [--seconds 10] [--clients 8] [--workers 4]

What it does, in one run:
1. migrates and seeds a dedicated database (``checkout_bench``; override with
   BENCH_DATABASE_URL): a merchant, a customer, a 3-item plan and a secret API key;
2. starts gunicorn on this module's WSGI app: the real app plus a *baseline* route, the
   thinnest DRF endpoint that validates a body and inserts one row;
3. drives each endpoint with N concurrent keep-alive clients (``bench/loadgen.py``) for S
   seconds, after a short warm-up, and prints req/s, p50/p95/p99 latency and SQL statements
   per request (counted server-side like Django's test tools: BEGIN/COMMIT included), then
   the create/baseline throughput ratio.

Creates carry a fresh Idempotency-Key each (the heavier path: claim + stored response; see
--no-idempotency-key) and the rate limiter runs against Redis: REDIS_URL, or
redis://127.0.0.1:6379/11 when it is not set (its limit is raised for the run).
Database connections stay open between requests (CONN_MAX_AGE).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    bench_env,
    cpu_seconds,
    database_create,
    gunicorn_start,
    gunicorn_stop,
    percentile,
    server_cpu_seconds,
)
from bench.loadgen import closed_loop, request_bytes  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/checkout_bench"
BASELINE_PATH = "/bench/baseline"
CREATE_PATH = "/api/v1/checkout-sessions"


# --- the server side (imported by gunicorn as bench.bench_api:application) -------------------


def _server_app():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections
    from django.urls import include, path
    from rest_framework import serializers
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from core.models import Organization

    class BaselineSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)

    class BaselineApi(APIView):
        """Validate a body, insert one row, answer 201: the floor any create endpoint stands on."""

        authentication_classes: list = []
        permission_classes: list = []

        def post(self, request):
            serializer = BaselineSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            row = Organization.objects.create(name=serializer.validated_data["name"])
            return Response({"id": str(row.id), "name": row.name}, status=201)

    module = type(sys)("bench_urls")
    module.urlpatterns = [
        path(BASELINE_PATH.lstrip("/"), BaselineApi.as_view()),
        path("", include("config.urls")),
    ]
    sys.modules["bench_urls"] = module
    settings.ROOT_URLCONF = "bench_urls"

    django_app = WSGIHandler()
    # Import every view now (gunicorn --preload runs this once, before forking the workers).
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018

    def app(environ, start_response):
        """Counts the SQL statements of each request (BEGIN/COMMIT included, as
        CaptureQueriesContext does) into an X-Bench-Queries response header."""
        connection = connections["default"]
        connection.force_debug_cursor = True
        connection.queries_log.clear()

        def counting_start_response(status, headers, exc_info=None):
            headers = [*headers, ("X-Bench-Queries", str(len(connection.queries_log)))]
            return start_response(status, headers, exc_info)

        return django_app(environ, counting_start_response)

    return app


if os.environ.get("BENCH_SERVER") == "1":
    application = _server_app()


# --- the client side --------------------------------------------------------------------------


def _backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends connected to the bench database (the ones serving gunicorn)."""
    import psycopg

    with psycopg.connect(database_url.split("?")[0], autocommit=True) as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [b[0] for b in backends]


def drive(
    server: subprocess.Popen,
    database_url: str,
    port: int,
    path: str,
    headers: dict,
    body_template: str,
    *,
    clients: int,
    seconds: float,
    warmup: float,
    idempotent: bool,
) -> dict:
    def next_request(n: int) -> bytes:
        unique = uuid.uuid4().hex
        request_headers = {**headers, "Idempotency-Key": unique} if idempotent else headers
        return request_bytes("POST", path, headers=request_headers,
                             body=body_template.replace("@@UNIQUE@@", unique).encode())

    # CPU is counted from the end of the warm-up (first requests import, connect, fill caches).
    marks = {}

    def measure_start():
        marks.update(app=server_cpu_seconds(server), db=cpu_seconds(_backend_pids(database_url)))

    result = closed_loop(port, next_request, clients=clients, seconds=seconds, warmup=warmup,
                         expect_status=201, keep_headers=True,
                         on_measure_start=measure_start)
    app_cpu = server_cpu_seconds(server) - marks["app"]
    db_cpu = cpu_seconds(_backend_pids(database_url)) - marks["db"]  # backends opened during the run too
    latencies = result.latencies_ms
    queries = [int(h.get("x-bench-queries", 0)) for h in result.headers]
    errors = result.errors
    if not latencies:
        raise SystemExit(f"no successful requests to {path} ({errors} errors)")

    def pct(p):
        return percentile(latencies, p)

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "mean": statistics.fmean(latencies),
        "queries": statistics.fmean(queries),
        "max_queries": max(queries),
        # CPU per measured request: what the app and its database spend, less sensitive than
        # req/s to other processes on a shared machine.
        "app_cpu_ms": app_cpu / len(latencies) * 1000,
        "db_cpu_ms": db_cpu / len(latencies) * 1000,
    }


def _env(database_url: str) -> dict:
    env = bench_env(database_url, DEBUG="false", LOG_LEVEL="ERROR", CONN_MAX_AGE="600",
                    CHECKOUT_CREATE_RATE_LIMIT="100000000")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    return env


def prepare(database_url: str) -> dict:
    """Create, migrate and seed the bench database; returns what the clients need."""
    env = _env(database_url)
    db_name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    database_create(admin_url, db_name, reuse=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    seed = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(seed.stdout.strip().splitlines()[-1])


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
print(json.dumps({"key": key, "plan": str(plan.id), "customer": str(customer.id), "seats": str(seats)}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate baseline/create this many times and keep each one's best round "
        "(evens out other load on a shared machine)",
    )
    parser.add_argument(
        "--no-idempotency-key",
        action="store_true",
        help="send creates without Idempotency-Key (no claim statement)",
    )
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)

    seed = prepare(database_url)
    server, port = gunicorn_start("bench.bench_api:application", env={**_env(database_url), "BENCH_SERVER": "1"},
                                  workers=args.workers, threads=args.threads, preload=True)
    try:
        create_body = json.dumps(
            {
                "contract": {
                    "is_plan_based": True,
                    "plan_id": seed["plan"],
                    "currency": "USD",
                    "start_date": "2026-01-15",
                },
                "customer_id": seed["customer"],
                "product_overrides": [{"product_id": seed["seats"], "quantity": 5}],
                "success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://merchant.example/cancel",
                "metadata": {"order": "@@UNIQUE@@"},
            }
        )
        json_headers = {"Content-Type": "application/json"}
        auth_headers = {**json_headers, "Authorization": f"Bearer {seed['key']}"}
        common = {"clients": args.clients, "seconds": args.seconds, "warmup": args.warmup}
        load_before = os.getloadavg()
        baselines, creates = [], []
        for _ in range(args.rounds):
            baselines.append(
                drive(
                    server,
                    database_url,
                    port,
                    BASELINE_PATH,
                    json_headers,
                    json.dumps({"name": "bench-@@UNIQUE@@"}),
                    idempotent=False,
                    **common,
                )
            )
            creates.append(
                drive(
                    server,
                    database_url,
                    port,
                    CREATE_PATH,
                    auth_headers,
                    create_body,
                    idempotent=not args.no_idempotency_key,
                    **common,
                )
            )
        baseline = max(baselines, key=lambda r: r["rps"])
        create = max(creates, key=lambda r: r["rps"])
        load_after = os.getloadavg()
    finally:
        gunicorn_stop(server)

    name = database_url.rsplit("/", 1)[1]
    print(
        f"gunicorn {args.workers} workers × {args.threads} threads (gthread); {args.clients} keep-alive "
        f"clients; {args.seconds:.0f} s per run (+{args.warmup:.0f} s warm-up); {args.rounds} round(s), "
        f"best kept; {os.cpu_count()} CPUs; database {name}"
    )
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    header = (
        f"{'endpoint':<31}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'queries/req':>13}{'app CPU ms':>12}{'db CPU ms':>11}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, r in (
        ("baseline (validate + 1 insert)", baseline),
        ("POST /checkout-sessions", create),
    ):
        print(
            f"{label:<31}{r['rps']:>8.1f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}"
            f"{r['queries']:>7.2f} (≤{r['max_queries']}){r['app_cpu_ms']:>12.2f}{r['db_cpu_ms']:>11.2f}"
            f"{r['errors']:>8}"
        )
    ratio = create["rps"] / baseline["rps"]
    cpu_ratio = (baseline["app_cpu_ms"] + baseline["db_cpu_ms"]) / (
        create["app_cpu_ms"] + create["db_cpu_ms"]
    )
    print(f"\ncreate / baseline throughput: {ratio:.0%}   (target ≥ 40%)")
    print(f"create / baseline by CPU per request (app + database): {cpu_ratio:.0%}")
    print(f"create p99: {create['p99']:.2f} ms   (target < 30 ms)")
    print(
        f"create queries/request: {create['queries']:.2f}, max {create['max_queries']}   (target ≤ 7)"
    )


if __name__ == "__main__":
    main()
