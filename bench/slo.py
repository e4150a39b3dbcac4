"""Ours against the floor, the way a service-level objective reads: the floor's saturation
rate first, then both sides at fixed fractions of it, open loop, in the same run.

Used by ``bench_api.py`` (create) and ``bench_page.py`` (the hosted page's first render):

1. **Saturation** (closed loop, ``bench/loadgen.py``): ``clients`` keep-alive connections
   each send the next request as soon as the last is answered, for ``sat_seconds``; the
   answered rate is the side's saturation throughput. Floor and ours alternate, ``rounds``
   times; the floor's median is the rate the next step uses.
2. **Fixed rates** (open loop, ``bench/openloop.py``): for each round and each fraction (25, 50
   and 75 % of the floor's saturation rate), the floor and ours in turn (the order swaps every
   round) for ``seconds`` after a one-second warm-up at the same rate. Latency runs from each
   request's scheduled send time; a request that failed or never came back counts as
   infinitely slow in the percentiles.

CPU per request: the gunicorn master and workers plus the PostgreSQL backends connected to the
bench database (``/proc/<pid>/stat``), over the whole step, divided by the answers in it; the
generator's own CPU per request is printed too. Latency ratios are taken within a round
(the floor and ours minutes apart at most) and reported as the median and the range over rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import cpu_seconds, percentile, server_cpu_seconds
from bench.loadgen import closed_loop
from bench.openloop import open_loop


@dataclass
class Side:
    label: str
    make: Callable[[int], bytes]  # the n-th request's bytes
    expect_status: int = 200


class Meter:
    """CPU seconds of the server (gunicorn's processes) and of its database backends."""

    def __init__(self, server: subprocess.Popen, database_url: str):
        self.server = server
        self.database_url = database_url.split("?")[0]

    def _backends(self) -> dict[int, float]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            pids = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()")]
        return {pid: cpu_seconds([pid]) for pid in pids}

    def snapshot(self) -> tuple[float, dict[int, float]]:
        return server_cpu_seconds(self.server), self._backends()

    def since(self, snapshot) -> tuple[float, float]:
        """(app, database) CPU seconds since ``snapshot``; a backend opened meanwhile counts
        from zero, one closed meanwhile is lost (rare: connections live 60 s)."""
        app_before, db_before = snapshot
        app = server_cpu_seconds(self.server) - app_before
        db = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in self._backends().items())
        return app, db


@dataclass
class Step:
    side: str
    rate: float  # offered (open loop) or achieved (saturation), requests/s
    throughput: float
    p50: float
    p99: float
    p999: float
    errors: int
    app_cpu_ms: float
    db_cpu_ms: float
    gen_cpu_ms: float
    lag_p99: float = 0.0

    @property
    def cpu_ms(self) -> float:
        return self.app_cpu_ms + self.db_cpu_ms


def saturate(port: int, side: Side, meter: Meter, *, clients: int, seconds: float, warmup: float) -> Step:
    marks = {}
    cpu_started = time.process_time()
    result = closed_loop(port, side.make, clients=clients, seconds=seconds, warmup=warmup,
                         expect_status=side.expect_status,
                         on_measure_start=lambda: marks.setdefault("cpu", meter.snapshot()))
    app, db = meter.since(marks["cpu"])
    latencies = result.latencies_ms or [float("inf")]
    n = max(1, len(result.latencies_ms))
    return Step(side.label, len(result.latencies_ms) / seconds, len(result.latencies_ms) / seconds,
                percentile(latencies, 50), percentile(latencies, 99), percentile(latencies, 99.9),
                result.errors, app / n * 1000, db / n * 1000,
                (time.process_time() - cpu_started) / n * 1000)


def fixed_rate(port: int, side: Side, meter: Meter, *, rate: float, seconds: float, warmup: float) -> Step:
    total = int(round((warmup + seconds) * rate))
    requests = [side.make(i) for i in range(total)]
    before = meter.snapshot()
    r = open_loop(port, requests, rate=rate, seconds=seconds, warmup=warmup, expect_status=side.expect_status)
    app, db = meter.since(before)
    n = max(1, r.answered)
    return Step(side.label, rate, r.throughput, r.pct(50), r.pct(99), r.pct(99.9), r.errors + r.unanswered,
                app / n * 1000, db / n * 1000, r.client_cpu_ms_per_request(),
                percentile(r.send_lag_ms, 99) if r.send_lag_ms else 0.0)


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """median [min–max]"""
    finite = [v for v in values if v != float("inf")]
    if len(finite) < len(values):
        return "∞ (" + ", ".join(fmt.format(v) for v in values) + ")"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def _print_step(round_: int, label: str, step: Step) -> None:
    print(f"  round {round_} {label:>5} {step.side:<7}{step.rate:>8.0f}{step.throughput:>9.0f}"
          f"{step.p50:>9.1f}{step.p99:>9.1f}{step.p999:>10.1f}{step.errors:>7}"
          f"{step.app_cpu_ms:>9.2f}{step.db_cpu_ms:>8.2f}{step.gen_cpu_ms:>9.3f}{step.lag_p99:>9.2f}",
          flush=True)


def compare(port: int, floor: Side, ours: Side, meter: Meter, *, fractions: list[float], rounds: int,
            seconds: float, sat_seconds: float, sat_clients: int, warmup: float = 1.0) -> dict:
    """Run both steps, print every measurement and the summary; return the summary's figures."""
    load_before = os.getloadavg()
    header = (f"  {'':>13}{'side':<7}{'rate/s':>8}{'done/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}"
              f"{'errors':>7}{'app CPU':>9}{'db CPU':>8}{'gen CPU':>9}{'lag p99':>9}")
    print(f"\n1. saturation: closed loop, {sat_clients} keep-alive clients, {sat_seconds:.0f} s per side "
          f"(+2 s warm-up), {rounds} rounds (CPU columns: ms per request)")
    print(header)
    saturations: dict[str, list[Step]] = {floor.label: [], ours.label: []}
    for round_ in range(1, rounds + 1):
        for side in (floor, ours) if round_ % 2 else (ours, floor):
            step = saturate(port, side, meter, clients=sat_clients, seconds=sat_seconds, warmup=2.0)
            saturations[side.label].append(step)
            _print_step(round_, "sat", step)
    floor_rate = statistics.median(s.throughput for s in saturations[floor.label])
    if not floor_rate:
        raise SystemExit(f"the floor answered nothing as expected (status {floor.expect_status})")
    sat_ratios = [o.throughput / f.throughput if f.throughput else float("inf")
                  for f, o in zip(saturations[floor.label], saturations[ours.label], strict=True)]

    print(f"\n2. fixed rates: open loop at {', '.join(f'{f:.0%}' for f in fractions)} of the floor's "
          f"saturation rate ({floor_rate:.0f}/s), {seconds:.0f} s per side (+{warmup:.0f} s warm-up), "
          f"{rounds} rounds, order swapped each round")
    print(header)
    steps: dict[tuple[float, str], list[Step]] = {}
    for round_ in range(1, rounds + 1):
        for fraction in fractions:
            for side in (floor, ours) if round_ % 2 else (ours, floor):
                step = fixed_rate(port, side, meter, rate=floor_rate * fraction, seconds=seconds, warmup=warmup)
                steps.setdefault((fraction, side.label), []).append(step)
                _print_step(round_, f"{fraction:.0%}", step)
    load_after = os.getloadavg()

    print(f"\nSummary: median [min–max] over {rounds} rounds; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after; {os.cpu_count()} CPUs")
    f_sat = [s.throughput for s in saturations[floor.label]]
    o_sat = [s.throughput for s in saturations[ours.label]]
    print(f"saturation: {floor.label} {_spread(f_sat, '{:.0f}')}/s, {ours.label} {_spread(o_sat, '{:.0f}')}/s; "
          f"{ours.label}/{floor.label} {_spread([r * 100 for r in sat_ratios], '{:.0f}')} %")
    f_cpu = [s.cpu_ms for s in saturations[floor.label]]
    o_cpu = [s.cpu_ms for s in saturations[ours.label]]
    print(f"CPU per request at saturation (app + db): {floor.label} {_spread(f_cpu, '{:.2f}')} ms, "
          f"{ours.label} {_spread(o_cpu, '{:.2f}')} ms")
    head = (f"{'load':>5}{'rate/s':>8} | {'side':<7}{'p50 ms':>19}{'p99 ms':>22}{'p99.9 ms':>24}"
            f"{'CPU ms/req':>20}")
    print(head)
    summary = {"floor_rate": floor_rate, "sat_ratios": sat_ratios, "fractions": {}}
    for fraction in fractions:
        pair = {label: steps[(fraction, label)] for label in (floor.label, ours.label)}
        for label, runs in pair.items():
            print(f"{fraction:>5.0%}{floor_rate * fraction:>8.0f} | {label:<7}"
                  f"{_spread([s.p50 for s in runs]):>19}{_spread([s.p99 for s in runs]):>22}"
                  f"{_spread([s.p999 for s in runs]):>24}{_spread([s.cpu_ms for s in runs], '{:.2f}'):>20}")
        ratios = {q: [getattr(o, q) / getattr(f, q) for f, o in zip(pair[floor.label], pair[ours.label],
                                                                      strict=True)]
                  for q in ("p50", "p99", "p999", "cpu_ms")}
        print(f"{'':>13} | {'ratio':<7}{_spread(ratios['p50'], '{:.2f}'):>19}{_spread(ratios['p99'], '{:.2f}'):>22}"
              f"{_spread(ratios['p999'], '{:.2f}'):>24}{_spread(ratios['cpu_ms'], '{:.2f}'):>20}")
        summary["fractions"][fraction] = {"ratios": ratios, "steps": pair}
    return summary


def slo_arguments(parser) -> None:
    """The options every SLO bench (``bench_api.py``, ``bench_page.py``) takes."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per side and rate")
    parser.add_argument("--sat-seconds", type=float, default=8, help="seconds per side at saturation")
    parser.add_argument("--sat-clients", type=int, default=16, help="closed-loop clients at saturation")
    parser.add_argument("--fractions", default="0.25,0.5,0.75", help="of the floor's saturation rate")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: config/gunicorn.py's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: config/gunicorn.py's)")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
