"""Thin Celery wrappers around services: ids in, never model instances.

Each task imports its service lazily so a worker only loads what it runs. Every task
here is idempotent (compare-and-set, row claims, ``SKIP LOCKED``), so each acks late
and is redelivered if its worker dies mid-run, and none keeps a result: the settings
``CELERY_TASK_ACKS_LATE``, ``CELERY_TASK_REJECT_ON_WORKER_LOST`` and
``CELERY_TASK_IGNORE_RESULT`` apply that to every task (a test holds each task to it).
The periodic ones are scheduled in ``CELERY_BEAT_SCHEDULE`` (config/settings.py).
"""

from celery import shared_task

# A pending test payment older than this lost its settle task.
SETTLE_GRACE_SECONDS = 120


@shared_task(name="checkout.events_dispatch")
def events_dispatch(*, event_id: str) -> None:
    """Fan a committed event out into webhook deliveries and queue their sends."""
    from checkout.services.webhooks import event_dispatch

    event_dispatch(event_id=event_id)


@shared_task(name="checkout.events_dispatch_pending")
def events_dispatch_pending(*, min_age_seconds: float | None = None) -> int:
    """The outbox sweep: events nobody dispatched (broker outage, bulk writes)."""
    from checkout.services.webhooks import events_dispatch_pending as dispatch

    return dispatch() if min_age_seconds is None else dispatch(min_age_seconds=min_age_seconds)


@shared_task(name="checkout.webhook_delivery_attempt")
def webhook_delivery_attempt(*, delivery_id: str) -> None:
    from checkout.services.webhooks import webhook_delivery_attempt as attempt

    attempt(delivery_id=delivery_id)


@shared_task(name="checkout.webhook_deliveries_retry_due")
def webhook_deliveries_retry_due() -> int:
    from checkout.services.webhooks import webhook_deliveries_retry_due as retry_due

    return retry_due()


@shared_task(name="checkout.sessions_expire_due")
def sessions_expire_due() -> int:
    """Beat, every minute. Stops starting batches after 50 s, well inside the task's time
    limit; a backlog bigger than that is finished by the next runs."""
    from checkout.services.expiry import checkout_sessions_expire_due

    return checkout_sessions_expire_due(time_budget_seconds=50)


@shared_task(name="checkout.payment_settle")
def payment_settle(*, payment_id: str) -> None:
    """The test provider's settle-later path: resolve a pending payment."""
    from checkout.services.confirm import payment_settle as settle

    settle(payment_id=payment_id)


@shared_task(name="checkout.payments_settle_pending")
def payments_settle_pending() -> int:
    """Safety net for settle tasks lost to a broker outage: queue a settle for every
    test-provider payment still pending a while after it was made. Settling is a
    compare-and-set on the payment, so one settled twice is settled once."""
    from checkout.services.confirm import payments_pending_unsettled

    ids = payments_pending_unsettled(grace_seconds=SETTLE_GRACE_SECONDS)
    for payment_id in ids:
        payment_settle.delay(payment_id=str(payment_id))
    return len(ids)


@shared_task(name="checkout.idempotency_records_purge")
def idempotency_records_purge() -> int:
    from checkout.services.idempotency import idempotency_records_purge as purge

    return purge()


@shared_task(name="checkout.checkout_session_receipt_send")
def checkout_session_receipt_send(*, session_id: str) -> bool:
    """The customer's receipt (or invoice) email, after the completion committed."""
    from checkout.services.receipts import checkout_session_receipt_send as send

    return send(session_id=session_id)


@shared_task(name="checkout.receipts_send_pending")
def receipts_send_pending() -> int:
    """Beat, every minute: receipts whose task was lost (broker down at completion)."""
    from checkout.services.receipts import checkout_session_receipts_send_pending

    return checkout_session_receipts_send_pending()
