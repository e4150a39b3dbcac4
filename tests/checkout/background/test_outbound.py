"""Webhooks go to public addresses only (``core.outbound``), unless
``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` (the embedded demo; the rest of the test suite, whose
receivers listen on loopback)."""

import pytest

from checkout.enums import DeliveryStatus
from checkout.models import WebhookAttempt, WebhookEndpoint
from checkout.webhooks import delivery as sending
from core import outbound
from tests.checkout.factories import WebhookDeliveryFactory, WebhookEndpointFactory


@pytest.fixture
def guarded(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.10", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        # IPv6 forms carrying an IPv4 address, judged by the address they carry (issue #28)
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 well-known prefix around the metadata service
        ("64:ff9b::7f00:1", False),  # NAT64 around 127.0.0.1
        ("64:ff9b::10.0.0.1", False),
        ("64:ff9b::8.8.8.8", True),  # NAT64 of a public address stays reachable
        ("64:ff9b:1::a9fe:a9fe", False),  # RFC 8215 local-use NAT64: refused whole
        ("64:ff9b:1:ffff::808:808", False),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::169.254.169.254", False),
        ("::", False),
        ("::ffff:0:7f00:1", False),  # SIIT IPv4-translated
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo carrying 127.0.0.1
        ("not-an-address", False),
    ],
)
def test_address_is_public(address, public):
    assert outbound.address_is_public(address) is public


@pytest.mark.parametrize(
    "host, private",
    [
        ("localhost", True),
        ("api.localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("10.0.0.5", True),
        ("169.254.169.254", True),
        ("merchant.example", False),
        ("8.8.8.8", False),
        ("", False),
    ],
)
def test_host_is_private_literal(host, private):
    assert outbound.host_is_private_literal(host) is private


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hooks", "http://169.254.169.254/latest/meta-data", "https://[::1]/h",
            "http://localhost:9000/hooks", "https://10.0.0.7/hooks",
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "http://[64:ff9b::7f00:1]:8080/h",
            "http://[::127.0.0.1]:8080/h", "http://[64:ff9b:1::a00:1]/h", "http://[::ffff:7f00:1]/h"],
)
def test_api_refuses_private_webhook_urls(guarded, api_client, url):
    response = api_client.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "url_not_public"
    assert "url" in error["fields"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_private_webhook_urls_allowed_when_configured(settings, api_client):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = api_client.post("/api/v1/webhook-endpoints", {"url": "http://localhost:9000/hooks"}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])  # an IP literal, and a name resolved to loopback
def test_delivery_to_a_private_address_is_blocked_not_sent(guarded, receiver, host):
    # Saved before the guard existed (or by a name that resolves privately): caught on connect.
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url=f"http://{host}:{receiver.port}/hooks"))

    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED

    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_status is None
    assert attempt.error.startswith(f"blocked: {host} resolves to a non-public address")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None  # not retried


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["64:ff9b::7f00:1", "::127.0.0.1"])
def test_delivery_to_an_ipv6_form_of_loopback_is_blocked_not_sent(guarded, receiver, host):
    # Saved before the creation check knew these forms: the connection refuses them too.
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url=f"http://[{host}]:{receiver.port}/hooks"))

    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.FAILED

    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.error.startswith(f"blocked: {host} resolves to a non-public address")


@pytest.mark.django_db
def test_guarded_connection_delivers_to_the_address_it_checked(guarded, receiver, monkeypatch):
    """The guarded opener really sends: here loopback counts as public, so the request goes
    through the checked-address connection (no proxies) and is received, signed."""
    checked = []

    def loopback_is_public(address):
        checked.append(address)
        return address == "127.0.0.1"

    monkeypatch.setattr(outbound, "address_is_public", loopback_is_public)
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")  # would be used by a default opener
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url=f"http://127.0.0.1:{receiver.port}/hooks"))

    assert sending.webhook_delivery_attempt(delivery_id=delivery.id) == DeliveryStatus.SUCCEEDED

    assert checked == ["127.0.0.1"]
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["Checkout-Signature"].startswith("t=")
