"""An event's ``data.object`` is the session exactly as the API shows it, whichever path wrote
the event (a request, the page, the sweep), and a Standard Webhooks receiver gets it whole."""

import datetime

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from checkout.enums import EventType
from checkout.models import CheckoutSession, Event, WebhookDelivery
from checkout.sessions.expiry import checkout_sessions_expire_due
from checkout.webhooks import delivery as sending
from checkout.webhooks import outbox

from .conftest import URL, plan_body

HOOKS = "/api/v1/webhook-endpoints"


def _event(session_id, type_) -> dict:
    """The body a receiver gets for the session's ``type_`` event, dispatched now."""
    outbox.events_dispatch_pending(min_age_seconds=0)
    return sending.event_envelope(Event.objects.get(checkout_session_id=session_id, type=type_))


def _shown(merchant, session_id) -> dict:
    response = merchant.get(f"{URL}/{session_id}")
    assert response.status_code == 200
    return response.json()


def test_completed_event_carries_the_session_the_api_shows_and_what_the_completion_made(merchant):
    from billing.models import Invoice

    created = merchant.post(plan_body(merchant, metadata={"order": "A-7"})).json()
    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                              path=f"{URL}/{created['id']}/confirm").json()

    body = _event(created["id"], EventType.COMPLETED)

    assert body["data"]["object"] == confirmed == _shown(merchant, created["id"])
    assert body["data"]["object"]["estimates"]["current_invoice"]["total"] == created["estimates"][
        "current_invoice"]["total"]
    assert body["data"]["object"]["metadata"] == {"order": "A-7"}
    assert body["data"]["invoice_id"] == str(Invoice.objects.get(checkout_session_id=created["id"]).pk)
    assert body["data"]["payment_method"] == "card"


def test_cancelled_and_expired_by_request_events_carry_the_answer_given(merchant):
    cancelled_session = merchant.post(plan_body(merchant)).json()
    cancelled = merchant.post({"reason": "abandoned"}, path=f"{URL}/{cancelled_session['id']}/cancel").json()
    expired_session = merchant.post(plan_body(merchant)).json()
    expired = merchant.post({}, path=f"{URL}/{expired_session['id']}/expire").json()

    cancel_body = _event(cancelled_session["id"], EventType.CANCELLED)
    expire_body = _event(expired_session["id"], EventType.EXPIRED)

    assert cancel_body["data"]["object"] == cancelled and cancelled["status"] == "cancelled"
    assert cancel_body["data"]["cancellation_reason"] == "abandoned"
    assert expire_body["data"]["object"] == expired and expired["status"] == "expired"
    assert expire_body["livemode"] is False and expire_body["data"]["object"]["livemode"] is False


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "orm"])
def test_swept_expiry_event_is_the_whole_session_the_api_shows_after_the_sweep(merchant, use_sql):
    created = merchant.post(plan_body(merchant, metadata={"cart": "c-1"})).json()
    CheckoutSession.objects.filter(pk=created["id"]).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1))

    assert checkout_sessions_expire_due(use_sql=use_sql) == 1
    # The sweep writes events in bulk, leaving the object to the outbox pass.
    assert Event.objects.get(checkout_session_id=created["id"]).payload == {}

    body = _event(created["id"], EventType.EXPIRED)

    shown = _shown(merchant, created["id"])
    assert shown["status"] == "expired"
    assert body["data"] == {"object": shown}
    assert body["data"]["object"]["url"] == created["url"]
    assert body["data"]["object"]["estimates"] == created["estimates"]


def test_a_standard_webhooks_receiver_gets_the_session_object(merchant, receiver):
    endpoint = merchant.client.post(HOOKS, {"url": receiver.url}, format="json").json()
    created = merchant.post(plan_body(merchant)).json()
    cancelled = merchant.post({}, path=f"{URL}/{created['id']}/cancel").json()

    outbox.events_dispatch_pending(min_age_seconds=0)
    [delivery] = WebhookDelivery.objects.filter(endpoint_id=endpoint["id"])
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == "succeeded"

    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    body = Webhook(endpoint["secret"]).verify(request["body"], headers)
    assert body["type"] == "checkout_session.cancelled"
    assert body["data"]["object"] == cancelled
    assert body["data"]["cancellation_reason"] == "requested_by_customer"
