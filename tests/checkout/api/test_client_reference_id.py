"""``client_reference_id``: the merchant's own reference for a checkout, given on create or
PATCH, stored, shown back as it is (API and events), at most 500 characters.

Added as issue #22's proof of the session's one shape of terms (``SessionTerms``): the field,
the model column and its migration, and the API's shape, nothing else."""

import json

import pytest

from checkout.enums import EventType
from checkout.models import CheckoutSession, Event
from checkout.services.lifecycle import checkout_session_cancel

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db


def _patch(merchant, session_id, body):
    return merchant.client.patch(f"{URL}/{session_id}", data=json.dumps(body), content_type="application/json")


def test_create_stores_and_shows_it(merchant):
    response = merchant.post(plan_body(merchant, client_reference_id="cart-1042"))

    assert response.status_code == 201, response.content
    assert response.json()["client_reference_id"] == "cart-1042"
    session = CheckoutSession.objects.get(pk=response.json()["id"])
    assert session.client_reference_id == "cart-1042"
    assert merchant.get(f"{URL}/{session.pk}").json()["client_reference_id"] == "cart-1042"


def test_without_it_it_is_null(merchant):
    response = merchant.post(plan_body(merchant))

    assert response.status_code == 201
    assert response.json()["client_reference_id"] is None
    assert CheckoutSession.objects.get(pk=response.json()["id"]).client_reference_id == ""


def test_500_characters_are_taken_501_are_refused_and_nothing_is_stored(merchant):
    assert merchant.post(plan_body(merchant, client_reference_id="x" * 500)).status_code == 201

    response = merchant.post(plan_body(merchant, client_reference_id="x" * 501))

    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (
        422, "invalid_length", ["client_reference_id"])
    assert CheckoutSession.objects.count() == 1


@pytest.mark.parametrize("value", [1042, True, {"id": 1}, ["a"]])
def test_a_value_that_is_not_a_string_is_refused(merchant, value):
    response = merchant.post(plan_body(merchant, client_reference_id=value))

    error = error_of(response)
    assert (response.status_code, error["code"], list(error["fields"])) == (
        422, "invalid_type", ["client_reference_id"])
    assert not CheckoutSession.objects.exists()


def test_patch_changes_it_and_keeps_the_rest_then_null_clears_it(merchant):
    created = merchant.post(plan_body(merchant, client_reference_id="cart-1", metadata={"order": "A-1"})).json()

    changed = _patch(merchant, created["id"], {"client_reference_id": "cart-2"})

    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["client_reference_id"], body["metadata"]) == ("cart-2", {"order": "A-1"})
    assert body["estimates"] == created["estimates"]
    assert CheckoutSession.objects.get(pk=created["id"]).client_reference_id == "cart-2"
    # A PATCH of something else keeps it.
    assert _patch(merchant, created["id"], {"metadata": {"order": "A-2"}}).json()["client_reference_id"] == "cart-2"

    cleared = _patch(merchant, created["id"], {"client_reference_id": None})

    assert cleared.json()["client_reference_id"] is None
    assert CheckoutSession.objects.get(pk=created["id"]).client_reference_id == ""


def test_a_refused_patch_leaves_it_as_it_was(merchant):
    created = merchant.post(plan_body(merchant, client_reference_id="cart-1")).json()

    response = _patch(merchant, created["id"], {"client_reference_id": "y" * 501})

    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_length")
    assert CheckoutSession.objects.get(pk=created["id"]).client_reference_id == "cart-1"


def test_events_carry_it(merchant):
    created = merchant.post(plan_body(merchant, client_reference_id="cart-7")).json()

    checkout_session_cancel(organization_id=merchant.organization.pk, session_id=created["id"])

    event = Event.objects.get(checkout_session_id=created["id"], type=EventType.CANCELLED)
    assert event.payload["object"]["client_reference_id"] == "cart-7"


def test_the_schema_states_it_for_create_patch_and_the_session(client):
    schemas = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]

    for name in ("CheckoutSessionCreateRequest", "PatchedCheckoutSessionUpdateRequest"):
        field = schemas[name]["properties"]["client_reference_id"]
        assert (field["type"], field["maxLength"]) == (["string", "null"], 500), field  # OpenAPI 3.1
    assert "client_reference_id" in schemas["CheckoutSession"]["properties"]
