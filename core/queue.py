"""Queueing Celery work from request paths without ever failing (or stalling) the request.

Every caller has a periodic task that picks up what could not be queued (the outbox
pass, the settle sweep, the webhook retry sweep), so a broker outage costs latency of
background work, never a request. After one failure we stop trying for a few seconds:
a broker that hangs instead of refusing would otherwise cost every request the
connect timeout.
"""

import logging

from django.db import transaction

from core.breaker import CircuitBreaker

logger = logging.getLogger(__name__)

broker = CircuitBreaker("task broker", meanwhile="not queueing (periodic tasks pick the work up)")


def task_enqueue(task, *, kwargs: dict, countdown: float | None = None) -> bool:
    """Send ``task``; True if the broker took it. Never raises."""

    def send() -> bool:
        task.apply_async(kwargs=kwargs, countdown=countdown)
        return True

    if broker.call(send):
        return True
    logger.warning("%s not queued; a periodic task will pick the work up", task.name)
    return False


def task_enqueue_on_commit(task, *, kwargs: dict, countdown: float | None = None) -> None:
    """``task_enqueue`` once the current transaction commits (side effects only after commit)."""
    transaction.on_commit(lambda: task_enqueue(task, kwargs=kwargs, countdown=countdown))
