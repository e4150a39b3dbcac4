"""Thin Celery wrappers around services: ids in, never model instances.

Services queue these by name (``checkout.effects``), never by importing this module, so
this module imports the services at the top and nothing imports it back. Every task
here is idempotent (compare-and-set, row claims, ``SKIP LOCKED``), so each acks late
and is redelivered if its worker dies mid-run, and none keeps a result: the settings
``CELERY_TASK_ACKS_LATE``, ``CELERY_TASK_REJECT_ON_WORKER_LOST`` and
``CELERY_TASK_IGNORE_RESULT`` apply that to every task (a test holds each task to it).
The periodic ones are scheduled in ``CELERY_BEAT_SCHEDULE`` (config/settings.py).
"""

from celery import shared_task

from checkout import effects
from checkout.services import confirm, idempotency, invoice_emails, receipts, retention
from checkout.sessions import expiry
from checkout.webhooks import delivery, outbox

# A pending test payment older than this lost its settle task.
SETTLE_GRACE_SECONDS = 120


@shared_task(name=effects.EVENTS_DISPATCH)
def events_dispatch(*, event_id: str) -> None:
    """Fan a committed event out into webhook deliveries and queue their sends."""
    outbox.event_dispatch(event_id=event_id)


@shared_task(name=effects.EVENTS_DISPATCH_PENDING)
def events_dispatch_pending(*, min_age_seconds: float | None = None) -> int:
    """The outbox sweep: events nobody dispatched (broker outage, bulk writes)."""
    if min_age_seconds is None:
        return outbox.events_dispatch_pending()
    return outbox.events_dispatch_pending(min_age_seconds=min_age_seconds)


@shared_task(name=effects.WEBHOOK_DELIVERY_ATTEMPT)
def webhook_delivery_attempt(*, delivery_id: str) -> None:
    delivery.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name=effects.WEBHOOK_DELIVERIES_RETRY_DUE)
def webhook_deliveries_retry_due() -> int:
    return delivery.webhook_deliveries_retry_due()


@shared_task(name=effects.SESSIONS_EXPIRE_DUE)
def sessions_expire_due() -> int:
    """Beat, every minute. Stops starting batches after 50 s, well inside the task's time
    limit; a backlog bigger than that is finished by the next runs."""
    return expiry.checkout_sessions_expire_due(time_budget_seconds=50)


@shared_task(name=effects.PAYMENT_SETTLE)
def payment_settle(*, payment_id: str) -> None:
    """The test provider's settle-later path: resolve a pending payment."""
    confirm.payment_settle(payment_id=payment_id)


@shared_task(name=effects.PAYMENTS_SETTLE_PENDING)
def payments_settle_pending() -> int:
    """Safety net for settle tasks lost to a broker outage: queue a settle for every
    test-provider payment still pending a while after it was made. Settling is a
    compare-and-set on the payment, so one settled twice is settled once."""
    ids = confirm.payments_pending_unsettled(grace_seconds=SETTLE_GRACE_SECONDS)
    for payment_id in ids:
        payment_settle.delay(payment_id=str(payment_id))
    return len(ids)


@shared_task(name=effects.IDEMPOTENCY_RECORDS_PURGE)
def idempotency_records_purge() -> int:
    # Beat runs retention_apply instead (it includes this); kept for messages queued before.
    return idempotency.idempotency_records_purge()


@shared_task(name=effects.RETENTION_APPLY)
def retention_apply() -> dict[str, int]:
    return retention.retention_apply()


@shared_task(name=effects.RECEIPT_SEND)
def checkout_session_receipt_send(*, session_id: str) -> bool:
    """The customer's receipt (or invoice) email, after the completion committed."""
    return receipts.checkout_session_receipt_send(session_id=session_id)


@shared_task(name=effects.RECEIPTS_SEND_PENDING)
def receipts_send_pending() -> int:
    """Beat, every minute: receipts whose task was lost (broker down at completion)."""
    return receipts.checkout_session_receipts_send_pending()


@shared_task(name=effects.INVOICE_EMAIL_SEND)
def invoice_email_send(*, email_id: str) -> bool:
    """A dunning email (first failure, last retry), after the failed charge committed."""
    return invoice_emails.invoice_email_send(email_id=email_id)


@shared_task(name=effects.INVOICE_EMAILS_SEND_PENDING)
def invoice_emails_send_pending() -> int:
    """Beat, every minute: dunning emails whose task was lost."""
    return invoice_emails.invoice_emails_send_pending()
