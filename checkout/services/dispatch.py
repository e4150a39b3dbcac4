"""Hands committed events to the background worker.

Delivery is owned by the webhooks service; this only queues the hand-off after commit.
If the broker is unreachable the event stays undispatched and the periodic outbox task
picks it up later, so nothing is lost.
"""

from core.queue import task_enqueue_on_commit


def events_dispatch_on_commit(event) -> None:
    from checkout.tasks import events_dispatch

    task_enqueue_on_commit(events_dispatch, kwargs={"event_id": str(event.id)})
