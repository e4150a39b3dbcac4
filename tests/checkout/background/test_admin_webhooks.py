"""Ops screens for webhooks: the secret is shown once, deliveries can be re-sent."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkout.enums import DeliveryStatus, EventType
from checkout.models import WebhookDelivery, WebhookEndpoint
from checkout.webhooks import delivery as sending
from tests.checkout.factories import (
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)


@pytest.mark.django_db
def test_admin_add_endpoint_shows_secret_once(ops_client, organization):
    response = ops_client.post(
        reverse("admin:checkout_webhookendpoint_add"),
        {"organization": organization.pk, "url": "https://merchant.example/hooks", "description": "Orders",
         "enabled_events": [EventType.COMPLETED], "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.enabled_events == [EventType.COMPLETED]
    # The page after the redirect shows it, once.
    shown = ops_client.get(response["Location"]).content.decode()
    assert endpoint.secret in shown and "will not be shown again" in shown
    # Then neither the change form nor the list shows it.
    for url in (reverse("admin:checkout_webhookendpoint_change", args=[endpoint.pk]),
                reverse("admin:checkout_webhookendpoint_changelist")):
        assert endpoint.secret not in ops_client.get(url).content.decode()


@pytest.mark.django_db
def test_admin_add_endpoint_unticked_active_is_created_paused(ops_client, organization):
    with CaptureQueriesContext(connection) as captured:
        response = ops_client.post(
            reverse("admin:checkout_webhookendpoint_add"),
            {"organization": organization.pk, "url": "https://merchant.example/hooks", "description": "",
             "enabled_events": [], "is_active": ""},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active is False
    # Inserted paused: never live, not even between an insert and an update.
    table = WebhookEndpoint._meta.db_table
    assert not [q for q in captured.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]


@pytest.mark.django_db
def test_admin_add_endpoint_validates_url(ops_client, organization):
    response = ops_client.post(
        reverse("admin:checkout_webhookendpoint_add"),
        {"organization": organization.pk, "url": "javascript:alert(1)", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Only http and https URLs are allowed." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_admin_change_endpoint_goes_through_service(ops_client):
    endpoint = WebhookEndpointFactory()
    secret = endpoint.secret
    response = ops_client.post(
        reverse("admin:checkout_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://merchant.example/v2", "description": "", "enabled_events": [], "is_active": ""},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.is_active, endpoint.secret) == ("https://merchant.example/v2", False, secret)


@pytest.mark.django_db
def test_admin_delivery_page_shows_attempts(ops_client):
    attempt = WebhookAttemptFactory(response_status=503, response_excerpt="upstream down")
    body = ops_client.get(reverse("admin:checkout_webhookdelivery_change", args=[attempt.delivery_id])).content
    assert b"upstream down" in body and b"503" in body


@pytest.mark.django_db
def test_admin_resend_action_requeues_deliveries(ops_client, monkeypatch):
    sent = []
    monkeypatch.setattr(sending, "deliveries_queue", lambda ids, countdown=None: sent.extend(ids))
    failed = WebhookDeliveryFactory(status=DeliveryStatus.FAILED, next_attempt_at=None)
    succeeded = WebhookDeliveryFactory(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
    untouched = WebhookDeliveryFactory(status=DeliveryStatus.FAILED, next_attempt_at=None)

    response = ops_client.post(
        reverse("admin:checkout_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [failed.pk, succeeded.pk]},
    )
    assert response.status_code == 302
    assert {d.status for d in WebhookDelivery.objects.filter(pk__in=[failed.pk, succeeded.pk])} == {"pending"}
    assert WebhookDelivery.objects.get(pk=untouched.pk).status == DeliveryStatus.FAILED
    assert sent == []  # queued on commit (the test's transaction never commits)


@pytest.mark.django_db(transaction=True)
def test_admin_resend_queues_after_commit(ops_client, monkeypatch):
    sent = []
    monkeypatch.setattr(sending, "deliveries_queue", lambda ids, countdown=None: sent.extend(ids))
    delivery = WebhookDeliveryFactory(status=DeliveryStatus.FAILED, next_attempt_at=None)
    ops_client.post(reverse("admin:checkout_webhookdelivery_changelist"),
                    {"action": "resend", "_selected_action": [delivery.pk]})
    assert sent == [delivery.pk]
