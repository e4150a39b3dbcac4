"""Webhook endpoints, the outbox dispatch and delivery attempts (in-process; the
worker tests drive the same code through Celery)."""

import datetime
import itertools
import json
import random
import time
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from checkout import effects
from checkout.enums import DeliveryStatus, EventType, SessionStatus
from checkout.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from checkout.services.lifecycle import checkout_session_cancel
from checkout.sessions.events import event_record
from checkout.webhooks import delivery as sending
from checkout.webhooks import endpoints, outbox
from core.errors import DomainError
from tests.checkout.factories import (
    CheckoutSessionFactory,
    EventFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from tests.core.factories import OrganizationFactory
from tests.readme import readme_verify

from .conftest import signature_valid


@pytest.fixture
def queued(monkeypatch):
    """Delivery ids the service asked to send (instead of talking to a broker)."""
    calls = []
    monkeypatch.setattr(sending, "tasks_run_inline", lambda: False)
    monkeypatch.setattr(
        effects, "task_enqueue",
        lambda task, *, kwargs, countdown=None: calls.append((task.name, kwargs, countdown)) or True,
    )
    return calls


# --- endpoints -----------------------------------------------------------------------

@pytest.mark.django_db
def test_endpoint_create_returns_secret_once_and_stores_it_for_signing(organization):
    endpoint, secret = endpoints.webhook_endpoint_create(
        organization_id=organization.id, url="https://merchant.example/hooks",
        enabled_events=[EventType.COMPLETED, EventType.EXPIRED],  # duplicates are refused (test_api_webhooks)
    )
    assert secret.startswith("whsec_") and len(secret) > 40
    endpoint.refresh_from_db()
    assert endpoint.secret == secret
    assert endpoint.enabled_events == [EventType.COMPLETED, EventType.EXPIRED]


@pytest.mark.parametrize(
    "url, code",
    [
        ("", "invalid_url"),
        ("merchant.example/hooks", "invalid_url"),
        ("ftp://merchant.example/hooks", "url_scheme_not_allowed"),
        ("javascript:alert(1)", "url_scheme_not_allowed"),
        ("https://user:pw@merchant.example/hooks", "url_userinfo_not_allowed"),
        ("https:///hooks", "invalid_url"),
        ("https://merchant.example/" + "a" * 2100, "url_too_long"),
        ("https://merchant.example/ho oks", "invalid_url"),
    ],
)
@pytest.mark.django_db
def test_endpoint_url_validated_like_redirect_urls(organization, url, code):
    with pytest.raises(DomainError) as exc:
        endpoints.webhook_endpoint_create(organization_id=organization.id, url=url)
    assert exc.value.code == code and "url" in exc.value.fields
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_endpoint_live_mode_requires_https(organization):
    with pytest.raises(DomainError) as exc:
        endpoints.webhook_endpoint_create(organization_id=organization.id, url="http://merchant.example/h",
                                         livemode=True)
    assert exc.value.code == "url_https_required"
    endpoints.webhook_endpoint_create(organization_id=organization.id, url="https://merchant.example/h",
                                     livemode=True)


@pytest.mark.django_db
def test_endpoint_unknown_event_type_rejected(organization):
    with pytest.raises(DomainError) as exc:
        endpoints.webhook_endpoint_create(organization_id=organization.id, url="https://m.example/h",
                                         enabled_events=["checkout_session.exploded"])
    assert exc.value.code == "invalid_event_type"


@pytest.mark.django_db
def test_endpoint_limit_per_organization(organization):
    for i in range(endpoints.MAX_ENDPOINTS_PER_ORGANIZATION):
        endpoints.webhook_endpoint_create(organization_id=organization.id, url=f"https://m.example/{i}")
    with pytest.raises(DomainError) as exc:
        endpoints.webhook_endpoint_create(organization_id=organization.id, url="https://m.example/x")
    assert exc.value.code == "webhook_endpoint_limit"


@pytest.mark.django_db
def test_endpoint_update_and_delete_stay_in_organization(organization, other_organization):
    endpoint, secret = endpoints.webhook_endpoint_create(organization_id=organization.id, url="https://m.example/h")
    with pytest.raises(DomainError) as exc:
        endpoints.webhook_endpoint_update(organization_id=other_organization.id, endpoint_id=endpoint.id,
                                         is_active=False)
    assert exc.value.status == 404
    updated = endpoints.webhook_endpoint_update(organization_id=organization.id, endpoint_id=endpoint.id,
                                               url="https://m.example/new", is_active=False)
    assert (updated.url, updated.is_active, updated.secret) == ("https://m.example/new", False, secret)
    with pytest.raises(DomainError):
        endpoints.webhook_endpoint_delete(organization_id=other_organization.id, endpoint_id=endpoint.id)
    endpoints.webhook_endpoint_delete(organization_id=organization.id, endpoint_id=endpoint.id)
    assert not WebhookEndpoint.objects.exists()


# --- dispatch -------------------------------------------------------------------------

@pytest.mark.django_db
def test_event_dispatch_creates_deliveries_for_subscribed_active_endpoints(queued):
    session = CheckoutSessionFactory()
    org = session.organization
    all_events = WebhookEndpointFactory(organization=org)
    only_cancelled = WebhookEndpointFactory(organization=org, enabled_events=[EventType.CANCELLED])
    WebhookEndpointFactory(organization=org, enabled_events=[EventType.COMPLETED])  # not subscribed
    WebhookEndpointFactory(organization=org, is_active=False)  # paused
    WebhookEndpointFactory(organization=OrganizationFactory())  # another merchant
    event = EventFactory(checkout_session=session, type=EventType.CANCELLED, sequence=1)

    created = outbox.event_dispatch(event_id=event.id)

    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {all_events.id, only_cancelled.id}
    assert set(created) == {d.id for d in deliveries}
    assert all(d.status == DeliveryStatus.PENDING for d in deliveries)
    event.refresh_from_db()
    assert event.dispatched_at is not None
    # Dispatching again does nothing.
    assert outbox.event_dispatch(event_id=event.id) == []
    assert deliveries.count() == 2


@pytest.mark.django_db
def test_event_dispatch_queues_sends_after_commit(queued, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpointFactory()
    event = EventFactory(checkout_session__organization=endpoint.organization, organization=endpoint.organization)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = outbox.event_dispatch(event_id=event.id)
        assert queued == []  # nothing leaves before the transaction commits
    assert queued == [("checkout.webhook_delivery_attempt", {"delivery_id": str(delivery_id)}, None)]


@pytest.mark.django_db
def test_event_dispatch_in_eager_mode_sends_nothing_inline(monkeypatch, receiver,
                                                            django_capture_on_commit_callbacks):
    """The embedded default runs tasks inside the request: a send there would hold the
    customer's page for the endpoint's whole timeout."""
    monkeypatch.setattr(sending, "tasks_run_inline", lambda: True)
    endpoint = WebhookEndpointFactory(url=receiver.url)
    session = CheckoutSessionFactory(organization=endpoint.organization)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = outbox.event_dispatch(
            event_id=EventFactory(checkout_session=session, organization=session.organization).id
        )
    assert receiver.requests == []
    # `manage.py send_webhooks` sends it.
    out = StringIO()
    call_command("send_webhooks", stdout=out)
    assert "1 succeeded" in out.getvalue()
    assert WebhookDelivery.objects.get(pk=delivery_id).status == DeliveryStatus.SUCCEEDED


@pytest.mark.django_db
def test_state_change_event_is_dispatched_on_commit(monkeypatch, django_capture_on_commit_callbacks):
    """The path every transition takes: event row in the change's transaction, the
    dispatch task after commit."""
    sent = []
    monkeypatch.setattr("checkout.tasks.events_dispatch.apply_async",
                        lambda kwargs=None, countdown=None: sent.append(kwargs))
    session = CheckoutSessionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        checkout_session_cancel(organization_id=session.organization_id, session_id=session.id)
    event = Event.objects.get(checkout_session=session)
    assert (event.type, event.sequence) == (EventType.CANCELLED, 1)
    assert sent == [{"event_id": str(event.id)}]


@pytest.mark.django_db
def test_events_dispatch_pending_picks_up_lost_events(queued):
    endpoint = WebhookEndpointFactory()
    org = endpoint.organization
    old = timezone.now() - datetime.timedelta(minutes=2)
    lost = [EventFactory(organization=org, checkout_session__organization=org) for _ in range(3)]
    Event.objects.filter(pk__in=[e.id for e in lost]).update(created_at=old)
    fresh = EventFactory(organization=org, checkout_session__organization=org)  # its own task is on the way
    done = EventFactory(organization=org, checkout_session__organization=org, dispatched_at=old)

    assert outbox.events_dispatch_pending(batch_size=2) == 3

    assert set(WebhookDelivery.objects.values_list("event_id", flat=True)) == {e.id for e in lost}
    assert Event.objects.get(pk=fresh.id).dispatched_at is None
    assert Event.objects.get(pk=done.id).dispatched_at == old
    assert outbox.events_dispatch_pending(min_age_seconds=0) == 1


# --- signature ----------------------------------------------------------------------

def test_signature_is_hmac_sha256_over_timestamp_and_body():
    body = b'{"id":"evt"}'
    header = sending.webhook_signature(secret="whsec_abc", timestamp=1700000000, body=body)
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    # The README's verify(), as merchants copy it, with its clock pinned.
    verify = _readme_verify_at(1700000100)
    assert verify(header, body, "whsec_abc")
    assert not verify(header, body + b" ", "whsec_abc")
    assert not verify(header, body, "whsec_other")
    # A replay outside the tolerance fails even with the right signature.
    assert not _readme_verify_at(1700000000 + 301)(header, body, "whsec_abc")
    assert not verify("garbage", body, "whsec_abc")


def _readme_verify_at(now: int):
    verify = readme_verify()
    verify.__globals__["time"] = SimpleNamespace(time=lambda: now)  # its own exec namespace
    return verify


# --- attempts ------------------------------------------------------------------------

def _delivery_to(url, **endpoint_fields):
    endpoint = WebhookEndpointFactory(url=url, **endpoint_fields)
    session = CheckoutSessionFactory(organization=endpoint.organization, trace_id="t-1")
    with transaction.atomic():
        event = event_record(session=session, type=EventType.CANCELLED)
    return WebhookDeliveryFactory(endpoint=endpoint, event=event)


@pytest.mark.django_db
def test_attempt_success_is_signed_and_recorded(receiver, queued):
    delivery = _delivery_to(receiver.url)

    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED

    [request] = receiver.requests
    header = request["headers"]["Checkout-Signature"]
    assert signature_valid(header, request["body"], delivery.endpoint.secret)
    # The README's check refuses a tampered body, another secret, a garbled header.
    assert not signature_valid(header, request["body"] + b" ", delivery.endpoint.secret)
    assert not signature_valid(header, request["body"], "whsec_someone_else")
    assert not signature_valid("v1=abc", request["body"], delivery.endpoint.secret)
    body = json.loads(request["body"])
    assert body["id"] == str(delivery.event_id) and body["type"] == EventType.CANCELLED
    assert body["data"]["object"]["id"] == str(delivery.event.checkout_session_id)
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Checkout-Event-Id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("succeeded", 1, None)
    assert delivery.delivered_at is not None
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status == 200 and attempt.latency_ms is not None
    assert json.loads(attempt.response_excerpt) == {"received": True}
    # Delivered: a duplicate task finds nothing to do.
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) is None
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_attempt_failure_schedules_retry_with_backoff(receiver, queued, settings,
                                                      django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.statuses = [503]
    delivery = _delivery_to(receiver.url)

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.PENDING

    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2
    [(name, kwargs, countdown)] = queued
    assert name == "checkout.webhook_delivery_attempt" and kwargs == {"delivery_id": str(delivery.id)}
    assert 24 <= countdown <= 36
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status == 503 and attempt.error == ""
    # Not due yet: an early duplicate task does nothing.
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) is None
    assert len(receiver.requests) == 1


def test_retry_delays_grow_and_last_at_least_a_day(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    rng = random.Random(7)
    delays = [sending.webhook_retry_delay(n, rng=rng) for n in range(1, 12)]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    # Jitter: two endpoints failing together do not retry in lockstep.
    assert sending.webhook_retry_delay(3, rng=random.Random(1)) != sending.webhook_retry_delay(
        3, rng=random.Random(2))
    # Capped, and the whole series spans at least 24 hours before giving up.
    assert max(sending.webhook_retry_delay(n) for n in range(1, 60)) <= 6 * 3600 * 1.2
    elapsed, attempts = 0.0, 0
    window = sending._retry_window().total_seconds()
    while True:
        attempts += 1
        delay = sending.webhook_retry_delay(attempts, rng=rng)
        if elapsed + delay > window:
            break
        elapsed += delay
    assert elapsed >= 24 * 3600 and attempts >= 10


@pytest.mark.django_db
def test_attempt_gives_up_after_retry_window(receiver, queued):
    receiver.statuses = [500]
    delivery = _delivery_to(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3), attempt_count=17
    )
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at, delivery.attempt_count) == ("failed", None, 18)


@pytest.mark.django_db
def test_attempt_connection_refused_is_recorded_and_retried(queued):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    delivery = _delivery_to(f"http://127.0.0.1:{port}/hooks")
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.PENDING
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status is None and attempt.error.startswith("connection failed")


@pytest.mark.django_db
def test_attempt_timeout_is_bounded(receiver, queued, monkeypatch):
    monkeypatch.setattr(sending, "REQUEST_TIMEOUT_SECONDS", 0.3)
    receiver.delay_seconds = 1.5
    delivery = _delivery_to(receiver.url)
    started = time.monotonic()
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.PENDING
    assert time.monotonic() - started < 1.2
    assert "timed out" in WebhookAttempt.objects.get(delivery=delivery).error


@pytest.mark.django_db
def test_attempt_does_not_follow_redirects(receiver, queued):
    receiver.redirect_to = "http://127.0.0.1:9/elsewhere"
    delivery = _delivery_to(receiver.url)
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.PENDING
    assert WebhookAttempt.objects.get(delivery=delivery).response_status == 302
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_attempt_blocks_non_http_urls(queued):
    delivery = _delivery_to("https://merchant.example/hooks")
    # A row edited behind the service's back (validation would never allow it).
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(url="file:///etc/passwd")
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED
    assert WebhookAttempt.objects.get(delivery=delivery).error.startswith("blocked")


@pytest.mark.django_db
def test_attempt_to_paused_endpoint_fails_without_request(receiver, queued):
    delivery = _delivery_to(receiver.url, is_active=False)
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED
    assert receiver.requests == []


@pytest.mark.django_db
def test_retry_due_queues_only_due_pending_deliveries(queued):
    due = WebhookDeliveryFactory(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    WebhookDeliveryFactory(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))
    WebhookDeliveryFactory(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    WebhookDeliveryFactory(status=DeliveryStatus.FAILED, next_attempt_at=None)
    assert sending.webhook_deliveries_retry_due() == 1
    assert queued == [("checkout.webhook_delivery_attempt", {"delivery_id": str(due.id)}, None)]


@pytest.mark.django_db
def test_resend_sends_a_failed_delivery_again(receiver, queued):
    receiver.statuses = [500]
    delivery = _delivery_to(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - datetime.timedelta(days=4))
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED

    sending.webhook_delivery_resend(delivery_id=delivery.id)
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.attempt_count == 2
    assert [a.response_status for a in delivery.attempts.order_by("attempted_at")] == [500, 200]


@pytest.mark.django_db
def test_queue_swallows_broker_errors(monkeypatch):
    from checkout.tasks import webhook_delivery_attempt

    def boom(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(webhook_delivery_attempt, "apply_async", boom)
    assert effects.effect_enqueue(effects.WEBHOOK_DELIVERY_ATTEMPT, delivery_id="x") is False


@pytest.mark.django_db
def test_sweep_events_reach_endpoints_through_outbox(sessions_bulk, receiver, queued):
    """Events written in bulk by the sweep are dispatched by the outbox pass."""
    session = CheckoutSessionFactory(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    WebhookEndpointFactory(organization=session.organization, url=receiver.url,
                           enabled_events=[EventType.EXPIRED])
    from checkout.sessions.expiry import checkout_sessions_expire_due

    assert checkout_sessions_expire_due() == 1
    assert outbox.events_dispatch_pending(min_age_seconds=0) == 1
    delivery = WebhookDelivery.objects.get()
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED
    body = json.loads(receiver.requests[0]["body"])
    assert body["type"] == EventType.EXPIRED and body["data"]["object"]["status"] == SessionStatus.EXPIRED


@pytest.mark.django_db
def test_attempt_garbage_response_is_recorded_not_raised(queued):
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer_garbage():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    delivery = _delivery_to(f"http://127.0.0.1:{server.getsockname()[1]}/hooks")
    try:
        assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.PENDING
    finally:
        server.close()
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status is None and attempt.error


# --- Standard Webhooks ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_receiver_using_only_the_standardwebhooks_package_verifies_our_delivery(receiver, queued):
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    delivery = _delivery_to(receiver.url)
    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}

    payload = Webhook(delivery.endpoint.secret).verify(request["body"], headers)

    assert payload["id"] == str(delivery.event_id) and payload["livemode"] is False
    assert headers["webhook-id"] == str(delivery.event_id)
    assert headers["checkout-signature"].startswith("t=")  # the old header, kept for one release
    with pytest.raises(WebhookVerificationError):
        Webhook(delivery.endpoint.secret).verify(request["body"] + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request["body"], headers)


@pytest.mark.django_db
def test_after_a_roll_the_old_and_new_standard_secrets_both_verify(receiver, queued):
    from standardwebhooks.webhooks import Webhook

    delivery = _delivery_to(receiver.url)
    old_secret = delivery.endpoint.secret
    endpoints.webhook_endpoint_secret_roll(organization_id=delivery.endpoint.organization_id,
                                          endpoint_id=delivery.endpoint_id)
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    delivery.endpoint.refresh_from_db()
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old_secret).verify(request["body"], headers)
    assert Webhook(delivery.endpoint.secret).verify(request["body"], headers)


def test_secrets_made_before_standard_webhooks_get_no_standard_headers():
    from checkout.models import WebhookEndpoint

    legacy = WebhookEndpoint(secret="whsec_" + "x" * 43)  # URL-safe text, not base64
    assert sending.standard_webhook_headers(endpoint=legacy, message_id="evt_1", timestamp=1, body=b"{}",
                                             now=timezone.now()) == {}


# --- order per endpoint and session, endpoint health ------------------------------------------


@pytest.mark.django_db
def test_a_later_event_waits_while_an_earlier_one_is_still_being_retried(receiver, queued):
    from checkout.models import WebhookDelivery

    first = _delivery_to(receiver.url)
    session = first.event.checkout_session
    with transaction.atomic():
        later_event = event_record(session=session, type=EventType.EXPIRED)
    later = WebhookDeliveryFactory(endpoint=first.endpoint, event=later_event)
    receiver.statuses = [503]
    assert sending.webhook_delivery_attempt(delivery_id=first.id) == DeliveryStatus.PENDING

    assert sending.webhook_delivery_attempt(delivery_id=later.id) == sending.HELD
    later.refresh_from_db()
    assert later.attempt_count == 0 and later.next_attempt_at > timezone.now()
    assert len(receiver.requests) == 1  # only the first was sent

    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    assert sending.webhook_delivery_attempt(delivery_id=first.id) == DeliveryStatus.SUCCEEDED
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now())
    assert sending.webhook_delivery_attempt(delivery_id=later.id) == DeliveryStatus.SUCCEEDED
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1, 1, 2]


@pytest.mark.django_db
def test_a_held_event_is_sent_as_soon_as_the_earlier_one_is_delivered(receiver, queued,
                                                                      django_capture_on_commit_callbacks):

    first = _delivery_to(receiver.url)
    session = first.event.checkout_session
    with transaction.atomic():
        later_event = event_record(session=session, type=EventType.EXPIRED)
    later = WebhookDeliveryFactory(endpoint=first.endpoint, event=later_event)
    # The later event's task ran while the first was still pending: held back.
    assert sending.webhook_delivery_attempt(delivery_id=later.id) == sending.HELD
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.webhook_delivery_attempt(delivery_id=first.id) == DeliveryStatus.SUCCEEDED

    later.refresh_from_db()
    assert later.next_attempt_at <= timezone.now()  # due now, not ORDER_HOLD_SECONDS later
    assert [(kwargs["delivery_id"], countdown) for _name, kwargs, countdown in queued] == [(str(later.id), None)]
    # So its task sends it at once.
    assert sending.webhook_delivery_attempt(delivery_id=later.id) == DeliveryStatus.SUCCEEDED
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1, 2]


@pytest.mark.django_db
def test_a_later_event_in_its_retry_backoff_keeps_its_schedule(receiver, queued):
    from checkout.models import WebhookDelivery

    first = _delivery_to(receiver.url)
    with transaction.atomic():
        later_event = event_record(session=first.event.checkout_session, type=EventType.EXPIRED)
    backoff = timezone.now() + datetime.timedelta(minutes=5)
    later = WebhookDeliveryFactory(endpoint=first.endpoint, event=later_event, attempt_count=2,
                                   next_attempt_at=backoff)

    assert sending.webhook_delivery_attempt(delivery_id=first.id) == DeliveryStatus.SUCCEEDED

    assert WebhookDelivery.objects.get(pk=later.pk).next_attempt_at == backoff


@pytest.mark.django_db
def test_an_endpoint_failing_for_three_days_is_paused_and_says_why(receiver, queued):
    from checkout.models import WebhookEndpoint

    delivery = _delivery_to(receiver.url)
    receiver.statuses = [500, 500]
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.is_active and endpoint.failing_since is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=3, minutes=1))
    type(delivery).objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    sending.webhook_delivery_attempt(delivery_id=delivery.id)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "every delivery failed for 3 days" in endpoint.disabled_reason
    endpoints.webhook_endpoint_update(organization_id=endpoint.organization_id, endpoint_id=endpoint.pk,
                                     is_active=True)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == "" and endpoint.failing_since is None


@pytest.mark.django_db
def test_a_success_clears_the_failing_streak(receiver, queued):
    from checkout.models import WebhookEndpoint

    delivery = _delivery_to(receiver.url)
    receiver.statuses = [500]
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    type(delivery).objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.failing_since is None and endpoint.last_success_at is not None
