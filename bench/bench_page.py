"""Benchmark: rendering the open hosted checkout page under load.

What it does
1. Migrates the database named by DATABASE_URL (PostgreSQL; use a scratch one) and creates a
   merchant and an open session priced by the real engine: four items (flat fee, per-unit
   seats, one-time onboarding, tiered usage in arrears), 8.25 % tax and a guest customer (the
   biggest form), so the page shows two invoices, tiers and the guest form. It also clones that
   session ``--distinct`` times (new ids and tokens) for the cache-miss run.
2. Counts the SQL queries of one render in-process (Django test client + CaptureQueriesContext)
   for that session and for a session with 3× the items: the count must not grow.
3. Starts gunicorn (production settings: DEBUG off, cached templates, whitenoise) and sends
   GET /pay/<token> from N concurrent keep-alive clients for a fixed time after a warm-up,
   twice: the same session over and over (the page cache warm), then cycling through the
   clones (every render a cache miss). Prints p50/p90/p99/max, throughput, and the server's
   CPU time per request (from /proc), which stays meaningful when other work shares the CPUs.

Run (from the repository root):
    createdb -h 127.0.0.1 -U postgres checkout_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout_bench \\
        uv run python bench/bench_page.py --clients 8 --seconds 20

Target: a constant number of queries per render; p99 under 30 ms at 8 concurrent clients.
The clients run on the same machine as the server and take CPU from it.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn_start, gunicorn_stop, percentile, server_cpu_seconds  # noqa: E402
from bench.loadgen import closed_loop, request_bytes  # noqa: E402


def _env() -> dict:
    """The app's environment: production settings (DEBUG off, cached templates, whitenoise)."""
    return bench_env(DEBUG="false", LOG_LEVEL="WARNING")


def setup_django():
    for key, value in _env().items():
        os.environ.setdefault(key, value)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database (see the module docstring).")
    import django

    django.setup()


def seed(extra_items: int = 0):
    """An open guest session priced by the real engine; returns it."""
    from tests.checkout.pages.helpers import API_CALLS, ONBOARDING, PLATFORM, SEATS, priced_session

    specs = [SEATS, PLATFORM, ONBOARDING, API_CALLS]
    for i in range(extra_items):
        specs.append(({**SEATS[0], "product__name": f"Add-on {i}"}, i + 1))
    import uuid
    from decimal import Decimal

    from tests.core.factories import OrganizationFactory

    organization = OrganizationFactory(name=f"Bench merchant {uuid.uuid4().hex[:8]}")  # re-runnable
    return priced_session(organization=organization, guest=True, specs=tuple(specs), tax_rate=Decimal("8.25"))


def clone(session, count: int) -> list[str]:
    """``count`` copies of ``session`` (new ids and tokens), for cache-miss runs."""
    import uuid

    from checkout.models import CheckoutSession
    from checkout.tokens import session_token_new

    fields = {f.attname: getattr(session, f.attname) for f in CheckoutSession._meta.concrete_fields}
    copies = [CheckoutSession(**{**fields, "id": uuid.uuid4(), "token": session_token_new()}) for _ in range(count)]
    CheckoutSession.objects.bulk_create(copies, batch_size=500)
    return [c.token for c in copies]


def queries_per_render(token: str) -> tuple[int, int]:
    """(queries of a first render, queries of a render from the page cache)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from checkout.pages import open_page_cache

    client = Client()
    counts = []
    open_page_cache.clear()
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/pay/{token}")
        assert response.status_code == 200, response.status_code
        counts.append(len(captured.captured_queries))
    return counts[0], counts[1]


def run(port, server, label, paths, args):
    marks = {}
    requests = [request_bytes("GET", path) for path in paths]
    result = closed_loop(port, lambda n: requests[n % len(requests)], clients=args.clients,
                         seconds=args.seconds, warmup=args.warmup,
                         on_measure_start=lambda: marks.setdefault("cpu", server_cpu_seconds(server)))
    cpu = server_cpu_seconds(server) - marks["cpu"]
    latencies, errors = result.latencies_ms, result.errors
    if not latencies:
        sys.exit("no successful requests")
    print(f"\n{label}")
    print(f"  requests: {len(latencies)} ok, {errors} failed, {len(latencies) / args.seconds:.0f} req/s; "
          f"server CPU per request {cpu / len(latencies) * 1000:.1f} ms")
    print(f"  latency ms: p50 {percentile(latencies, 50):.1f}  p90 {percentile(latencies, 90):.1f}  p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  mean {statistics.fmean(latencies):.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--distinct", type=int, default=3000,
                        help="sessions for the cache-miss run (more than the page cache holds)")
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    session = seed()
    bigger = seed(extra_items=8)
    tokens = clone(session, args.distinct)
    q_small, q_big = queries_per_render(session.token), queries_per_render(bigger.token)
    lines = len(session.estimates["current_invoice"]["line_items"]) + len(
        session.estimates["next_invoice"]["line_items"])

    from django.db import connections

    connections.close_all()
    server, port = gunicorn_start("config.wsgi:application", env=_env(), workers=args.workers,
                                  threads=args.threads)
    print(f"open hosted page: guest session, {lines} invoice lines; machine: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} before the run")
    print(f"server: gunicorn gthread, {args.workers} workers × {args.threads} threads, DEBUG off")
    print(f"queries per render: first {q_small[0]}, cached {q_small[1]} "
          f"(session with 3× the items: {q_big[0]}, {q_big[1]})")
    print(f"load: {args.clients} concurrent keep-alive clients, {args.seconds:.0f} s after {args.warmup:.0f} s warm-up")
    try:
        run(port, server, "same session, page cache warm (a customer reloading, form errors aside):",
            [f"/pay/{session.token}"], args)
        run(port, server, f"{args.distinct} distinct sessions, every render a cache miss (worst case):",
            [f"/pay/{token}" for token in tokens], args)
    finally:
        gunicorn_stop(server)


if __name__ == "__main__":
    main()
