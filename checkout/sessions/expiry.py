"""Expiring sessions: the sweep, one session acted on past its time, and read-time expiry.

"Due" is defined once (``session_due``): open and past ``expires_at``. Selectors only read
(a due session is still ``open`` in the row they return); a view that shows sessions asks
``checkout_sessions_expire_if_due`` to expire the due ones first, so a session past
``expires_at`` is expired the moment anyone reads it, with its event, whether or not the
sweep has run.

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

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from checkout import effects, fastsql
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession

logger = logging.getLogger(__name__)

# Measured with bench/bench_sweep.py (2 shared cores, 1M sessions, 100k due): 1000 per
# batch expires within noise of 5000 (7-10k/s either way: the cost is per row, not per
# statement), and create p99 during the sweep was lower in every run (23-38 ms against
# 38-48 ms): each commit ends a shorter burst of WAL and dirty pages. A rest between
# batches (70 ms per 1000) halved the rate without improving create p99, so there is none.
DEFAULT_BATCH_SIZE = 1000


def session_due(session: CheckoutSession, now: datetime) -> bool:
    """Open and past ``expires_at``: expired as soon as anyone acts on it or reads it."""
    return session.status == SessionStatus.OPEN and session.expires_at <= now


def outbox_pass_request() -> None:
    """Ask the worker for one outbox pass now: it completes the payloads of events written in
    bulk and fans them out."""
    effects.effect_enqueue(effects.EVENTS_DISPATCH_PENDING, min_age_seconds=0)


def _events_announced(expired: int) -> int:
    """After expiring ``expired`` sessions: when there are any, one outbox pass on commit.
    Returns ``expired``."""
    if expired:
        transaction.on_commit(outbox_pass_request)
    return expired


def checkout_sessions_expire_selected(due: QuerySet, *, now: datetime) -> int:
    """Expire the open sessions ``due`` selects (and locks): one session's read-time expiry
    and the merchant's and ops' "expire now" use the sweep's own definition
    (``fastsql.sessions_expire_selected``). Their events' payloads are completed by the outbox
    pass, asked for on commit."""
    return _events_announced(fastsql.sessions_expire_selected(due, now=now))


def session_expire_locked(session: CheckoutSession, *, now: datetime) -> bool:
    """Expire ``session`` (open and due, its row locked by the caller) and read back what the
    expiry wrote. True if this call expired it."""
    expired = checkout_sessions_expire_selected(
        CheckoutSession.objects.filter(pk=session.pk, status=SessionStatus.OPEN), now=now) == 1
    if expired:
        session.refresh_from_db()
    return expired


def checkout_session_expire_if_due(session: CheckoutSession, *, now: datetime | None = None) -> CheckoutSession:
    """Read-time expiry of one session just read: due, it is expired now (its own
    transaction) and read again; otherwise it is returned as it is."""
    now = now or timezone.now()
    if session_due(session, now):
        checkout_sessions_expire_among(session_ids=[session.pk], now=now)
        session.refresh_from_db()
    return session


def checkout_sessions_expire_if_due(sessions: list[CheckoutSession], *,
                                    now: datetime | None = None) -> list[CheckoutSession]:
    """Read-time expiry of a page of sessions just read: the due ones are expired at once,
    in one transaction, then read again (a confirm may have won one of them meanwhile)."""
    now = now or timezone.now()
    due = [session.pk for session in sessions if session_due(session, now)]
    if not due:
        return sessions
    checkout_sessions_expire_among(session_ids=due, now=now)
    fresh = CheckoutSession.objects.in_bulk(due)
    return [fresh.get(session.pk, session) for session in sessions]


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
    return _events_announced(fastsql.sessions_expire_among(ids=session_ids, now=now))


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
    started = time.monotonic()
    total = batches = 0
    while max_batches is None or batches < max_batches:
        expired = fastsql.sessions_expire_next_batch(now=now, limit=batch_size, use_sql=use_sql)
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
    return _events_announced(total)
