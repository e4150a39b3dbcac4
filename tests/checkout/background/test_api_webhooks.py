"""``/api/v1/webhook-endpoints``: per organization, secret shown once, URLs checked like
redirect URLs."""

import pytest
from rest_framework.test import APIClient

from checkout.enums import EventType
from checkout.models import WebhookEndpoint
from tests.helpers import api_client_for

URL = "/api/v1/webhook-endpoints"


def _create(client, **body):
    body.setdefault("url", "https://merchant.example/hooks")
    return client.post(URL, body, format="json")


@pytest.mark.django_db
def test_create_returns_secret_once(api_client, organization, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = _create(api_client, enabled_events=[EventType.COMPLETED, EventType.EXPIRED],
                           description="Orders")
    assert response.status_code == 201, response.content
    data = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert data["secret"] == endpoint.secret and data["secret"].startswith("whsec_")
    assert data == {
        "id": str(endpoint.id), "object": "webhook_endpoint", "organization_id": str(organization.id),
        "livemode": False,
        "url": "https://merchant.example/hooks", "description": "Orders",
        "enabled_events": [EventType.COMPLETED, EventType.EXPIRED], "is_active": True, "previous_secret_expires_at": None,
        "created_at": data["created_at"], "updated_at": data["updated_at"], "secret": endpoint.secret,
    }
    # Never again.
    assert "secret" not in api_client.get(f"{URL}/{endpoint.id}").json()
    assert all("secret" not in item for item in api_client.get(URL).json()["data"])


@pytest.mark.django_db
def test_create_defaults_to_all_events(api_client):
    data = _create(api_client).json()
    assert data["enabled_events"] == ["*"]
    assert WebhookEndpoint.objects.get().enabled_events == []


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"url": "ftp://merchant.example/h"}, "url_scheme_not_allowed", "url"),
        ({"url": "https://u:p@merchant.example/h"}, "url_userinfo_not_allowed", "url"),
        ({"url": "/relative"}, "invalid_url", "url"),
        ({"url": "https://m.example/" + "a" * 2100}, "url_too_long", "url"),
        ({"enabled_events": ["checkout_session.exploded"]}, "invalid_choice", "enabled_events.0"),
        ({"secret": "whsec_mine"}, "unknown_field", "secret"),
    ],
)
@pytest.mark.django_db
def test_create_invalid_fields_answer_422(api_client, body, code, field):
    response = _create(api_client, **body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"], error
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_create_with_live_key_requires_https(organization):
    client = api_client_for(organization, livemode=True)
    response = _create(client, url="http://merchant.example/hooks")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "url_https_required"
    assert _create(client).status_code == 201


@pytest.mark.django_db
def test_requires_api_key():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_required"


@pytest.mark.django_db
def test_other_organization_sees_nothing(api_client, other_organization):
    endpoint_id = _create(api_client).json()["id"]
    other = api_client_for(other_organization)
    assert other.get(URL).json()["data"] == []
    for response in (other.get(f"{URL}/{endpoint_id}"),
                     other.post(f"{URL}/{endpoint_id}", {"is_active": False}, format="json"),
                     other.delete(f"{URL}/{endpoint_id}")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "webhook_endpoint_not_found"
    assert WebhookEndpoint.objects.get().is_active


@pytest.mark.django_db
def test_update_changes_only_given_fields(api_client):
    created = _create(api_client, description="Orders").json()
    response = api_client.post(f"{URL}/{created['id']}", {"is_active": False,
                                                          "enabled_events": [EventType.CANCELLED]}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["is_active"], data["enabled_events"], data["description"], data["url"]) == (
        False, [EventType.CANCELLED], "Orders", created["url"])
    assert "secret" not in data
    bad = api_client.post(f"{URL}/{created['id']}", {"url": "javascript:alert(1)"}, format="json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "url_scheme_not_allowed"


@pytest.mark.django_db
def test_delete_removes_endpoint(api_client):
    endpoint_id = _create(api_client).json()["id"]
    response = api_client.delete(f"{URL}/{endpoint_id}")
    assert response.status_code == 200
    assert response.json() == {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
    assert api_client.get(f"{URL}/{endpoint_id}").status_code == 404


@pytest.mark.django_db
def test_list_newest_first(api_client):
    first = _create(api_client, url="https://m.example/1").json()["id"]
    second = _create(api_client, url="https://m.example/2").json()["id"]
    body = api_client.get(URL).json()
    assert [item["id"] for item in body["data"]] == [second, first]
    assert (body["object"], body["has_more"]) == ("list", False)


@pytest.mark.django_db
def test_unknown_method_answers_405(api_client):
    response = api_client.put(URL, {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize("events, message", [
    (["*", "checkout_session.completed"], '"*" stands for every event type: send it alone'),
    (["checkout_session.completed", "checkout_session.completed"], "Each event type may be listed once."),
])
def test_enabled_events_star_with_others_or_twice_is_refused_and_says_why(api_client, events, message):
    response = _create(api_client, enabled_events=events)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_event_type" and error["message"].startswith(message)
    assert "Unknown" not in error["message"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_schema_states_enabled_events_shape(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for name in ("WebhookEndpointCreateRequest", "WebhookEndpointUpdateRequest"):
        events = schema["components"]["schemas"][name]["properties"]["enabled_events"]
        assert (events["minItems"], events["uniqueItems"]) == (1, True), name
    discounts = schema["components"]["schemas"]["CheckoutSessionCreateRequest"]["properties"]["discounts"]
    assert discounts["maxItems"] == 1
