"""The outbox's consumer: committed events become one ``WebhookDelivery`` per subscribed
active endpoint of the event's organization and mode, and are marked dispatched, in one
transaction; each delivery's send is then queued (``checkout.webhooks.delivery``).

An event row is written in the transaction of the change it reports
(``checkout.sessions.events``). Nothing depends on the broker being up: the periodic
``events_dispatch_pending`` picks up what a lost or unsent dispatch left behind, and a second
fan-out of the same event is harmless (one delivery per endpoint and event).
"""

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from checkout.enums import DeliveryStatus
from checkout.models import Event, WebhookDelivery, WebhookEndpoint
from checkout.sessions.events import event_payloads_complete

from . import delivery

logger = logging.getLogger(__name__)

# An event younger than this may still have its own dispatch task in flight (queued on
# commit); the outbox sweep leaves it alone until then.
OUTBOX_MIN_AGE_SECONDS = 5


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.enabled_events or event_type in endpoint.enabled_events


def _events_fan_out(events: list[Event], now: datetime) -> list:
    """Deliveries for ``events`` (locked by the caller), events marked dispatched. An event
    goes only to its organization's endpoints of its own mode (test or live). Payloads a
    sweep left pending are completed first, so every delivery sends the whole object."""
    event_payloads_complete([event.id for event in events])
    org_ids = {event.organization_id for event in events}
    endpoints_by_org = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(organization_id__in=org_ids, is_active=True).only(
        "id", "organization_id", "enabled_events", "livemode"
    ):
        endpoints_by_org[endpoint.organization_id, endpoint.livemode].append(endpoint)
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for event in events
        for endpoint in endpoints_by_org[event.organization_id, event.livemode]
        if _subscribed(endpoint, event.type)
    ]
    # The unique (endpoint, event) constraint makes a second fan-out harmless.
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
    Event.objects.filter(pk__in=[event.id for event in events]).update(dispatched_at=now, updated_at=now)
    return [delivery.id for delivery in deliveries]


def event_dispatch(*, event_id) -> list:
    """Create the deliveries of one committed event and queue their sends.

    Returns the ids of the deliveries created (empty if the event was already
    dispatched, or is being dispatched by someone else right now).
    """
    now = timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True)
            .only("id", "organization_id", "type", "livemode")
        )
        if not events:
            return []
        delivery_ids = _events_fan_out(events, now)
        transaction.on_commit(lambda: delivery.deliveries_queue(delivery_ids))
    return delivery_ids


def events_dispatch_pending(
    *, min_age_seconds: float = OUTBOX_MIN_AGE_SECONDS, batch_size: int = 500, time_budget_seconds: float = 60
) -> int:
    """The outbox sweep: dispatch every event nobody dispatched (a broker outage, a lost
    task, events written in bulk). Returns the number of events dispatched."""
    started = time.monotonic()
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    total = 0
    while time.monotonic() - started < time_budget_seconds:
        now = timezone.now()
        with transaction.atomic():
            events = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True, created_at__lte=cutoff)
                .order_by("created_at")
                .only("id", "organization_id", "type", "livemode")[:batch_size]
            )
            if not events:
                break
            delivery_ids = _events_fan_out(events, now)
            transaction.on_commit(lambda ids=delivery_ids: delivery.deliveries_queue(ids))
        total += len(events)
        if len(events) < batch_size:
            break
    if total:
        logger.info("dispatched %d pending events", total)
    return total
