"""``GET /api/v1/events`` and ``GET /api/v1/events/{id}`` (#28): what a receiver that was down
reconciles with, per organization and mode, each event the very object its deliveries carry."""

import datetime
import json
import uuid

import pytest
from django.utils import timezone

from checkout.enums import EventType
from checkout.models import EVENT_PAYLOAD_PENDING, Event, WebhookDelivery
from checkout.webhooks import delivery as sending
from checkout.webhooks import outbox
from core.services import api_key_create
from tests.checkout.factories import EventFactory, WebhookEndpointFactory
from tests.helpers import api_client_with_key

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"


def _cancelled_session(merchant) -> str:
    session_id = merchant.post(plan_body(merchant)).json()["id"]
    response = merchant.post({"reason": "abandoned"}, path=f"{URL}/{session_id}/cancel")
    assert response.status_code == 200
    return session_id


def test_retrieve_is_the_object_a_webhook_delivery_carries(merchant, receiver):
    WebhookEndpointFactory(organization=merchant.organization, url=receiver.url)
    session_id = _cancelled_session(merchant)
    outbox.events_dispatch_pending(min_age_seconds=0)
    delivery = WebhookDelivery.objects.get()
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    delivered = json.loads(receiver.requests[0]["body"])

    response = merchant.get(f"{EVENTS}/{delivery.event_id}")

    assert response.status_code == 200, response.content
    assert response.json() == delivered
    assert delivered["type"] == EventType.CANCELLED
    assert delivered["data"]["object"]["id"] == session_id


def test_list_is_newest_first_with_the_same_objects(merchant):
    first, second = _cancelled_session(merchant), _cancelled_session(merchant)

    body = merchant.get(EVENTS).json()

    assert body["object"] == "list" and body["has_more"] is False and body["next_cursor"] is None
    assert [event["data"]["object"]["id"] for event in body["data"]] == [second, first]
    stored = Event.objects.get(checkout_session_id=first)
    assert body["data"][1] == json.loads(sending.event_body(stored))


def test_list_filters_by_type_session_object_and_created_range(merchant):
    first, second = _cancelled_session(merchant), _cancelled_session(merchant)
    completed = merchant.post(plan_body(merchant)).json()["id"]
    merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"}, path=f"{URL}/{completed}/confirm")
    older = Event.objects.get(checkout_session_id=first)
    Event.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))

    def ids(**params):
        response = merchant.get(EVENTS, **params)
        assert response.status_code == 200, response.content
        return [event["id"] for event in response.json()["data"]]

    cancelled = ids(type="checkout_session.cancelled")
    assert len(cancelled) == 2
    assert all(Event.objects.get(pk=i).type == EventType.CANCELLED for i in cancelled)
    assert ids(checkout_session_id=second) == [str(Event.objects.get(checkout_session_id=second).pk)]
    assert ids(object_id=first) == [str(older.pk)]
    recent = ids(created_gte=(timezone.now() - datetime.timedelta(days=1)).isoformat())
    assert str(older.pk) not in recent and len(recent) == Event.objects.count() - 1
    assert ids(created_lt=(timezone.now() - datetime.timedelta(days=1)).isoformat()) == [str(older.pk)]


def test_billing_object_events_are_listed_by_their_object_id(merchant):
    invoice_id = uuid.uuid4()
    event = Event.objects.create(organization=merchant.organization, checkout_session=None, object_type="invoice",
                                 object_id=invoice_id, type="invoice.paid", sequence=1,
                                 payload={"object": {"id": str(invoice_id), "object": "invoice"}})

    body = merchant.get(EVENTS, object_id=str(invoice_id)).json()

    assert [item["id"] for item in body["data"]] == [str(event.pk)]
    assert body["data"][0]["data"]["object"]["object"] == "invoice"


def test_events_are_per_organization_and_mode(merchant, rival):
    mine = _cancelled_session(merchant)
    _cancelled_session(rival)
    event = Event.objects.get(checkout_session_id=mine)
    live = api_client_with_key(api_key_create(organization=merchant.organization, livemode=True)[1])

    assert len(rival.get(EVENTS).json()["data"]) == 1
    foreign = rival.get(f"{EVENTS}/{event.pk}")
    assert (foreign.status_code, error_of(foreign)["code"]) == (404, "event_not_found")
    assert live.get(EVENTS).json()["data"] == []
    assert live.get(f"{EVENTS}/{event.pk}").status_code == 404


def test_an_event_the_expiry_wrote_in_bulk_is_listed_complete_before_the_outbox_pass(merchant):
    session_id = merchant.post(plan_body(merchant)).json()["id"]
    assert merchant.post({}, path=f"{URL}/{session_id}/expire").status_code == 200
    event = Event.objects.get(checkout_session_id=session_id, type=EventType.EXPIRED)
    Event.objects.filter(pk=event.pk).update(payload=EVENT_PAYLOAD_PENDING, dispatched_at=None)

    listed = merchant.get(EVENTS).json()["data"]

    assert [item["id"] for item in listed] == [str(event.pk)]
    assert listed[0]["data"]["object"]["id"] == session_id
    assert listed[0]["data"]["object"]["status"] == "expired"
    event.refresh_from_db()
    assert listed[0] == json.loads(sending.event_body(event))  # what its deliveries will carry
    assert merchant.get(f"{EVENTS}/{event.pk}").json() == listed[0]


def test_reconcile_from_the_last_event_processed_pages_forward_in_time(merchant):
    session = _cancelled_session(merchant)
    base = Event.objects.get(checkout_session_id=session)
    made = [EventFactory(checkout_session=base.checkout_session, sequence=10 + n) for n in range(5)]
    now = timezone.now()
    for n, event in enumerate([base, *made]):
        Event.objects.filter(pk=event.pk).update(created_at=now + datetime.timedelta(seconds=n))

    seen, anchor = [], str(base.pk)
    while True:
        page = merchant.get(EVENTS, ending_before=anchor, limit=2).json()
        seen.extend(event["id"] for event in reversed(page["data"]))  # oldest first
        if not page["has_more"]:
            break
        anchor = page["data"][0]["id"]

    assert seen == [str(event.pk) for event in made]


def test_retrieve_refuses_unknown_query_parameters(merchant):
    event = Event.objects.get(checkout_session_id=_cancelled_session(merchant))
    response = merchant.get(f"{EVENTS}/{event.pk}", foo="1")
    assert (response.status_code, error_of(response)["code"]) == (422, "unknown_parameter")
    assert "foo" in error_of(response)["fields"]
