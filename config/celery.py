"""The Celery app: settings from Django's ``CELERY_*`` names, tasks autodiscovered.

Run a worker and the beat scheduler (Redis as broker, ``REDIS_URL`` set):

    uv run celery -A config worker -l INFO
    uv run celery -A config beat -l INFO

Without ``REDIS_URL`` tasks run eagerly in-process (see ``config/settings.py``).
"""

import os

from celery import Celery
from celery.app.defaults import SETTING_KEYS
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

NAMESPACE = "CELERY_"


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
