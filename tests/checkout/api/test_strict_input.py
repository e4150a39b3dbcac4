"""What a fuzzing run got accepted leniently (#23): the schema says integer, boolean or a key
pattern, and the server now refuses anything else as the schema says, storing nothing."""

import pytest

from checkout.models import CheckoutSession, WebhookEndpoint
from tests.checkout.api.conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhook-endpoints"


def _override(merchant, quantity) -> dict:
    return plan_body(merchant, product_overrides=[{"product_id": str(merchant.seats.id), "quantity": quantity}])


@pytest.mark.parametrize("quantity", ["5", "５", True, 5.5, "0x5"])
def test_create_refuses_a_quantity_that_is_not_a_json_integer(merchant, quantity):
    response = merchant.post(_override(merchant, quantity))

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid_type"
    assert list(error["fields"]) == ["product_overrides.0.quantity"]
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize("quantity, expected", [(5, 5), (5.0, 5)])
def test_create_takes_a_json_integer_quantity(merchant, quantity, expected):
    response = merchant.post(_override(merchant, quantity))

    assert response.status_code == 201, response.content
    [override] = response.json()["product_overrides"]
    assert override["quantity"] == expected


@pytest.mark.parametrize("value", ["false", "true", 0, 1, "on"])
def test_create_refuses_a_boolean_field_sent_as_anything_but_true_or_false(merchant, value):
    response = merchant.post({**plan_body(merchant), "guest_checkout": value})

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid_type", ["guest_checkout"])
    assert not CheckoutSession.objects.exists()


def _endpoint(merchant) -> dict:
    response = merchant.post({"url": "https://merchant.example/hooks"}, path=HOOKS)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("value", ["false", 0, "0"])
def test_webhook_endpoint_update_refuses_is_active_as_a_string_or_number(merchant, value):
    endpoint = _endpoint(merchant)

    response = merchant.post({"is_active": value}, path=f"{HOOKS}/{endpoint['id']}")

    assert response.status_code == 422, response.content
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("invalid_type", ["is_active"])
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).is_active is True  # not paused by "false"


def test_webhook_endpoint_update_takes_a_json_false(merchant):
    endpoint = _endpoint(merchant)

    response = merchant.post({"is_active": False}, path=f"{HOOKS}/{endpoint['id']}")

    assert response.status_code == 200, response.content
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).is_active is False


@pytest.mark.parametrize("hours", ["24", "２４", True])
def test_roll_secret_refuses_hours_that_are_not_a_json_integer(merchant, hours):
    endpoint = _endpoint(merchant)
    secret = WebhookEndpoint.objects.get(pk=endpoint["id"]).secret

    response = merchant.post({"previous_secret_valid_hours": hours}, path=f"{HOOKS}/{endpoint['id']}/roll-secret")

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid_type", ["previous_secret_valid_hours"])
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).secret == secret  # not rolled


@pytest.mark.parametrize("limit", ["１", "２０", " 5", "5_0", "+5", "5.0", "1e1"])
def test_list_refuses_a_limit_that_is_not_ascii_digits(merchant, limit):
    response = merchant.get(limit=limit)

    assert response.status_code == 422, response.content
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("invalid_type", ["limit"])


def test_list_takes_an_ascii_limit(merchant):
    for _ in range(3):
        assert merchant.post(plan_body(merchant)).status_code == 201

    response = merchant.get(limit="2")

    assert response.status_code == 200, response.content
    assert len(response.json()["data"]) == 2 and response.json()["has_more"] is True


@pytest.mark.parametrize("key", ["has space", "", "x" * 256, "ключ", 42])
def test_preview_refuses_an_idempotency_key_that_create_refuses(merchant, key):
    body = {**plan_body(merchant), "idempotency_key": key}

    preview = merchant.post(body, path=f"{URL}/preview")
    create = merchant.post(body)

    for response in (preview, create):
        assert response.status_code == 422, response.content
        error = error_of(response)
        assert (error["code"], list(error["fields"])) == ("invalid_idempotency_key", ["idempotency_key"])
    assert not CheckoutSession.objects.exists()


def test_preview_takes_an_idempotency_key_that_create_takes(merchant):
    response = merchant.post({**plan_body(merchant), "idempotency_key": "order-1042"}, path=f"{URL}/preview")

    assert response.status_code == 200, response.content
    assert response.json()["estimates"]["current_invoice"]["total"]
