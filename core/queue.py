"""Queueing Celery work from request paths without ever failing (or stalling) the request.

Every caller has a periodic task that picks up what could not be queued (the outbox
pass, the settle sweep, the webhook retry sweep), so a broker outage costs latency of
background work, never a request. After one failure we stop trying for a few seconds:
a broker that hangs instead of refusing would otherwise cost every request the
connect timeout.
"""

import logging
import time

from django.db import transaction

logger = logging.getLogger(__name__)

BREAKER_SECONDS = 5.0
_broker_down_until = 0.0


def task_enqueue(task, *, kwargs: dict, countdown: float | None = None) -> bool:
    """Send ``task``; True if the broker took it. Never raises."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.warning("broker marked down; not queueing %s (a periodic task will pick it up)", task.name)
        return False
    try:
        task.apply_async(kwargs=kwargs, countdown=countdown)
        return True
    except Exception:  # noqa: BLE001 - whatever the broker raised, the request goes on
        _broker_down_until = time.monotonic() + BREAKER_SECONDS
        logger.warning("could not queue %s; a periodic task will pick the work up", task.name)
        return False


def task_enqueue_on_commit(task, *, kwargs: dict, countdown: float | None = None) -> None:
    """``task_enqueue`` once the current transaction commits (side effects only after commit)."""
    transaction.on_commit(lambda: task_enqueue(task, kwargs=kwargs, countdown=countdown))
