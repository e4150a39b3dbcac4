"""The reference topology's sizing figures (docs/scaling.md): create, page and confirm, on one web
node and through nginx on both, with the CPU each piece spent per request.

    uv run python bench/bench_topology.py [--base 18600] [--seconds 10] [--clients 16] [--keep]

Starts scripts/topology.py's topology on ``--base`` (or uses the one running there), seeds the
demo merchant, then for each workload and target drives a closed loop (bench/loadgen.py) for
``--seconds`` after a 2 s warm-up and prints one markdown row: requests/s, p50 and p99, errors,
and CPU milliseconds per request of the web nodes, the primary PostgreSQL, PgBouncer and nginx
(from /proc), plus the primary's transactions per request. Workloads:

- create: ``POST /api/v1/checkout-sessions`` (the demo plan, a known customer), 201;
- page:   ``GET /pay/<token>``, each request another session's first render on that node, 200;
- confirm: ``POST /pay/<token>`` with the test card, each request another open session, 302.

The client runs on the same cores as everything else: read the figures as this machine's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import cpu_seconds, percentile, process_tree  # noqa: E402
from bench.loadgen import closed_loop, request_bytes  # noqa: E402
from scripts.topology import PYTHON, ROOT, Topology  # noqa: E402

CARD = {"payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}


def _tree(pid: int | None) -> list[int]:
    """``pid``, its children and grandchildren (runuser -> pgbouncer, nginx master -> workers)."""
    if pid is None:
        return []
    pids = []
    for child in process_tree(pid):
        pids.extend(process_tree(child) if child != pid else [pid])
    return sorted(set(pids))


def _postmaster_tree(topology: Topology, name: str) -> list[int]:
    pid = int((topology.state / name / "postmaster.pid").read_text().split()[0])
    return process_tree(pid)


def _components(topology: Topology) -> dict[str, list[int]]:
    return {
        "web": _tree(topology.pid("web1")) + _tree(topology.pid("web2")),
        "db": _postmaster_tree(topology, "primary"),
        "pgbouncer": _tree(topology.pid("pgbouncer")),
        "nginx": _tree(topology.pid("nginx")),
    }


def _xacts(conn) -> int:
    return conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'checkout'"
                        ).fetchone()[0]


def run(topology: Topology, *, seconds: float, clients: int) -> list[str]:
    seeded = subprocess.run([PYTHON, "manage.py", "seed_demo", "--json"], cwd=ROOT, check=True, capture_output=True,
                            text=True, env=topology.env(DATABASE_URL=topology.database_url("primary")))
    demo = json.loads(seeded.stdout)
    auth = {"Authorization": f"Bearer {demo['api_key']}", "Content-Type": "application/json"}
    body = json.dumps({"plan_id": demo["plans"]["Growth (monthly)"], "customer_id": demo["customers"][1],
                       "success_url": "https://merchant.example/success", "cancel_url": "https://merchant.example/c",
                       "pending_url": "https://merchant.example/p"}).encode()
    create = request_bytes("POST", "/api/v1/checkout-sessions", headers=auth, body=body)
    db = psycopg.connect(topology.database_url("primary"), autocommit=True)

    def open_tokens() -> list[str]:
        return [row[0] for row in db.execute(
            "SELECT token FROM checkout_checkoutsession WHERE status = 'open' AND organization_id = %s "
            "ORDER BY created_at DESC", [demo["organization_id"]])]

    csrf = secrets.token_hex(16)  # 32 characters: the cookie's secret, sent unmasked in the form too
    form = urlencode({**CARD, "csrfmiddlewaretoken": csrf}).encode()

    def confirm(token: str) -> bytes:
        return request_bytes("POST", f"/pay/{token}", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"}, body=form)

    targets = {"1 node": topology.ports["web1"], "nginx, 2 nodes": topology.ports["nginx"]}
    rows = []
    for workload, target in itertools.product(("create", "page", "confirm"), targets):
        port = targets[target]
        if workload == "create":
            next_request, expect = (lambda n: create), 201
        elif workload == "page":
            tokens = open_tokens()
            next_request, expect = (lambda n, t=tokens: request_bytes("GET", f"/pay/{t[n % len(t)]}")), 200
        else:
            tokens = open_tokens()
            next_request, expect = (lambda n, t=tokens: confirm(t[n % len(t)])), 302
        pids = _components(topology)
        marks = {}

        def measure_start(pids=pids, marks=marks):
            marks["cpu"] = {name: cpu_seconds(p) for name, p in pids.items()}
            marks["xacts"] = _xacts(db)
            marks["at"] = time.perf_counter()

        result = closed_loop(port, next_request, clients=clients, seconds=seconds, warmup=2.0,
                             expect_status=expect, on_measure_start=measure_start)
        cpu = {name: cpu_seconds(p) - marks["cpu"][name] for name, p in pids.items()}
        xacts = _xacts(db) - marks["xacts"]
        done = len(result.latencies_ms)
        if workload == "confirm" and done + clients > len(tokens):
            print(f"warning: {done} confirms but only {len(tokens)} open sessions", file=sys.stderr)
        per = max(done, 1)
        rows.append(
            f"| {workload} | {target} | {done / seconds:.0f} | {percentile(result.latencies_ms, 50):.1f} | "
            f"{percentile(result.latencies_ms, 99):.1f} | {result.errors} | "
            f"{cpu['web'] * 1000 / per:.2f} | {cpu['db'] * 1000 / per:.2f} | {xacts / per:.1f} | "
            f"{cpu['pgbouncer'] * 1000 / per:.2f} | {cpu['nginx'] * 1000 / per:.2f} |")
        print(rows[-1], flush=True)
    db.close()
    return rows


HEADER = ("| workload | target | req/s | p50 ms | p99 ms | errors | web CPU ms/req | primary CPU ms/req | "
          "primary xacts/req | PgBouncer CPU ms/req | nginx CPU ms/req |\n|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=18600)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="leave the topology running (and its data)")
    args = parser.parse_args()
    topology = Topology(args.base, extra_env={"CHECKOUT_CREATE_RATE_LIMIT": "0", "LOG_LEVEL": "WARNING"})
    topology.start()
    try:
        print(HEADER, flush=True)
        run(topology, seconds=args.seconds, clients=args.clients)
    finally:
        if not args.keep:
            topology.stop(purge=True)


if __name__ == "__main__":
    main()
