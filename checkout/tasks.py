"""Thin Celery wrappers around services: ids in, never model instances.

Each task imports its service lazily so a worker only loads what it runs.
"""

from celery import shared_task


@shared_task(name="checkout.events_dispatch", acks_late=True, ignore_result=True)
def events_dispatch(*, event_id: str) -> None:
    """Fan a committed event out into webhook deliveries and send them."""
    from checkout.services.webhooks import event_dispatch

    event_dispatch(event_id=event_id)


@shared_task(name="checkout.payment_settle", acks_late=True, ignore_result=True)
def payment_settle(*, payment_id: str) -> None:
    """The test provider's settle-later path: resolve a pending payment."""
    from checkout.services.confirm import payment_settle as settle

    settle(payment_id=payment_id)


@shared_task(name="checkout.idempotency_records_purge", ignore_result=True)
def idempotency_records_purge() -> int:
    from checkout.services.idempotency import idempotency_records_purge as purge

    return purge()
