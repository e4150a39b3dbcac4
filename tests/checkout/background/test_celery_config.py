"""The Celery wiring: known setting names, a beat schedule of real tasks, idempotent
tasks acking late."""

import types

import pytest
from django.conf import settings

from config.celery import app, celery_settings_unknown


def _tasks_discover():
    # What a worker does at start: import every installed app's tasks module.
    app.autodiscover_tasks(force=True)


def test_celery_settings_all_known_names():
    assert celery_settings_unknown(settings) == []
    # The check looks at the real settings, not an empty list.
    assert "CELERY_BROKER_URL" in dir(settings) and "CELERY_BEAT_SCHEDULE" in dir(settings)


def test_celery_settings_misspelt_name_fails():
    module = types.SimpleNamespace(
        CELERY_TASK_ACKS_LATE=True,
        CELERY_TASK_ACK_LATE=True,  # misspelt: Celery would ignore it without a word
        CELERY_BROKER_URL="redis://",
        CELERY_BEAT_SCHEDULES={},  # misspelt too
        NOT_CELERY=1,
    )
    assert celery_settings_unknown(module) == ["CELERY_BEAT_SCHEDULES", "CELERY_TASK_ACK_LATE"]


def test_celery_settings_override_misspelt_is_caught(settings):
    from django.conf import settings as django_settings

    settings.CELERY_TASK_ALWAYS_EAGRE = True
    assert celery_settings_unknown(django_settings) == ["CELERY_TASK_ALWAYS_EAGRE"]


def test_celery_app_reads_django_settings():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


def test_beat_schedule_names_real_tasks():
    _tasks_discover()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule == app.conf.beat_schedule
    names = {entry["task"] for entry in schedule.values()}
    assert names >= {
        "checkout.sessions_expire_due",
        "checkout.events_dispatch_pending",
        "checkout.webhook_deliveries_retry_due",
        "checkout.retention_apply",
    }
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{name} schedules unknown task {entry['task']}"
        # Each expires before its next run: a stopped worker finds no backlog of sweeps.
        assert 0 < entry["options"]["expires"] < entry["schedule"]


@pytest.mark.parametrize(
    "task_name, every_seconds",
    [
        ("checkout.sessions_expire_due", 60),
        ("checkout.retention_apply", 600),
    ],
)
def test_beat_schedule_intervals(task_name, every_seconds):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task_name]
    assert [e["schedule"] for e in entries] == [every_seconds]


def test_checkout_tasks_registered_and_ack_late():
    _tasks_discover()
    names = [
        "checkout.events_dispatch",
        "checkout.events_dispatch_pending",
        "checkout.webhook_delivery_attempt",
        "checkout.webhook_deliveries_retry_due",
        "checkout.sessions_expire_due",
        "checkout.payment_settle",
        "checkout.payments_settle_pending",
        "checkout.idempotency_records_purge",
        "checkout.retention_apply",
    ]
    for name in names:
        task = app.tasks[name]
        assert task.acks_late and task.reject_on_worker_lost, name
        assert task.ignore_result, name


def test_embedded_default_runs_tasks_eagerly(tmp_path):
    """Without REDIS_URL the product needs no broker: tasks run in-process."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL",
                                                             "CELERY_TASK_ALWAYS_EAGER"}}
    code = ("from config.celery import app; import django; django.setup(); "
            "print(app.conf.task_always_eager, app.conf.broker_url)")
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.split() == ["True", "memory://localhost/"], result.stderr
