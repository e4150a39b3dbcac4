"""Checkout's scrape-time metrics (checkout.metrics, checkout.selectors.checkout_metrics_get):
values exact against seeded rows, each query on an index."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from checkout.models import WebhookDelivery
from checkout.selectors import checkout_metrics_get
from tests.checkout.factories import (
    EventFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    checkout_session_created_at,
)

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token"


@pytest.fixture
def seeded():
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    sessions = [checkout_session_created_at(now - hour, status=status, livemode=livemode)
                for status, livemode in (("completed", True), ("completed", True), ("cancelled", True),
                                         ("processing", False), ("open", False))]
    # Open and due for 5 and 2 minutes: both count as expired, the sweep lags 5 minutes.
    checkout_session_created_at(now - 2 * hour, status="open", livemode=True,
                                expires_at=now - datetime.timedelta(minutes=5))
    checkout_session_created_at(now - 2 * hour, status="open", livemode=True,
                                expires_at=now - datetime.timedelta(minutes=2))
    # Older than a day: not in the 24-hour counts, but its due-ness still counts for the lag.
    checkout_session_created_at(now - 30 * hour, status="completed", livemode=True)
    event = EventFactory(checkout_session=sessions[0])

    def delivery(status):  # of the same event, each to its own endpoint (no extra sessions)
        return WebhookDeliveryFactory(status=status, event=event,
                                      endpoint=WebhookEndpointFactory(organization=event.organization))

    deliveries = [delivery(status) for status in ("pending", "pending", "succeeded", "failed")]
    WebhookDelivery.objects.filter(pk=deliveries[0].pk).update(created_at=now - datetime.timedelta(minutes=30))
    old = delivery("succeeded")
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=now - 48 * hour)
    return now


def test_checkout_metrics_values(seeded):
    metrics = checkout_metrics_get(now=seeded)
    live = {status: n for (livemode, status), n in metrics.sessions_recent.items() if livemode}
    test = {status: n for (livemode, status), n in metrics.sessions_recent.items() if not livemode}
    assert live == {"open": 0, "processing": 0, "completed": 2, "cancelled": 1, "expired": 2}
    assert test == {"open": 1, "processing": 1, "completed": 0, "cancelled": 0, "expired": 0}
    assert metrics.sweep_lag_seconds == pytest.approx(300, abs=1)
    assert metrics.deliveries_recent == {"pending": 2, "succeeded": 1, "failed": 1}
    assert metrics.deliveries_pending == 2
    assert metrics.oldest_pending_delivery_age_seconds == pytest.approx(1800, abs=1)


def test_checkout_metrics_with_nothing_waiting_are_zero(db):
    metrics = checkout_metrics_get()
    assert (metrics.sweep_lag_seconds, metrics.deliveries_pending, metrics.oldest_pending_delivery_age_seconds) == (
        0, 0, 0)
    assert set(metrics.sessions_recent.values()) == {0} and len(metrics.sessions_recent) == 10


def test_checkout_metrics_exposed_at_the_endpoint(client, settings, seeded):
    settings.METRICS_TOKEN = TOKEN
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body) for s in family.samples}
    assert samples[("checkout_sessions_last_24h", (("livemode", "true"), ("status", "expired")))] == 2
    assert samples[("checkout_sessions_last_24h", (("livemode", "false"), ("status", "processing")))] == 1
    assert samples[("checkout_webhook_deliveries_last_24h", (("status", "failed"),))] == 1
    assert samples[("checkout_webhook_deliveries_pending", ())] == 2
    assert samples[("checkout_expiry_sweep_lag_seconds", ())] >= 300
    assert samples[("checkout_webhook_oldest_pending_delivery_age_seconds", ())] >= 1800
    assert samples[("checkout_metrics_database_up", ())] == 1


def test_checkout_metrics_run_four_queries(seeded, django_assert_num_queries):
    with django_assert_num_queries(4):
        checkout_metrics_get()


def test_checkout_metrics_queries_use_their_indexes(seeded):
    """With sequential and bitmap scans ruled out, each query still finds an index that answers
    it without visiting the table (all four are index-only scans)."""
    with CaptureQueriesContext(connection) as captured:
        checkout_metrics_get(now=seeded)
    expected = ["session_dashboard", "session_open_expires_at", "delivery_created", "delivery_pending_created"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for query, index in zip(captured.captured_queries, expected, strict=True):
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"Index Only Scan using {index}" in plan, plan
