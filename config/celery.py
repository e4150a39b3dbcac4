"""The Celery app: settings from Django's ``CELERY_*`` names, tasks autodiscovered.

Run a worker and the beat scheduler (Redis as broker, ``REDIS_URL`` set):

    uv run celery -A config worker -l INFO
    uv run celery -A config beat -l INFO

Without ``REDIS_URL`` tasks run eagerly in-process (see ``config/settings.py``).
"""

import logging
import os

from celery import Celery
from celery.app.defaults import SETTING_KEYS
from celery.signals import task_postrun, task_prerun
from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

NAMESPACE = "CELERY_"
logger = logging.getLogger(__name__)


class BrokerOutageConsumer(Consumer):
    """``CELERY_WORKER_CONSUMER``: Celery's consumer, surviving the loss of Redis with tasks in hand.

    On a lost connection Celery 5.7 garbage-collects the broken connection, then closes it; with
    unacknowledged messages the close asks kombu's Redis transport to restore them, through a
    transport whose client the collect just cleared: ``AttributeError: 'NoneType' object has no
    attribute 'hostname'``, which ``ignore_errors`` lets through, and the worker exits
    ("Unrecoverable error") instead of reconnecting. Here that close alone swallows the
    AttributeError; the rest (cancelling late-ack tasks, reconnecting) runs as Celery wrote it.
    The messages stay in Redis's unacked set, restored after the visibility timeout, and the
    outbox and retry sweeps redo their work long before that (every task is idempotent).
    """

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            close = connection.close

            def close_collected():
                try:
                    close()
                except AttributeError:
                    logger.warning("broker connection lost with unacked tasks; they are restored later",
                                   exc_info=True)

            connection.close = close_collected  # this dead connection only
        super().on_connection_error_after_connected(exc)


def celery_settings_unknown(settings_module) -> list[str]:
    """``CELERY_*`` names in ``settings_module`` that Celery does not know.

    Celery ignores an unknown name without a word, so a typo (``CELERY_TASK_ACK_LATE``)
    would silently turn a safety setting off; a test asserts this list is empty.
    """
    names = [name for name in dir(settings_module) if name.startswith(NAMESPACE) and name.isupper()]
    return sorted(name for name in names if name[len(NAMESPACE):].lower() not in SETTING_KEYS)


@task_prerun.connect
def _trace_id_set(task_id=None, task=None, **kwargs):
    # A worker's log lines carry the task id as their trace id. Eager tasks run inside a
    # request and keep the request's trace id.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from core.logging import trace_id_var

    trace_id_var.set(f"task-{task_id}")


@task_postrun.connect
def _trace_id_reset(task_id=None, task=None, **kwargs):
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from core.logging import trace_id_var

    trace_id_var.set("-")
