"""``Idempotency-Key`` on every POST, not only create (#28): confirm, cancel, expire and the
webhook-endpoint writes replay their first answer, refuse a key reused for another request and
store nothing for a refusal."""

import json
import time

import pytest

from billing.models import Contract, Invoice, Payment
from checkout.models import CheckoutSession, IdempotencyRecord, WebhookEndpoint
from checkout.webhooks import endpoints as endpoint_service
from tests.helpers import api_client_with_key, run_together

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhook-endpoints"


def _post(merchant, path, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return merchant.client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _session(merchant):
    return merchant.post(plan_body(merchant)).json()["id"]


def test_confirm_retried_with_its_key_replays_the_first_outcome_not_409(merchant):
    session_id = _session(merchant)
    body = {"mode": "charge_now", "payment_method_id": "pm_test_succeeds"}

    first = _post(merchant, f"{URL}/{session_id}/confirm", body, key="confirm-1")
    again = _post(merchant, f"{URL}/{session_id}/confirm", body, key="confirm-1")

    assert first.status_code == 200, first.content
    assert first.json()["status"] == "completed"
    assert (again.status_code, again.content) == (200, first.content)
    assert again["Idempotent-Replayed"] == "true" and again["Idempotency-Key"] == "confirm-1"
    assert "Idempotent-Replayed" not in first
    assert Contract.objects.filter(customer=merchant.customer).count() == 2  # the fixture's + this one
    assert Invoice.objects.filter(checkout_session_id=session_id).count() == 1
    # Without the key a second confirm is refused as before.
    unkeyed = _post(merchant, f"{URL}/{session_id}/confirm", body)
    assert (unkeyed.status_code, error_of(unkeyed)["code"]) == (409, "checkout_session_not_open")


def test_confirm_declined_is_stored_and_replayed_without_charging_again(merchant):
    session_id = _session(merchant)
    body = {"mode": "charge_now", "payment_method_id": "pm_test_declined"}

    first = _post(merchant, f"{URL}/{session_id}/confirm", body, key="decline-1")
    again = _post(merchant, f"{URL}/{session_id}/confirm", body, key="decline-1")

    assert (first.status_code, error_of(first)["code"]) == (402, "payment_failed")
    assert (again.status_code, again.content, again["Idempotent-Replayed"]) == (402, first.content, "true")
    assert Payment.objects.filter(checkout_session_id=session_id).count() == 1


def test_confirm_key_with_another_body_is_422_idempotency_key_reused(merchant):
    session_id = _session(merchant)
    _post(merchant, f"{URL}/{session_id}/confirm", {"mode": "charge_now", "payment_method_id": "pm_test_declined"},
          key="k")
    other = _post(merchant, f"{URL}/{session_id}/confirm",
                  {"mode": "charge_now", "payment_method_id": "pm_test_succeeds"}, key="k")
    assert (other.status_code, error_of(other)["code"]) == (422, "idempotency_key_reused")
    assert "idempotency_key" in error_of(other)["fields"]
    assert CheckoutSession.objects.get(pk=session_id).status == "open"


def test_a_key_used_on_one_operation_or_object_is_reused_on_another(merchant):
    first, second = _session(merchant), _session(merchant)
    assert _post(merchant, f"{URL}/{first}/expire", {}, key="shared").status_code == 200

    on_other_session = _post(merchant, f"{URL}/{second}/expire", {}, key="shared")
    on_other_operation = _post(merchant, f"{URL}/{first}/cancel", {"reason": "abandoned"}, key="shared")
    on_create = merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="shared")

    for response in (on_other_session, on_other_operation, on_create):
        assert (response.status_code, error_of(response)["code"]) == (422, "idempotency_key_reused")
    assert CheckoutSession.objects.get(pk=second).status == "open"


def test_cancel_and_expire_replay_their_first_answer(merchant):
    cancelled, expired = _session(merchant), _session(merchant)
    for path, body in ((f"{URL}/{cancelled}/cancel", {"reason": "abandoned"}), (f"{URL}/{expired}/expire", {})):
        first = _post(merchant, path, body, key=f"k-{path}")
        again = _post(merchant, path, body, key=f"k-{path}")
        assert first.status_code == 200, first.content
        assert (again.status_code, again.content, again["Idempotent-Replayed"]) == (200, first.content, "true")
    assert CheckoutSession.objects.get(pk=cancelled).status == "cancelled"
    assert CheckoutSession.objects.get(pk=expired).status == "expired"


def test_a_refusal_is_not_stored_and_the_fixed_request_may_reuse_the_key(merchant):
    session_id = _session(merchant)
    refused = _post(merchant, f"{URL}/{session_id}/cancel", {"reason": "no such reason"}, key="fix-me")
    assert refused.status_code == 422
    assert not IdempotencyRecord.objects.filter(key="fix-me").exists()
    # Another body under the same key is fine now: nothing was stored for the refusal.
    fixed = _post(merchant, f"{URL}/{session_id}/cancel", {"reason": "abandoned"}, key="fix-me")
    assert fixed.status_code == 200, fixed.content


def test_another_organizations_key_is_independent(merchant, rival):
    mine, theirs = _session(merchant), _session(rival)
    assert _post(merchant, f"{URL}/{mine}/expire", {}, key="same").status_code == 200
    response = _post(rival, f"{URL}/{theirs}/expire", {}, key="same")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert response.json()["id"] == theirs


def test_invalid_key_on_a_write_is_422(merchant):
    session_id = _session(merchant)
    response = _post(merchant, f"{URL}/{session_id}/expire", {}, key="has space")
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_idempotency_key")
    assert CheckoutSession.objects.get(pk=session_id).status == "open"


def test_webhook_endpoint_create_with_one_key_makes_one_endpoint(merchant):
    body = {"url": "https://merchant.example/hooks"}
    first = _post(merchant, HOOKS, body, key="hook-1")
    again = _post(merchant, HOOKS, body, key="hook-1")

    assert first.status_code == 201, first.content
    assert (again.status_code, again.content, again["Idempotent-Replayed"]) == (201, first.content, "true")
    assert WebhookEndpoint.objects.filter(organization=merchant.organization).count() == 1
    assert again.json()["secret"] == WebhookEndpoint.objects.get().secret


def test_webhook_endpoint_update_and_roll_replay(merchant):
    endpoint_id = _post(merchant, HOOKS, {"url": "https://merchant.example/hooks"}).json()["id"]

    update = {"description": "Orders"}
    first = _post(merchant, f"{HOOKS}/{endpoint_id}", update, key="upd")
    assert _post(merchant, f"{HOOKS}/{endpoint_id}", update, key="upd").content == first.content

    roll = _post(merchant, f"{HOOKS}/{endpoint_id}/roll-secret", {}, key="roll")
    again = _post(merchant, f"{HOOKS}/{endpoint_id}/roll-secret", {}, key="roll")
    assert roll.status_code == 200, roll.content
    assert (again.content, again["Idempotent-Replayed"]) == (roll.content, "true")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    # Rolled once: the secret before the roll is the previous one, the roll's answer the current one.
    assert endpoint.secret == roll.json()["secret"] and endpoint.previous_secret
    assert endpoint.previous_secret != endpoint.secret


@pytest.mark.django_db(transaction=True)
def test_concurrent_webhook_creates_with_one_key_make_one_endpoint(merchant, monkeypatch):
    body = json.dumps({"url": "https://merchant.example/hooks"})
    create = endpoint_service.webhook_endpoint_create

    def create_slowly(**kwargs):  # widens the window in which the others arrive
        time.sleep(0.3)
        return create(**kwargs)

    monkeypatch.setattr(endpoint_service, "webhook_endpoint_create", create_slowly)

    def worker():
        response = api_client_with_key(merchant.key).post(HOOKS, data=body, content_type="application/json",
                                                         HTTP_IDEMPOTENCY_KEY="race")
        return response.status_code, response.content

    answers, errors = run_together(*[worker] * 6)

    assert not errors
    statuses = [status for status, _ in answers]
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}, statuses
    assert all(json.loads(content)["error"]["code"] == "idempotency_key_in_use"
               for status, content in answers if status == 409)
    assert WebhookEndpoint.objects.filter(organization=merchant.organization).count() == 1
    replay = api_client_with_key(merchant.key).post(HOOKS, data=body, content_type="application/json",
                                                    HTTP_IDEMPOTENCY_KEY="race")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")


def test_schema_offers_the_key_on_every_checkout_and_webhook_post_but_preview(client):
    openapi = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    posts = {operation["operationId"]: operation for path, item in openapi["paths"].items()
             for method, operation in item.items()
             if method == "post" and path.startswith(("/api/v1/checkout-sessions", "/api/v1/webhook-endpoints"))}
    assert {"checkout_sessions_confirm", "checkout_sessions_cancel", "checkout_sessions_expire",
            "webhook_endpoints_create", "webhook_endpoints_update", "webhook_endpoints_roll_secret"} <= set(posts)
    for operation_id, operation in posts.items():
        names = [p["name"] for p in operation.get("parameters", [])]
        if operation_id == "checkout_sessions_preview":
            assert "Idempotency-Key" not in names
            continue
        assert "Idempotency-Key" in names, operation_id
        assert "idempotency_key_in_use" in operation["responses"]["409"]["description"], operation_id
        assert "idempotency_key_reused" in operation["responses"]["422"]["description"], operation_id
        ok = next(status for status in operation["responses"] if status.startswith("2"))
        assert "Idempotent-Replayed" in operation["responses"][ok]["headers"], operation_id
