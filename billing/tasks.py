"""Thin Celery wrappers around billing's services: ids in, never model instances.

Every task is idempotent (row claims with ``SKIP LOCKED``, compare-and-set, gateway idempotency
keys), so each acks late and is redelivered if its worker dies mid-run (the
``CELERY_TASK_*`` settings apply that to every task). The periodic ones are scheduled in
``CELERY_BEAT_SCHEDULE`` (config/settings.py).
"""

from celery import shared_task

from . import collection, payment_methods, refunds, renewals


@shared_task(name="billing.contracts_renew_due")
def contracts_renew_due() -> int:
    """Beat, every minute: issue the invoices due today (real clock)."""
    return renewals.contracts_renew_due().invoices


@shared_task(name="billing.invoices_collect_due")
def invoices_collect_due() -> int:
    """Beat, every minute: start the charges (first tries and dunning retries) that are due."""
    return collection.invoices_collect_due()


@shared_task(name="billing.payment_collect")
def payment_collect(*, payment_id: str) -> str:
    """Send one recorded attempt to its provider and apply the answer."""
    return collection.payment_collect(payment_id=payment_id)


@shared_task(name="billing.payments_reconcile_pending")
def payments_reconcile_pending() -> int:
    """Beat, every minute: send again the attempts whose answer never came (same key)."""
    return collection.payments_reconcile_pending()


@shared_task(name="billing.refunds_reconcile_pending")
def refunds_reconcile_pending() -> int:
    """Beat, every five minutes: refunds whose answer never came, or still completing."""
    return refunds.refunds_reconcile_pending()


@shared_task(name="billing.saved_payment_method_provider_detach")
def saved_payment_method_provider_detach(*, method_id: str) -> bool:
    """Tell the provider a detached payment method is gone (queued by the detach)."""
    return payment_methods.saved_payment_method_provider_detach(method_id=method_id)


@shared_task(name="billing.saved_payment_methods_provider_detach_due")
def saved_payment_methods_provider_detach_due() -> int:
    """Beat, every five minutes: detaches the provider has not confirmed yet."""
    return payment_methods.saved_payment_methods_provider_detach_due()
