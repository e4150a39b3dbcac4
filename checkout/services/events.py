"""The outbox: events are rows written in the transaction of the change they report."""

from django.db.models import Max

from checkout.enums import EventType
from checkout.models import CheckoutSession, Event


def session_event_payload(session: CheckoutSession) -> dict:
    current = (session.estimates or {}).get("current_invoice") or {}
    return {
        "id": str(session.id),
        "object": "checkout_session",
        "livemode": session.livemode,
        "checkout_type": session.checkout_type,
        "status": session.status,
        "payment_status": session.payment_status,
        "customer_id": str(session.customer_id) if session.customer_id else None,
        "contract_id": str(session.contract_id) if session.contract_id else None,
        "plan_id": str(session.plan_id) if session.plan_id else None,
        "currency": session.currency,
        "amount_total": current.get("total"),
        "amount_due": current.get("amount_due"),
        "metadata": session.metadata,
        "trace_id": session.trace_id,
        "recovery_url": session.recovery_url or None,
    }


def event_record(*, session: CheckoutSession, type: EventType, data: dict | None = None) -> Event:
    """Append an event for ``session``. Call inside the transaction that changed it,
    after taking the session's row lock (or winning its compare-and-set), so the
    per-session sequence is race-free."""
    last = Event.objects.filter(checkout_session=session).aggregate(m=Max("sequence"))["m"] or 0
    payload = session_event_payload(session)
    if data:
        payload.update(data)
    event = Event.objects.create(
        organization_id=session.organization_id,
        checkout_session=session,
        type=type,
        livemode=session.livemode,
        sequence=last + 1,
        payload=payload,
    )
    from checkout.services.dispatch import events_dispatch_on_commit

    events_dispatch_on_commit(event)
    return event
