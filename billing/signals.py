"""Billing's events, for the outbox that sends merchants webhooks.

Billing does not know about webhooks (``checkout`` owns the outbox and sits above billing), so it
announces what happened with a signal, sent inside the transaction that made the change: the
receiver (``checkout.apps``) writes the outbox rows in that same transaction, which commit or
roll back with the change. Nothing is sent on commit and nothing talks to the network here.

``billing_events`` carries ``events``: a list of dicts, each with ``type``
(``billing.enums.BillingEventType``), ``organization_id``, ``livemode``, ``object`` (the object's
JSON as the API shows it, ``billing.representation``) and optionally ``data`` (what only the
event knows: ``next_payment_attempt``, ``failure_code`` …). A list, so a renewal batch writes its
events with one statement.
"""

from django.dispatch import Signal

billing_events = Signal()


def billing_events_send(events: list[dict]) -> None:
    if events:
        billing_events.send(sender=None, events=events)


def billing_event_send(*, type: str, organization_id, livemode: bool, object: dict, data: dict | None = None) -> None:
    billing_events_send([{"type": type, "organization_id": organization_id, "livemode": livemode,
                          "object": object, "data": data or {}}])
