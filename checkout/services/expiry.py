"""Expiring many sessions at once: the sweep, and read-time expiry of a page of the list.

The sweep: open sessions past ``expires_at`` become ``expired``, in batches.

Each batch is one transaction: it locks up to ``batch_size`` due open sessions through
the partial index ``session_open_expires_at`` with ``FOR UPDATE SKIP LOCKED``, expires
exactly those primary keys with one UPDATE (guarded by ``status = 'open'`` again), and
inserts one ``checkout_session.expired`` event per expired row with the next sequence
of its session. So:

- only ``open`` sessions are touched; ``processing`` (money in flight), completed and
  cancelled ones are not in the index at all;
- a row another transaction holds (a confirm in progress, another sweep's batch) is
  skipped, never waited for, and whoever holds it decides its fate; the sweep's guarded
  UPDATE then cannot overwrite what the confirm did. Two sweeps at once expire
  disjoint sets, so every session gets exactly one event;
- the work per batch reads only the index range of due sessions, so the cost grows
  with the sessions expired, not with the table.

A batch is a set of primary keys taken from the partial index in due order, then
updated by those keys. (Taking them in id order instead would sort the whole backlog
for every batch.)

On PostgreSQL a batch is a single statement (select, update and event insert in one
round trip, nothing loaded into Python), so what a session costs is the database's own
work: the row's new version, its index entries and its event row. Elsewhere (the SQLite
demo) the same steps run through the ORM.

The events are not queued one by one: when the sweep expired anything it asks for one
outbox pass (``events_dispatch_pending``), and the periodic outbox task covers a broker
that is down at that moment.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from checkout.enums import EventType, SessionStatus
from checkout.models import CheckoutSession, Event
from core.db import hand_written_sql_supported

from .events import PAYLOAD_PENDING
from .recovery_url import recovery_url_base, recovery_url_expression

logger = logging.getLogger(__name__)

# Measured with bench/bench_sweep.py (2 shared cores, 1M sessions, 100k due): 1000 per
# batch expires within noise of 5000 (7-10k/s either way: the cost is per row, not per
# statement), and create p99 during the sweep was lower in every run (23-38 ms against
# 38-48 ms): each commit ends a shorter burst of WAL and dirty pages. A rest between
# batches (70 ms per 1000) halved the rate without improving create p99, so there is none.
DEFAULT_BATCH_SIZE = 1000

_SESSION = CheckoutSession._meta.db_table
_EVENT = Event._meta.db_table

# The events' payloads are left for the outbox pass to fill (PAYLOAD_PENDING): the session
# object is the API's JSON, built once, in Python (checkout.representation), and copying
# each session's estimates into its event here would double the sweep's writes.
# Which sessions a statement expires. The sweep takes the next batch in due order and skips
# rows someone else holds; read-time expiry of listed sessions takes exactly the ones it
# read, waiting for a row another transaction holds (in id order, so two readers cannot
# deadlock) and then seeing its new status.
_DUE_NEXT_BATCH = f"""
    SELECT id
      FROM {_SESSION}
     WHERE status = %(open)s AND expires_at <= %(now)s
     ORDER BY expires_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED"""
_DUE_AMONG_IDS = f"""
    SELECT id
      FROM {_SESSION}
     WHERE id = ANY(%(ids)s) AND status = %(open)s AND expires_at <= %(now)s
     ORDER BY id
       FOR UPDATE"""

_EXPIRE_SQL = f"""
WITH due AS ({{due}}
), expired AS (
    UPDATE {_SESSION} AS s
       SET status = %(expired)s, expired_at = %(now)s, updated_at = %(now)s,
           -- checkout.services.recovery.recovery_url, in SQL
           recovery_url = CASE WHEN s.recovery_enabled THEN %(recovery_base)s || s.token || '/recover' ELSE '' END
      FROM due
     WHERE s.id = due.id AND s.status = %(open)s
 RETURNING s.id, s.organization_id, s.livemode
), last AS (
    -- One grouped read for the whole batch (never a lookup per row): most due sessions
    -- have no event yet, the others continue their sequence. Their rows are locked, so
    -- nobody appends to their events meanwhile.
    SELECT checkout_session_id AS id, max(sequence) AS sequence
      FROM {_EVENT}
     WHERE checkout_session_id IN (SELECT id FROM due)
     GROUP BY checkout_session_id
)
INSERT INTO {_EVENT}
       (id, created_at, updated_at, organization_id, checkout_session_id, type, livemode, sequence,
        payload, dispatched_at)
SELECT gen_random_uuid(), %(written)s, %(written)s, e.organization_id, e.id, %(type)s, e.livemode,
       COALESCE(last.sequence, 0) + 1, jsonb_build_object(), NULL  -- PAYLOAD_PENDING
  FROM expired e
  LEFT JOIN last ON last.id = e.id
"""
_EXPIRE_BATCH_SQL = _EXPIRE_SQL.format(due=_DUE_NEXT_BATCH)
_EXPIRE_AMONG_IDS_SQL = _EXPIRE_SQL.format(due=_DUE_AMONG_IDS)


def _expire_sql(statement: str, *, now: datetime, asynchronous: bool, **params) -> int:
    """Run one of the expiry statements in its own transaction; returns how many it expired."""
    with transaction.atomic(), connection.cursor() as cursor:
        if asynchronous:
            # Don't wait for this commit's WAL flush. Safe for the sweep, and only there: a
            # crash can lose at most the last sweep commits (about 3 x wal_writer_delay of
            # them), each one whole (its UPDATE and its events go or stay together), so
            # those sessions are simply open and due again after recovery and the next
            # sweep expires them, once, with the same sequence. Whoever acts on these rows
            # durably (the outbox pass marking events dispatched before any webhook is
            # sent, a confirm) commits synchronously after reading them, and WAL is flushed
            # in order, so that commit makes this one durable first: no webhook can
            # announce an event a crash then loses. Requests keep synchronous commits
            # (their answers are promises to clients).
            cursor.execute("SET LOCAL synchronous_commit TO off")
        cursor.execute(
            statement,
            {
                "open": SessionStatus.OPEN,
                "expired": SessionStatus.EXPIRED,
                "type": EventType.EXPIRED,
                "now": now,
                "written": timezone.now(),
                "recovery_base": recovery_url_base(),
                **params,
            },
        )
        return cursor.rowcount


def checkout_sessions_expire_selected(due: QuerySet, *, now: datetime) -> int:
    """Expire the open sessions ``due`` selects (and locks): the definition of expiring, which
    the statements above repeat in SQL for the sweep and the list (a test holds them equal).
    Used as it is for one session (read-time expiry, the merchant's and ops' expire now) and by
    the sweep off PostgreSQL. Their events' payloads are completed by the outbox pass, which
    is asked for on commit."""
    expired = _expire_orm(due, now=now)
    if expired:
        _events_dispatch_soon()
    return expired


def _expire_orm(due: QuerySet, *, now: datetime) -> int:
    with transaction.atomic():
        ids = list(due.values_list("id", flat=True))
        if not ids:
            return 0
        CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.OPEN).update(
            status=SessionStatus.EXPIRED, expired_at=now, updated_at=now, recovery_url=recovery_url_expression()
        )
        # Rows we hold locked cannot have changed in between; the filter only keeps
        # this honest on databases without row locks.
        sessions = list(CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.EXPIRED, expired_at=now))
        last = dict(
            Event.objects.filter(checkout_session_id__in=[s.id for s in sessions])
            .values("checkout_session_id")
            .annotate(m=Max("sequence"))
            .values_list("checkout_session_id", "m")
        )
        written = timezone.now()
        Event.objects.bulk_create(
            [
                Event(
                    organization_id=s.organization_id,
                    checkout_session_id=s.id,
                    type=EventType.EXPIRED,
                    livemode=s.livemode,
                    sequence=(last.get(s.id) or 0) + 1,
                    payload=PAYLOAD_PENDING,
                    created_at=written,
                    updated_at=written,
                )
                for s in sessions
            ],
            batch_size=1000,
        )
        return len(sessions)


def _expire_batch_sql(*, now: datetime, limit: int) -> int:
    return _expire_sql(_EXPIRE_BATCH_SQL, now=now, asynchronous=True, limit=limit)


def _expire_batch_orm(*, now: datetime, limit: int) -> int:
    due = (CheckoutSession.objects.select_for_update(skip_locked=True)
           .filter(status=SessionStatus.OPEN, expires_at__lte=now).order_by("expires_at")[:limit])
    return _expire_orm(due, now=now)


def _events_dispatch_soon() -> None:
    from .webhooks import events_dispatch_pending_queue

    transaction.on_commit(events_dispatch_pending_queue)


def checkout_sessions_expire_among(*, session_ids, now: datetime | None = None) -> int:
    """Read-time expiry for many sessions at once (a page of the list): those of
    ``session_ids`` that are open and past ``expires_at`` are expired in one transaction,
    one ``checkout_session.expired`` event each, in a fixed number of statements. A row
    another transaction holds is waited for and then re-checked, so a confirm that got
    there first wins. Returns how many this call expired."""
    now = now or timezone.now()
    session_ids = list(session_ids)
    if not session_ids:
        return 0
    if hand_written_sql_supported():
        expired = _expire_sql(_EXPIRE_AMONG_IDS_SQL, now=now, asynchronous=False, ids=session_ids)
    else:
        due = (CheckoutSession.objects.select_for_update()
               .filter(pk__in=session_ids, status=SessionStatus.OPEN, expires_at__lte=now).order_by("pk"))
        expired = _expire_orm(due, now=now)
    if expired:
        _events_dispatch_soon()
    return expired


def checkout_sessions_expire_due(
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int | None = None,
    time_budget_seconds: float | None = None,
    use_sql: bool | None = None,
) -> int:
    """Expire every open session due at ``now``. Returns how many this call expired.

    Each batch commits on its own, so a long sweep never holds many locks for long and
    an interrupted one keeps what it did. ``time_budget_seconds`` stops starting new
    batches after that long (the periodic task uses it to finish well inside its time
    limit; the next run carries on). ``use_sql`` picks the implementation (default:
    single-statement SQL on PostgreSQL, the ORM elsewhere).
    """
    now = now or timezone.now()
    if use_sql is None:
        use_sql = hand_written_sql_supported()
    expire_batch = _expire_batch_sql if use_sql else _expire_batch_orm
    started = time.monotonic()
    total = batches = 0
    while max_batches is None or batches < max_batches:
        expired = expire_batch(now=now, limit=batch_size)
        total += expired
        batches += 1
        # Fewer than asked means nothing due is left that another transaction is not
        # already holding.
        if expired < batch_size:
            break
        if time_budget_seconds is not None and time.monotonic() - started >= time_budget_seconds:
            break
    if total:
        logger.info("expired %d checkout sessions in %d batches", total, batches)
        _events_dispatch_soon()
    return total
