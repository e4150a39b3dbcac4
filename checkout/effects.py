"""Background work a service asks for, by task name: services never import ``checkout.tasks``.

``checkout.tasks`` registers each task under one of the names below and imports the services
it wraps at the top; services queue work here by name. So the dependency runs one way
(tasks → services → effects) and no module imports another inside a function to break a
circle.

Queueing never fails a request (``core.queue``): a broker that is down costs latency of the
background work, which a periodic task then picks up, never the request.
"""

from importlib import import_module

from celery import current_app
from django.db import transaction

from core.queue import task_enqueue

EVENTS_DISPATCH = "checkout.events_dispatch"
EVENTS_DISPATCH_PENDING = "checkout.events_dispatch_pending"
WEBHOOK_DELIVERY_ATTEMPT = "checkout.webhook_delivery_attempt"
WEBHOOK_DELIVERIES_RETRY_DUE = "checkout.webhook_deliveries_retry_due"
SESSIONS_EXPIRE_DUE = "checkout.sessions_expire_due"
PAYMENT_SETTLE = "checkout.payment_settle"
PAYMENTS_SETTLE_PENDING = "checkout.payments_settle_pending"
IDEMPOTENCY_RECORDS_PURGE = "checkout.idempotency_records_purge"
RETENTION_APPLY = "checkout.retention_apply"
RECEIPT_SEND = "checkout.checkout_session_receipt_send"
RECEIPTS_SEND_PENDING = "checkout.receipts_send_pending"
INVOICE_EMAIL_SEND = "checkout.invoice_email_send"
INVOICE_EMAILS_SEND_PENDING = "checkout.invoice_emails_send_pending"


def effect_enqueue(name: str, *, countdown: float | None = None, **kwargs) -> bool:
    """Queue the task registered as ``name`` now; True if the broker took it. Never raises."""
    return task_enqueue(_task(name), kwargs=kwargs, countdown=countdown)


def effect_enqueue_on_commit(name: str, *, countdown: float | None = None, **kwargs) -> None:
    """``effect_enqueue`` once the current transaction commits (side effects only after commit)."""
    transaction.on_commit(lambda: effect_enqueue(name, countdown=countdown, **kwargs))


def _task(name: str):
    tasks = current_app.tasks
    if name not in tasks:
        # A web process has not imported the task module yet (a worker did at start): import
        # the one that registers the name ("checkout.…" → checkout.tasks), not every app's
        # (Celery's autodiscovery costs about a second in a cold process, measured).
        import_module(f"{name.split('.', 1)[0]}.tasks")
    return tasks[name]


def tasks_run_inline() -> bool:
    """True in the embedded default (no broker): tasks run eagerly, in the caller."""
    return bool(current_app.conf.task_always_eager)
