"""Hands committed events to the background worker.

Delivery is owned by the webhooks service; this only queues the hand-off after commit.
If the broker is unreachable the event stays undispatched and the periodic
outbox task picks it up later, so nothing is lost.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def events_dispatch_on_commit(event) -> None:
    def _queue():
        try:
            from checkout.tasks import events_dispatch

            events_dispatch.delay(event_id=str(event.id))
        except Exception:  # broker down: the outbox sweep retries
            logger.warning("could not queue event %s; the outbox sweep will pick it up", event.id)

    transaction.on_commit(_queue)
