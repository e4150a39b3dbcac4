"""Rolling a webhook endpoint's signing secret: the new one is shown once, and for the grace
period every delivery is signed with both, so a receiver switches without rejecting any."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checkout.enums import DeliveryStatus
from checkout.errors import InvalidSecretGracePeriod, WebhookEndpointNotFound
from checkout.models import WebhookEndpoint
from checkout.webhooks import delivery as sending
from checkout.webhooks import endpoints
from tests.checkout.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.helpers import api_client_for

from .conftest import signature_valid

pytestmark = pytest.mark.django_db


def _roll_url(endpoint):
    return f"/api/v1/webhook-endpoints/{endpoint.id}/roll-secret"


def test_roll_keeps_the_old_secret_signing_for_the_grace_period():
    endpoint = WebhookEndpointFactory()
    old = endpoint.secret
    before = timezone.now()

    rolled, secret = endpoints.webhook_endpoint_secret_roll(
        organization_id=endpoint.organization_id, endpoint_id=endpoint.id, previous_secret_valid_hours=6
    )

    endpoint.refresh_from_db()
    assert secret == endpoint.secret != old and secret.startswith("whsec_")
    assert endpoint.previous_secret == old
    assert before + timedelta(hours=6) <= endpoint.previous_secret_expires_at <= timezone.now() + timedelta(hours=6)


def test_roll_with_zero_hours_drops_the_old_secret_at_once():
    endpoint = WebhookEndpointFactory(previous_secret="whsec_older", previous_secret_expires_at=timezone.now())
    endpoints.webhook_endpoint_secret_roll(
        organization_id=endpoint.organization_id, endpoint_id=endpoint.id, previous_secret_valid_hours=0
    )
    endpoint.refresh_from_db()
    assert (endpoint.previous_secret, endpoint.previous_secret_expires_at) == ("", None)


@pytest.mark.parametrize("hours", [-1, 169, 1.5, True, "24"])
def test_roll_refuses_a_grace_period_outside_0_to_168_whole_hours(hours):
    endpoint = WebhookEndpointFactory()
    with pytest.raises(InvalidSecretGracePeriod):
        endpoints.webhook_endpoint_secret_roll(
            organization_id=endpoint.organization_id, endpoint_id=endpoint.id, previous_secret_valid_hours=hours
        )
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_roll_of_another_tenants_endpoint_is_not_found(other_organization):
    endpoint = WebhookEndpointFactory()
    with pytest.raises(WebhookEndpointNotFound):
        endpoints.webhook_endpoint_secret_roll(organization_id=other_organization.id, endpoint_id=endpoint.id)
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_deliveries_during_the_grace_period_verify_with_either_secret(receiver):
    endpoint = WebhookEndpointFactory(url=receiver.url)
    old = endpoint.secret
    _, new = endpoints.webhook_endpoint_secret_roll(organization_id=endpoint.organization_id, endpoint_id=endpoint.id)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)

    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED

    request = receiver.requests[0]
    header = request["headers"]["Checkout-Signature"]
    assert header.count("v1=") == 2
    assert signature_valid(header, request["body"], new) and signature_valid(header, request["body"], old)


def test_after_the_grace_period_only_the_new_secret_signs(receiver):
    endpoint = WebhookEndpointFactory(url=receiver.url, previous_secret="whsec_old",
                                      previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    sending.webhook_delivery_attempt(delivery_id=delivery.id)
    request = receiver.requests[0]
    header = request["headers"]["Checkout-Signature"]
    assert header.count("v1=") == 1
    assert signature_valid(header, request["body"], endpoint.secret)
    assert not signature_valid(header, request["body"], "whsec_old")


def test_api_roll_returns_the_new_secret_once(api_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)

    response = api_client.post(_roll_url(endpoint), {"previous_secret_valid_hours": 1}, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    endpoint.refresh_from_db()
    assert data["secret"] == endpoint.secret and data["id"] == str(endpoint.id)
    assert data["previous_secret_expires_at"] is not None
    assert "secret" not in api_client.get(f"/api/v1/webhook-endpoints/{endpoint.id}").json()


def test_get_and_list_show_previous_secret_expires_at_while_the_overlap_lasts(api_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    detail = f"/api/v1/webhook-endpoints/{endpoint.id}"
    assert api_client.get(detail).json()["previous_secret_expires_at"] is None

    rolled = api_client.post(_roll_url(endpoint), {"previous_secret_valid_hours": 2}, format="json").json()

    shown = api_client.get(detail).json()["previous_secret_expires_at"]
    assert shown is not None and shown == rolled["previous_secret_expires_at"]
    assert api_client.get("/api/v1/webhook-endpoints").json()["data"][0]["previous_secret_expires_at"] == shown
    assert "previous_secret" not in api_client.get(detail).json()
    # Once the overlap is over, nothing is shown (the old secret no longer signs).
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    assert api_client.get(detail).json()["previous_secret_expires_at"] is None


def test_api_roll_defaults_to_24_hours(api_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    assert api_client.post(_roll_url(endpoint), {}, format="json").status_code == 200
    endpoint.refresh_from_db()
    remaining = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)


@pytest.mark.parametrize("body, code", [({"previous_secret_valid_hours": 169}, "value_out_of_range"),
                                        ({"previous_secret_valid_hours": "soon"}, "invalid_type"),
                                        ({"secret": "whsec_mine"}, "unknown_field")])
def test_api_roll_validates_its_body(api_client, organization, body, code):
    endpoint = WebhookEndpointFactory(organization=organization)
    response = api_client.post(_roll_url(endpoint), body, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == code
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""


def test_api_roll_of_another_tenants_endpoint_is_404(organization, other_organization):
    endpoint = WebhookEndpointFactory(organization=other_organization)
    response = api_client_for(organization).post(_roll_url(endpoint), {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "webhook_endpoint_not_found"
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_admin_action_rolls_and_shows_each_new_secret_once(ops_client):
    endpoint = WebhookEndpointFactory()
    old = endpoint.secret
    response = ops_client.post(
        reverse("admin:checkout_webhookendpoint_changelist"),
        {"action": "roll_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    page = response.content.decode()
    assert endpoint.secret in page and "will not be shown again" in page
    change_url = reverse("admin:checkout_webhookendpoint_change", args=[endpoint.pk])
    change = ops_client.get(change_url).content.decode()
    assert endpoint.secret not in change and old not in change
