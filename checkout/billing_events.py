"""Billing's events into the webhook outbox: the receiver of ``billing.signals.billing_events``.

Billing announces what happened to invoices, contracts, payments and saved methods inside the
transaction that did it; this writes the events as outbox rows in that same transaction (they
commit or roll back with the change), numbered per object, then hands them to the worker once
committed, as a session's events are (``checkout.sessions.events``). A renewal batch's hundreds
of events are left to the outbox sweep (``events_dispatch_pending``, every 30 s) rather than
queued one task each.
"""

import uuid

from django.utils import timezone

from checkout import fastsql
from checkout.models import Event

from .sessions.events import event_dispatch_on_commit

# Up to this many events in one announcement are queued at once; more wait for the sweep.
DISPATCH_NOW_AT_MOST = 10


def billing_events_record(sender=None, *, events: list[dict], **kwargs) -> list[Event]:
    """Write ``events`` (``billing.signals``' dicts) as outbox rows, numbered per object, in one
    statement (``checkout.fastsql.object_events_insert``)."""
    now = timezone.now()
    rows = [
        Event(organization_id=event["organization_id"], checkout_session=None,
              object_type=event["object"]["object"], object_id=_object_id(event), type=str(event["type"]),
              livemode=event["livemode"], payload={"object": event["object"], **(event.get("data") or {})},
              created_at=now, updated_at=now)
        for event in events
    ]
    fastsql.object_events_insert(rows)
    if len(rows) <= DISPATCH_NOW_AT_MOST:
        for row in rows:
            event_dispatch_on_commit(row)
    return rows


def _object_id(event: dict) -> uuid.UUID:
    return uuid.UUID(event["object"]["id"])
