"""What the bench scripts share: the app's environment, a gunicorn server to drive, a scratch
database, and the figures' arithmetic (percentiles, CPU time from ``/proc``)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- the app's environment ----------------------------------------------------------------


def bench_env(database_url: str | None = None, **overrides: str | None) -> dict[str, str]:
    """``os.environ`` plus what every bench runs the app with (its settings module, plain HTTP
    on loopback, no collectstatic), ``DATABASE_URL`` when given, then ``overrides`` (``None``
    removes a variable)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback
        STATIC_MANIFEST="false",  # no collectstatic needed; the pages' HTML does not change
        PYTHONPATH=str(ROOT),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(app: str, *, env: dict[str, str], workers: int | None = None, threads: int | None = None,
                   preload: bool = False, production: bool = False,
                   start_timeout: float = 30.0) -> tuple[subprocess.Popen, int]:
    """Start gunicorn on a free loopback port and wait until ``/healthz`` answers 200; returns
    the master process and the port.

    ``production``: with ``config/gunicorn.py``, as the README runs it (its worker class,
    workers × threads, keep-alive, access log; ``workers``/``threads`` override them through
    its ``GUNICORN_*`` variables when given), its access log and output discarded. Otherwise
    plain gthread workers with a 30 s keep-alive and no access log.

    The server leads a process group of its own, so ``gunicorn_stop`` can end the workers too.
    """
    port = free_port()
    env = dict(env)
    if production:
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        if workers:
            env["GUNICORN_WORKERS"] = str(workers)
        if threads:
            env["GUNICORN_THREADS"] = str(threads)
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.py"), app,
               "--log-level", "warning"]
        output = subprocess.DEVNULL
    else:
        cmd = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers or 2), "--worker-class", "gthread", "--threads", str(threads or 1),
               "--keep-alive", "30", "--log-level", "warning"]
        output = None
    if preload:
        cmd.append("--preload")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=output)
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline and server.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    gunicorn_stop(server)
    raise SystemExit("gunicorn did not start")


def gunicorn_stop(server: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop the server started by ``gunicorn_start``: its master and every worker."""
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        server.wait(timeout)
    # Whatever is left of the group (a master stuck past the timeout, orphaned workers) goes now.
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (gunicorn's master and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pids) -> float:
    """User + system CPU of the given processes so far (Linux ``/proc``); gone ones count 0."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time of gunicorn's master and workers so far."""
    return cpu_seconds(process_tree(server.pid))


# --- the database ---------------------------------------------------------------------------


def database_create(admin_url: str, name: str, *, reuse: bool) -> bool:
    """Create database ``name`` through ``admin_url`` (a connection to another database on the
    same server). An existing one is kept when ``reuse``, else dropped first. True: created."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return False
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        return True


def database_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- figures --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def sessions_clone(n: int, template_ids: list, overrides: dict[str, str], *, chunk: int = 100_000) -> None:
    """Insert ``n`` checkout sessions copied from the template rows (row ``i`` from template
    ``i % len(template_ids)``), in chunks of ``chunk`` statements' worth. ``overrides`` maps a
    column to an SQL expression over ``i`` (1 to ``n``) and ``t.<column>`` (the template's);
    every other column is the template's. PostgreSQL only; ``%`` in an expression is ``%%``."""
    from django.db import connection

    from checkout.models import CheckoutSession

    columns = [f.column for f in CheckoutSession._meta.concrete_fields]
    select = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    table = CheckoutSession._meta.db_table
    with connection.cursor() as cursor:
        for start in range(1, n + 1, chunk):
            stop = min(start + chunk - 1, n)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {select} FROM generate_series(%s, %s) AS i "
                f"JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM {table} "
                f"      WHERE id = ANY(%s::uuid[])) AS t ON t.k = i %% {len(template_ids)}",
                [start, stop, [str(pk) for pk in template_ids]],
            )
            print(f"  filled {stop:,} / {n:,}", end="\r", flush=True)
    print()
