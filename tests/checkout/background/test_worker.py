"""End to end with a real Celery worker on the real Redis broker (and, for the outage,
a Redis of our own that the test stops and starts)."""

import datetime
import itertools
import json
import time

import pytest
from django.utils import timezone

from billing.enums import BillingEventType
from checkout.enums import DeliveryStatus, EventType, SessionStatus
from checkout.models import CheckoutSession, Event, WebhookAttempt, WebhookDelivery
from checkout.services.lifecycle import checkout_session_cancel
from core import queue
from tests.checkout.factories import CheckoutSessionFactory, WebhookEndpointFactory

from .conftest import requires_postgres, requires_redis, signature_valid

pytestmark = [pytest.mark.slow, requires_redis, requires_postgres]


def _wait_until(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def test_worker_delivers_signed_webhook_for_state_change(start_celery_worker, receiver):
    session = CheckoutSessionFactory(trace_id="trace-worker")
    endpoint = WebhookEndpointFactory(organization=session.organization, url=receiver.url)

    with start_celery_worker():
        # A transition commits its event; the dispatch task, the delivery task and the
        # HTTP request all happen in the worker.
        checkout_session_cancel(organization_id=session.organization_id, session_id=session.id)
        [request] = receiver.wait_for(1)

    assert signature_valid(request["headers"]["Checkout-Signature"], request["body"], endpoint.secret)
    body = json.loads(request["body"])
    assert body["type"] == EventType.CANCELLED
    assert body["data"]["object"]["id"] == str(session.id)
    assert body["data"]["object"]["trace_id"] == "trace-worker"
    assert _wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 1)
    assert Event.objects.get(checkout_session=session).dispatched_at is not None


def test_worker_retries_failing_receiver_with_growing_delays(start_celery_worker, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.6
    receiver.statuses = [500, 502, 503]  # then 200
    session = CheckoutSessionFactory()
    WebhookEndpointFactory(organization=session.organization, url=receiver.url)

    with start_celery_worker():
        checkout_session_cancel(organization_id=session.organization_id, session_id=session.id)
        requests = receiver.wait_for(4, timeout=30)
        assert _wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists())

    assert [r["status"] for r in requests] == [500, 502, 503, 200]
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(requests)]
    # Base 0.6 s doubling with ±20 % jitter: ~0.6, ~1.2, ~2.4 s.
    assert gaps[0] >= 0.45 and gaps[1] > gaps[0] and gaps[2] > gaps[1], gaps
    assert [r["headers"]["Checkout-Delivery-Attempt"] for r in requests] == ["1", "2", "3", "4"]
    # The same event, re-signed each time.
    assert len({r["body"] for r in requests}) == 1
    assert len({r["headers"]["Checkout-Signature"] for r in requests}) >= 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempt_count == 4
    assert [a.response_status for a in WebhookAttempt.objects.filter(delivery=delivery).order_by("attempted_at")] \
        == [500, 502, 503, 200]


def test_worker_runs_beat_tasks_sweep_then_outbox(start_celery_worker, receiver, sessions_bulk, celery_app):
    """What beat does every minute, through the broker: the sweep task expires due
    sessions and its one outbox pass gets their events to the endpoint."""
    from django.conf import settings as django_settings

    due = sessions_bulk(3, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    org = CheckoutSession.objects.get(pk=due[0]).organization
    WebhookEndpointFactory(organization=org, url=receiver.url, enabled_events=[EventType.EXPIRED])
    sweep = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values()
                 if e["task"] == "checkout.sessions_expire_due")

    with start_celery_worker():
        celery_app.send_task(sweep["task"], **sweep.get("options", {}))
        requests = receiver.wait_for(3)

    assert sorted(json.loads(r["body"])["data"]["object"]["id"] for r in requests) == sorted(map(str, due))
    assert set(CheckoutSession.objects.filter(pk__in=due).values_list("status", flat=True)) == {"expired"}


def test_events_survive_stopped_redis(start_celery_worker, throwaway_redis, receiver, settings, monkeypatch):
    from billing.gateway import CARD_SETTLES_LATER, CardDetails
    from checkout.services.confirm import checkout_session_confirm
    from checkout.sessions.expiry import checkout_sessions_expire_due
    from tests.billing.factories import PlanItemFactory
    from tests.checkout.pages.helpers import priced_session
    from tests.helpers import api_client_for

    session = CheckoutSessionFactory()
    org = session.organization
    other = CheckoutSessionFactory(organization=org)
    paying = priced_session(organization=org)
    endpoint = WebhookEndpointFactory(organization=org, url=receiver.url)
    plan = PlanItemFactory(plan__organization=org).plan
    api = api_client_for(org)
    # The whole of Redis goes: the broker and the cache (the API's rate limiter then steps
    # aside for a while; tests/conftest.py closes its circuit again after every test).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": throwaway_redis.url}}

    throwaway_redis.stop()
    started = time.monotonic()
    # The API and the hosted page keep answering.
    created = api.post("/api/v1/checkout-sessions", {"plan_id": str(plan.id), "customer_id": str(session.customer_id)},
                       format="json")
    assert created.status_code == 201, created.content
    assert api.get(f"/api/v1/checkout-sessions/{session.id}").status_code == 200
    assert api.post(f"/api/v1/checkout-sessions/{session.id}/cancel", {"reason": "duplicate"},
                    format="json").status_code == 200
    assert api.get(f"/pay/{paying.token}").status_code == 200
    # A payment that settles later: its settle task cannot be queued either.
    card = CardDetails(number=CARD_SETTLES_LATER, exp_month=12, exp_year=2030, cvc="123")
    assert checkout_session_confirm(session_id=paying.pk, card=card).outcome == "processing"
    CheckoutSession.objects.filter(pk=other.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert checkout_sessions_expire_due() == 1
    # Nobody hung on the dead broker.
    assert time.monotonic() - started < 10
    assert sorted(Event.objects.filter(dispatched_at__isnull=True).values_list("type", flat=True)) == sorted(
        [EventType.CANCELLED, EventType.EXPIRED, EventType.PROCESSING]
    )

    throwaway_redis.start()
    # The enqueue breaker (core.queue) skips the broker for a few seconds after a failure;
    # model that window having passed.
    queue.broker.reset()
    monkeypatch.setattr("checkout.tasks.SETTLE_GRACE_SECONDS", 0)
    with start_celery_worker():
        # What beat sends every 30 s / every minute once Redis is back.
        from checkout.tasks import events_dispatch_pending, payments_settle_pending

        events_dispatch_pending.delay(min_age_seconds=0)
        payments_settle_pending.delay()
        # The settled card is also saved for renewals: payment_method.attached goes out too.
        requests = receiver.wait_for(5)
        assert _wait_until(lambda: not Event.objects.filter(dispatched_at__isnull=True).exists())

    types = sorted(json.loads(r["body"])["type"] for r in requests)
    assert types == sorted([EventType.CANCELLED, EventType.EXPIRED, EventType.PROCESSING, EventType.COMPLETED,
                            BillingEventType.PAYMENT_METHOD_ATTACHED])
    assert all(signature_valid(r["headers"]["Checkout-Signature"], r["body"], endpoint.secret) for r in requests)
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.CANCELLED
    assert CheckoutSession.objects.get(pk=paying.pk).status == SessionStatus.COMPLETED
