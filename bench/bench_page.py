"""The page workload: the hosted checkout page's first render (GET /pay/<token>) against the
floor, open loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout_bench \\
        uv run python bench/bench_page.py [--rounds 3] [--seconds 10]

One command, one run:
1. migrates the database named by DATABASE_URL (a scratch PostgreSQL one) and creates a
   merchant and an open session priced by the real engine: four items (flat fee, per-unit
   seats, one-time onboarding, tiered usage in arrears), 8.25 % tax and a guest customer (the
   biggest form), so the page shows two invoices, tiers and the guest form; then ``--distinct``
   copies of it (new ids and tokens), so every request below is a session's first render
   (each gunicorn worker's page cache holds 256 pages; cycling through 4,000 sessions, a worker
   sees ~1,000 others before a token comes back);
2. counts the SQL statements of one render in-process, for that session and for one with 3×
   the items (the count must not grow), and times the render in-process: the whole view
   (Django's test client, every render a first one) and the template engine alone (the open
   page's template rendered again and again from one context);
3. starts gunicorn with the production configuration (``config/gunicorn.py``) on
   ``bench.floor``: the real app plus the floor, here its read endpoint ``GET
   /bench/floor/<token>`` (DRF: one row by a unique index, the same sessions' tokens, JSON);
4. measures both sides' saturation throughput (closed loop), then drives both at 25, 50 and
   75 % of the floor's saturation rate (open loop, latency from each request's scheduled send
   time), interleaved and repeated (``bench/slo.py``), and prints p50/p99/p99.9, their ratios,
   CPU per request and the target: at 50 % of the floor's rate, the page's p99 ≤ 2 × the
   floor's.

``--floor write`` compares with the create floor (``POST /bench/floor``: validate, insert one
row) instead; ``--cached`` drives one session over and over (every render from the page cache).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, gunicorn_start, gunicorn_stop  # noqa: E402
from bench.loadgen import request_bytes  # noqa: E402
from bench.slo import Meter, Side, compare, slo_arguments, verdict  # noqa: E402

TARGET_P99_RATIO = 2.0


def _env() -> dict:
    """The app's environment: production settings (DEBUG off, cached templates, whitenoise)."""
    return bench_env(DEBUG="false")


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
    """``count`` copies of ``session`` (new ids and tokens), for first renders."""
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


def in_process(tokens: list[str], repeats: int = 3) -> tuple[list[float], list[float]]:
    """CPU ms per first render through the test client (the whole view, page cache cleared
    before each), and per render of the open page's template alone from one captured context.
    ``repeats`` rounds each, to show the spread."""
    from django.template.loader import render_to_string
    from django.test import Client

    from checkout import views
    from checkout.pages import open_page_cache

    client = Client()
    captured = {}
    real = views.render_to_string

    def capture(name, context=None, *args, **kwargs):
        captured.setdefault(name, context)
        return real(name, context, *args, **kwargs)

    views.render_to_string = capture
    try:
        client.get(f"/pay/{tokens[0]}")
    finally:
        views.render_to_string = real
    context = captured["checkout/open.html"]
    whole, template = [], []
    for _ in range(repeats):
        started = time.process_time()
        for token in tokens:
            open_page_cache.clear()
            assert client.get(f"/pay/{token}").status_code == 200
        whole.append((time.process_time() - started) / len(tokens) * 1000)
        started = time.process_time()
        for _ in range(len(tokens)):
            render_to_string("checkout/open.html", context)
        template.append((time.process_time() - started) / len(tokens) * 1000)
    return whole, template


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    slo_arguments(parser)
    parser.add_argument("--distinct", type=int, default=4000, help="sessions cycled through (first renders)")
    parser.add_argument("--floor", choices=("read", "write"), default="read")
    parser.add_argument("--cached", action="store_true", help="one session again and again (page cache warm)")
    parser.add_argument("--in-process-only", action="store_true",
                        help="print the statement counts and in-process times, start no server")
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
    whole, template = in_process(tokens[:300], repeats=5 if args.in_process_only else 3)

    from django.db import connections

    connections.close_all()
    database_url = os.environ["DATABASE_URL"]
    page_tokens = [session.token] if args.cached else tokens
    pages = [request_bytes("GET", f"/pay/{token}") for token in page_tokens]
    if args.floor == "read":
        floor_requests = [request_bytes("GET", f"/bench/floor/{token}") for token in tokens]
        floor = Side("floor", lambda n: floor_requests[n % len(floor_requests)], 200)
        floor_text = "GET /bench/floor/<token> (DRF: one row by a unique index, JSON)"
    else:
        import uuid

        def floor_request(n: int) -> bytes:  # organization names are unique
            return request_bytes("POST", "/bench/floor", headers={"Content-Type": "application/json"},
                                 body=f'{{"name": "bench-{uuid.uuid4().hex}"}}'.encode())

        floor = Side("floor", floor_request, 201)
        floor_text = "POST /bench/floor (DRF: validate one field, insert one row)"
    ours = Side("page", lambda n: pages[n % len(pages)], 200)

    print(f"page workload: GET /pay/<token>, {'one session (page cache warm)' if args.cached else 'first renders'}"
          f" of a guest session with {lines} invoice lines, against the floor {floor_text}")
    print(f"SQL statements per render: first {q_small[0]}, cached {q_small[1]} "
          f"(session with 3× the items: {q_big[0]}, {q_big[1]})")
    print(f"in-process CPU per first render (test client, 300 sessions × {len(whole)}): "
          f"{statistics.median(whole):.2f} ms [{min(whole):.2f}–{max(whole):.2f}]; "
          f"the open page's template alone: {statistics.median(template):.3f} ms "
          f"[{min(template):.3f}–{max(template):.3f}]")
    if args.in_process_only:
        return
    server, port = gunicorn_start("bench.floor:application", env=_env(), production=True,
                                  workers=args.workers, threads=args.threads)
    print(f"server: gunicorn -c config/gunicorn.py, {args.workers or '4 (config)'} workers × "
          f"{args.threads or '8 (config)'} threads; database {database_url.rsplit('/', 1)[1]}; "
          f"{os.cpu_count()} CPUs")
    try:
        summary = compare(port, floor, ours, Meter(server, database_url),
                          fractions=[float(f) for f in args.fractions.split(",")], rounds=args.rounds,
                          seconds=args.seconds, sat_seconds=args.sat_seconds, sat_clients=args.sat_clients)
    finally:
        gunicorn_stop(server)

    print()
    sat = statistics.median(summary["sat_ratios"])
    print(f"page / floor throughput at saturation: {sat:.0%}")
    if 0.5 in summary["fractions"]:
        ratio = statistics.median(summary["fractions"][0.5]["ratios"]["p99"])
        print(f"page p99 / floor p99 at 50 % of the floor's saturation rate: {ratio:.2f} "
              f"(target ≤ {TARGET_P99_RATIO:.1f}) {verdict(ratio <= TARGET_P99_RATIO)}")


if __name__ == "__main__":
    main()
