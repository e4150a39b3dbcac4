"""Time partitioning with pg_partman, proven with EXPLAIN on 10 million rows (issue #30; design in
docs/scaling.md, "Tables that grow without bound").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout_partitions \\
        uv run python bench/bench_partitions.py [--rows 10000000] [--days 120]

Builds, in the scratch database DATABASE_URL names (created if missing; needs Debian's
postgresql-15-partman, `make topology-deps`), a schema ``bench_partitions`` with the shapes of
two of the tables that grow without bound, as the app would have them: idempotency records
(daily partitions, kept 48 h) and checkout sessions (monthly partitions, kept), each declared
``PARTITION BY RANGE (created_at)`` and handed to ``partman.create_parent``. It fills them with
``--rows`` rows spread over ``--days`` days, lets ``partman.run_maintenance`` apply retention, and
prints the ``EXPLAIN (ANALYZE, BUFFERS)`` of the queries the app would run, with how many
partitions each plan touched out of how many there are:

- the idempotency look-up (organization, mode, key) bounded to the keys' lifetime;
- the idempotency purge, which becomes dropping whole partitions (retention) instead of DELETE;
- the expiry sweep's due-sessions scan, bounded by the longest session lifetime (30 days);
- the dashboard's sessions created in a date range.

It touches nothing but that schema (dropped first) in that database.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import psycopg

SCHEMA = "bench_partitions"


def _database_ensure(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _explain(conn, title: str, query: str, parent: str) -> None:
    plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}"))
    total = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass",
                         [f"{SCHEMA}.{parent}"]).fetchone()[0]
    scans = [line for line in plan.splitlines()  # table scans (a bitmap index scan names an index)
             if re.search(rf" on {re.escape(parent)}_(p\w+|default) ", line) and "Bitmap Index Scan" not in line]
    scanned = [line for line in scans if "never executed" not in line]
    removed = max((int(n) for n in re.findall(r"Subplans Removed: (\d+)", plan)), default=0)
    print(f"\n### {title}\n{query}\n-> {total} partitions: {total - len(scans) - removed} pruned when planning, "
          f"{removed} when starting, {len(scans)} in the plan, {len(scanned)} scanned\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a scratch PostgreSQL database (see the module docstring).")
    _database_ensure(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS partman")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"DELETE FROM partman.part_config WHERE parent_table LIKE '{SCHEMA}.%'")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        # The partition key must be in every unique constraint: the primary keys become
        # (id, created_at); the idempotency key's uniqueness holds per partition, which its
        # look-up bounds to the keys' lifetime anyway (a key is unique within its TTL).
        conn.execute(f"""
            CREATE TABLE {SCHEMA}.idem (
                id bigint GENERATED ALWAYS AS IDENTITY, organization_id uuid NOT NULL,
                livemode boolean NOT NULL, key varchar(255) NOT NULL, status varchar(16) NOT NULL,
                created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at),
                UNIQUE (organization_id, livemode, key, created_at)
            ) PARTITION BY RANGE (created_at)""")
        conn.execute(f"""
            CREATE TABLE {SCHEMA}.sessions (
                id uuid NOT NULL, organization_id uuid NOT NULL, livemode boolean NOT NULL,
                status varchar(16) NOT NULL, expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)
            ) PARTITION BY RANGE (created_at)""")
        conn.execute(f"CREATE INDEX ON {SCHEMA}.sessions (expires_at) WHERE status = 'open'")
        conn.execute(f"CREATE INDEX ON {SCHEMA}.sessions (organization_id, livemode, created_at)")
        start = f"now() - interval '{args.days + 1} days'"
        conn.execute(f"SELECT partman.create_parent(p_parent_table => '{SCHEMA}.idem', p_control => 'created_at', "
                     f"p_type => 'native', p_interval => 'daily', p_premake => 3, "
                     f"p_start_partition => ({start})::text)")
        conn.execute(f"SELECT partman.create_parent(p_parent_table => '{SCHEMA}.sessions', p_control => "
                     f"'created_at', p_type => 'native', p_interval => 'monthly', p_premake => 2, "
                     f"p_start_partition => ({start})::text)")
        # Retention (what settings would carry): idempotency records 48 h, dropped whole; sessions kept.
        conn.execute(f"UPDATE partman.part_config SET retention = '48 hours', retention_keep_table = false "
                     f"WHERE parent_table = '{SCHEMA}.idem'")

        half = args.rows // 2
        began = time.monotonic()
        conn.execute(f"""
            INSERT INTO {SCHEMA}.idem (organization_id, livemode, key, status, created_at)
            SELECT md5((n % 500)::text)::uuid, n % 10 = 0, 'key-' || n, 'completed',
                   now() - (n::float / {half} * {args.days}) * interval '1 day'
            FROM generate_series(1, {half}) n""")
        conn.execute(f"""
            INSERT INTO {SCHEMA}.sessions (id, organization_id, livemode, status, expires_at, created_at)
            SELECT md5(n::text)::uuid, md5((n % 500)::text)::uuid, n % 10 = 0,
                   CASE WHEN n % 7 = 0 THEN 'open' WHEN n % 3 = 0 THEN 'expired' ELSE 'completed' END,
                   t + interval '1 day', t
            FROM generate_series(1, {args.rows - half}) n,
                 LATERAL (SELECT now() - (n::float / {args.rows - half} * {args.days}) * interval '1 day' AS t) s""")
        conn.execute(f"ANALYZE {SCHEMA}.idem")
        conn.execute(f"ANALYZE {SCHEMA}.sessions")
        print(f"{args.rows:,} rows over {args.days} days loaded in {time.monotonic() - began:.0f} s")

        before = conn.execute(f"SELECT count(*) FROM pg_inherits WHERE inhparent = '{SCHEMA}.idem'::regclass"
                              ).fetchone()[0]
        began = time.monotonic()
        conn.execute("SELECT partman.run_maintenance()")
        after = conn.execute(f"SELECT count(*) FROM pg_inherits WHERE inhparent = '{SCHEMA}.idem'::regclass"
                             ).fetchone()[0]
        print(f"\n### Idempotency purge = retention: partman.run_maintenance() dropped {before - after} daily "
              f"partitions (of {before}) in {time.monotonic() - began:.1f} s; no DELETE, no dead rows to vacuum.")
        org = "md5('7')::uuid"
        _explain(conn, "Idempotency look-up within the keys' lifetime",
                 f"SELECT status FROM {SCHEMA}.idem WHERE organization_id = {org} AND livemode = false "
                 f"AND key = 'key-7' AND created_at > now() - interval '48 hours'", "idem")
        _explain(conn, "Expiry sweep: open sessions past expires_at, within the longest lifetime (30 days)",
                 f"SELECT id FROM {SCHEMA}.sessions WHERE status = 'open' AND expires_at <= now() "
                 f"AND created_at > now() - interval '30 days' LIMIT 500", "sessions")
        _explain(conn, "Dashboard: one organization's sessions created in a 30-day range",
                 f"SELECT status, count(*) FROM {SCHEMA}.sessions WHERE organization_id = {org} AND livemode = false "
                 f"AND created_at >= date_trunc('day', now()) - interval '30 days' "
                 f"AND created_at < date_trunc('day', now()) GROUP BY status", "sessions")
        _explain(conn, "Without the created_at bound (what pruning needs every query to carry)",
                 f"SELECT id FROM {SCHEMA}.sessions WHERE status = 'open' AND expires_at <= now() LIMIT 500",
                 "sessions")


if __name__ == "__main__":
    main()
