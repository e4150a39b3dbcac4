"""Retention: how long each table that grows without bound keeps its rows (issue #30).

| table | kept | setting |
|---|---|---|
| idempotency records | 48 h (at least 24 h) | ``IDEMPOTENCY_KEY_TTL_HOURS`` |
| webhook deliveries (and their attempts) | 90 days, never while pending | ``RETENTION_DELIVERIES_DAYS`` |
| events | 30 days (at least 30: the events API's promise), never while needed | ``RETENTION_EVENTS_DAYS`` |
| checkout sessions | kept | — |

0 keeps a table's rows for ever (not for idempotency records, whose floor is 24 h).

Rows go in batches, one short transaction each: the batch's rows are selected ``FOR UPDATE SKIP
LOCKED`` (a row someone is changing is left for the next run) and deleted while locked, so a
concurrent write never sees half a batch and nothing holds many locks for long. Deliveries go
before the events they belong to; an event stays while:

- it is not dispatched yet (the outbox still has to create its deliveries);
- any of its deliveries remains: pending or retrying ones are never deleted, finished ones go
  after ``RETENTION_DELIVERIES_DAYS`` (so an event delivered somewhere lives as long as its
  deliveries' log, the admin's history of what was sent);
- it is the last event of its session (or, for billing's events, its object): the next event's
  ``sequence`` is the last one's plus one, and receivers order on it. Deleting a stream's last
  event would restart its numbering at 1.

An idempotency record is never deleted while its request is in flight: a claim's ``created_at``
is when it was (last) taken, so an in-flight claim is minutes old, far inside the 24-hour floor,
and a stale claim taken over while a batch is selected is skipped (its row is locked by the
takeover) or re-checked under the lock.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from checkout.enums import DeliveryStatus
from checkout.models import Event, IdempotencyRecord, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

IDEMPOTENCY_MIN_HOURS = 24  # PRODUCT.md: keys are kept at least 24 hours
EVENTS_MIN_DAYS = 30  # README: the events API answers events "kept at least 30 days"
DEFAULT_BATCH_SIZE = 1000
# A scheduled run (every 10 minutes) stops starting batches after this (the task's soft limit
# is 100 s); the next run goes on where it stopped.
DEFAULT_TIME_BUDGET_SECONDS = 60.0

IDEMPOTENCY_RECORDS = "idempotency_records"
WEBHOOK_DELIVERIES = "webhook_deliveries"
EVENTS = "events"
CHECKOUT_SESSIONS = "checkout_sessions"
# The order rows are deleted in: deliveries before their events.
TABLES = (IDEMPOTENCY_RECORDS, WEBHOOK_DELIVERIES, EVENTS)


@dataclass(frozen=True)
class Cutoffs:
    """Rows created before these go (None: the table is kept)."""

    idempotency_records: datetime.datetime
    webhook_deliveries: datetime.datetime | None
    events: datetime.datetime | None


def retention_cutoffs(now: datetime.datetime) -> Cutoffs:
    hours = max(IDEMPOTENCY_MIN_HOURS, settings.IDEMPOTENCY_KEY_TTL_HOURS)
    delivery_days = settings.RETENTION_DELIVERIES_DAYS
    event_days = settings.RETENTION_EVENTS_DAYS
    return Cutoffs(
        idempotency_records=now - datetime.timedelta(hours=hours),
        webhook_deliveries=now - datetime.timedelta(days=delivery_days) if delivery_days > 0 else None,
        events=now - datetime.timedelta(days=max(EVENTS_MIN_DAYS, event_days)) if event_days > 0 else None,
    )


def idempotency_records_expired(cutoff: datetime.datetime) -> QuerySet:
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff)


def webhook_deliveries_expired(cutoff: datetime.datetime | None) -> QuerySet:
    if cutoff is None:
        return WebhookDelivery.objects.none()
    # Pending covers retrying (a pending delivery with a later next_attempt_at): never deleted.
    return WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=DeliveryStatus.PENDING)


def events_expired(cutoff: datetime.datetime | None) -> QuerySet:
    if cutoff is None:
        return Event.objects.none()
    later_of_session = Event.objects.filter(
        checkout_session_id=OuterRef("checkout_session_id"), sequence__gt=OuterRef("sequence"))
    later_of_object = Event.objects.filter(
        checkout_session__isnull=True, object_id=OuterRef("object_id"), sequence__gt=OuterRef("sequence"))
    return (
        Event.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False)
        .filter(~Exists(WebhookDelivery.objects.filter(event_id=OuterRef("pk"))))
        .filter(Q(Exists(later_of_session), checkout_session__isnull=False)
                | Q(Exists(later_of_object), checkout_session__isnull=True))
    )


def _expired(table: str, cutoffs: Cutoffs) -> QuerySet:
    return {
        IDEMPOTENCY_RECORDS: lambda: idempotency_records_expired(cutoffs.idempotency_records),
        WEBHOOK_DELIVERIES: lambda: webhook_deliveries_expired(cutoffs.webhook_deliveries),
        EVENTS: lambda: events_expired(cutoffs.events),
    }[table]()


def _batch_delete(table: str, ids: list) -> int:
    """Delete the locked rows ``ids`` of ``table``; how many went."""
    if table == WEBHOOK_DELIVERIES:
        WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
        return WebhookDelivery.objects.filter(pk__in=ids).delete()[1].get(WebhookDelivery._meta.label, 0)
    model = IdempotencyRecord if table == IDEMPOTENCY_RECORDS else Event
    return model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)


def retention_table_purge(table: str, *, cutoffs: Cutoffs, batch_size: int = DEFAULT_BATCH_SIZE,
                          keep_going: Callable[[], bool] = lambda: True) -> int:
    """Delete ``table``'s expired rows, oldest first, ``batch_size`` per transaction, while
    ``keep_going()``. Each batch starts where the last one ended (its rows' ``created_at``), so
    the rows kept on the way (a pending delivery, a stream's last event) are read once a run,
    not once a batch; every table has an index that leads with ``created_at`` for this."""
    total = 0
    after = None
    while keep_going():
        expired = _expired(table, cutoffs)
        if after is not None:
            expired = expired.filter(created_at__gte=after)
        with transaction.atomic():
            rows = list(
                expired.order_by("created_at").select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", "created_at")[:batch_size]
            )
            deleted = _batch_delete(table, [pk for pk, _ in rows]) if rows else 0
        total += deleted
        if len(rows) < batch_size or not deleted:
            break
        after = rows[-1][1]
    return total


def retention_counts(*, now: datetime.datetime | None = None) -> dict[str, int | None]:
    """What a run would delete now, per table (None: the table is kept). Deletes nothing."""
    cutoffs = retention_cutoffs(now or timezone.now())
    counts: dict[str, int | None] = {}
    for table in TABLES:
        cutoff = getattr(cutoffs, table)
        counts[table] = None if cutoff is None else _expired(table, cutoffs).count()
    counts[CHECKOUT_SESSIONS] = None
    return counts


def retention_apply(*, now: datetime.datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                    time_budget_seconds: float | None = DEFAULT_TIME_BUDGET_SECONDS) -> dict[str, int]:
    """Delete every table's expired rows, deliveries before events; how many per table.

    With ``time_budget_seconds`` no batch starts after that long: a backlog is worked off over
    several scheduled runs, each inside the task's time limit."""
    cutoffs = retention_cutoffs(now or timezone.now())
    started = time.monotonic()

    def keep_going() -> bool:
        return time_budget_seconds is None or time.monotonic() - started < time_budget_seconds

    deleted = {}
    for table in TABLES:
        deleted[table] = retention_table_purge(table, cutoffs=cutoffs, batch_size=batch_size, keep_going=keep_going)
    if any(deleted.values()):
        logger.info("retention deleted %s", ", ".join(f"{n} {table}" for table, n in deleted.items()))
    return deleted
