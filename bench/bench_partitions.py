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

``--app-tables``: the app's own tables instead, as they are today (not partitioned). The scratch
database is migrated, ``--rows`` rows are spread over ``--days`` days across the real events,
webhook deliveries and idempotency records tables (a third each; five events per billing object,
a delivery for every other event, 1 % of them pending and 9 % failed), then it prints the
``EXPLAIN (ANALYZE, BUFFERS)`` of each table's first retention batch (the ``FOR UPDATE SKIP
LOCKED`` select of ``checkout.services.retention``), runs the retention (``retention_apply``,
batches of 1,000) and reports what it deleted, how fast, and the dead rows it left for vacuum:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/checkout_retention \\
        uv run python bench/bench_partitions.py --app-tables --rows 3000000
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

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


def app_tables(url: str, rows: int, days: int) -> None:
    """The retention of the app's real (unpartitioned) tables, measured."""
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=url, LOG_LEVEL="WARNING")
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from checkout.models import Event, IdempotencyRecord, WebhookDelivery, WebhookEndpoint
    from checkout.services import retention
    from core.models import Organization

    call_command("migrate", verbosity=0)
    tables = {retention.EVENTS: Event, retention.WEBHOOK_DELIVERIES: WebhookDelivery,
              retention.IDEMPOTENCY_RECORDS: IdempotencyRecord}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE checkout_webhookattempt, checkout_webhookdelivery, checkout_event, "
                       "checkout_idempotencyrecord")
    organization = Organization.objects.filter(name="bench-retention").first() or \
        Organization.objects.create(name="bench-retention")
    endpoint = WebhookEndpoint.objects.create(organization=organization, url="https://merchant.example/hook",
                                              secret="whsec_bench")
    third = rows // 3
    began = time.monotonic()
    with connection.cursor() as cursor:
        # n = 1 is now, n = third is --days ago; five events per billing object, numbered in time.
        cursor.execute(f"""
            INSERT INTO checkout_event (id, created_at, updated_at, type, sequence, payload, dispatched_at,
                                        checkout_session_id, organization_id, livemode, object_id, object_type)
            SELECT md5('e' || n)::uuid, t, t, 'invoice.paid', 5 - n %% 5, '{{"object": {{}}}}'::jsonb, t, NULL,
                   %s, false, md5('o' || (n / 5))::uuid, 'invoice'
            FROM generate_series(1, {third}) n,
                 LATERAL (SELECT now() - (n::float / {third} * {days}) * interval '1 day' AS t) s""",
                       [organization.pk])
        cursor.execute(f"""
            INSERT INTO checkout_webhookdelivery (id, created_at, updated_at, status, attempt_count,
                                                  next_attempt_at, delivered_at, event_id, endpoint_id)
            SELECT md5('d' || n)::uuid, t, t,
                   CASE WHEN n %% 200 = 0 THEN 'pending' WHEN n %% 20 = 0 THEN 'failed' ELSE 'succeeded' END,
                   1, CASE WHEN n %% 200 = 0 THEN t END, t, md5('e' || n)::uuid, %s
            FROM generate_series(2, {third}, 2) n,
                 LATERAL (SELECT now() - (n::float / {third} * {days}) * interval '1 day' AS t) s""",
                       [endpoint.pk])
        cursor.execute(f"""
            INSERT INTO checkout_idempotencyrecord (key, request_fingerprint, status, response_status,
                                                    created_at, organization_id, livemode)
            SELECT 'key-' || n, repeat('0', 64), 'completed', 201,
                   now() - (n::float / {rows - 2 * third} * {days}) * interval '1 day', %s, false
            FROM generate_series(1, {rows - 2 * third}) n""", [organization.pk])
        for model in tables.values():
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    loaded = {table: model.objects.count() for table, model in tables.items()}
    print(f"{sum(loaded.values()):,} rows over {days} days loaded in {time.monotonic() - began:.0f} s: "
          + ", ".join(f"{n:,} {table}" for table, n in loaded.items()))

    cutoffs = retention.retention_cutoffs(django.utils.timezone.now())
    began = time.monotonic()
    counts = retention.retention_counts()
    print(f"\n### Dry run (manage.py retention --dry-run) in {time.monotonic() - began:.1f} s: {counts}")
    for table in retention.TABLES:
        query = (retention._expired(table, cutoffs).order_by("created_at")
                 .select_for_update(skip_locked=True, of=("self",)).values_list("pk", "created_at")[:1000])
        with transaction.atomic():
            plan = query.explain(analyze=True, buffers=True)
            transaction.set_rollback(True)
        print(f"\n### First retention batch of {table} (1,000 rows, FOR UPDATE SKIP LOCKED)\n{plan}")

    began = time.monotonic()
    deleted = retention.retention_apply(time_budget_seconds=None)
    elapsed = time.monotonic() - began
    print(f"\n### retention_apply: {deleted} in {elapsed:.1f} s ({sum(deleted.values()) / elapsed:,.0f} rows/s)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, now
        time.sleep(1)
        for table, model in tables.items():
            cursor.execute("SELECT n_live_tup, n_dead_tup, pg_size_pretty(pg_total_relation_size(relid)) "
                           "FROM pg_stat_user_tables WHERE relid = %s::regclass", [model._meta.db_table])
            live, dead, size = cursor.fetchone()
            print(f"{table}: {model.objects.count():,} left (of {loaded[table]:,}); {dead:,} dead rows for vacuum "
                  f"(stats: {live:,} live); {size} with indexes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--app-tables", action="store_true",
                        help="Measure the retention of the app's own (unpartitioned) tables instead.")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a scratch PostgreSQL database (see the module docstring).")
    _database_ensure(url)
    if args.app_tables:
        app_tables(url, args.rows, args.days)
        return
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
