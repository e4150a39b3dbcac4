"""The outbox: events are rows written in the transaction of the change they report.

An event's ``payload`` is the ``data`` of the body merchants receive: ``{"object": <the
session exactly as the API shows it>}`` plus what this event alone knows (the invoice a
completion made, the failed payment's message, …). A sweep writes its events in bulk with
an empty payload (``EVENT_PAYLOAD_PENDING``, see ``checkout.sessions.expiry``); the outbox pass fills it from
the session row before the event is fanned out (``event_payloads_complete``), so every
delivery of an event carries the same complete ``data``.
"""

from django.db.models import Max

from checkout import effects, fastsql
from checkout.enums import EventType
from checkout.models import EVENT_PAYLOAD_PENDING, CheckoutSession, Event
from checkout.representation import checkout_session_json


def session_event_data(session: CheckoutSession, details: dict | None = None) -> dict:
    """An event's ``data``: the session object as it stands, then ``details``."""
    data = {"object": checkout_session_json(session)}
    if details:
        data.update(details)
    return data


def event_record(*, session: CheckoutSession, type: EventType, data: dict | None = None) -> Event:
    """Append an event for ``session`` (as it stands now), with ``data`` beside its object.
    Call inside the transaction that changed it, after taking the session's row lock (or
    winning its compare-and-set), so the per-session sequence is race-free."""
    last = Event.objects.filter(checkout_session=session).aggregate(m=Max("sequence"))["m"] or 0
    event = Event.objects.create(
        organization_id=session.organization_id,
        checkout_session=session,
        type=type,
        livemode=session.livemode,
        sequence=last + 1,
        payload=session_event_data(session, data),
    )
    event_dispatch_on_commit(event)
    return event


def event_dispatch_on_commit(event: Event) -> None:
    """Hand the event to the worker once it is committed. A broker that is down leaves it
    undispatched: the periodic outbox task (``events_dispatch_pending``) picks it up."""
    effects.effect_enqueue_on_commit(effects.EVENTS_DISPATCH, event_id=str(event.id))


def event_payloads_complete(event_ids) -> int:
    """Fill the payload of those of ``event_ids`` written in bulk (``EVENT_PAYLOAD_PENDING``) from
    their sessions. Only terminal events are written that way (expiry), and an expired
    session never changes again, so the object is the session as it was expired. Call
    with the events locked; returns how many were completed."""
    pending = list(
        Event.objects.filter(pk__in=list(event_ids), payload=EVENT_PAYLOAD_PENDING).only("id", "checkout_session_id")
    )
    if not pending:
        return 0
    # Whole rows: the object reads the quote too (its trial end and discount); deferring it
    # would cost a query per session.
    sessions = CheckoutSession.objects.in_bulk([event.checkout_session_id for event in pending])
    payloads = {event.id: session_event_data(sessions[event.checkout_session_id]) for event in pending}
    fastsql.event_payloads_write(payloads)
    return len(pending)


def event_payloads_complete_pending(*, organization_id, livemode: bool, limit: int = 1000) -> int:
    """Before the events API lists an organization's events, complete those the expiry wrote in
    bulk and the outbox pass has not reached yet (it runs every few seconds; without a beat, as
    in ``make run``, never), so every event is listed as its deliveries carry it. Whoever writes
    a payload first, it is the same: an expired session never changes. Reads the undispatched
    ones only (the ``event_undispatched`` index): a bulk-written event is completed before it is
    dispatched."""
    pending = list(Event.objects.filter(organization_id=organization_id, livemode=livemode,
                                        dispatched_at__isnull=True, payload=EVENT_PAYLOAD_PENDING)
                   .values_list("id", flat=True)[:limit])
    return event_payloads_complete(pending) if pending else 0


def event_payloads_pending_exist(*, organization_id, livemode: bool) -> bool:
    """Whether the organization has events of this mode whose payload is still pending, as the
    database read sees it (the ``event_undispatched`` index). A replica that has not replayed
    ``event_payloads_complete_pending``'s writes still does: a page read there would leave those
    events out while listing newer ones, a gap a receiver paging forward would never revisit."""
    return Event.objects.filter(organization_id=organization_id, livemode=livemode, dispatched_at__isnull=True,
                                payload=EVENT_PAYLOAD_PENDING).exists()
