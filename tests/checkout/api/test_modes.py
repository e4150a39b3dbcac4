"""Test and live mode are separate worlds (issue #11): a key sees and changes only its own
mode's sessions, contracts and webhook endpoints; events go only to their mode's endpoints."""

import pytest

from billing.models import Contract
from checkout.enums import EventType, SessionStatus
from checkout.models import CheckoutSession, Event, IdempotencyRecord, WebhookDelivery, WebhookEndpoint
from checkout.services.confirm import checkout_session_confirm
from checkout.sessions.expiry import checkout_sessions_expire_due
from checkout.webhooks.delivery import event_body, event_envelope
from checkout.webhooks.outbox import event_dispatch, events_dispatch_pending
from core.models import BusinessEntity
from core.services import api_key_create
from tests.helpers import api_client_with_key

from .conftest import URL, URLS, error_of, plan_body

pytestmark = pytest.mark.django_db
HOOKS = "/api/v1/webhook-endpoints"


@pytest.fixture
def live(merchant):
    return api_client_with_key(api_key_create(organization=merchant.organization, livemode=True)[1])


def _live_session(live, merchant) -> dict:
    response = live.post(URL, plan_body(merchant), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["livemode"] is True
    return response.json()


def test_test_key_cannot_read_list_or_cancel_a_live_session(merchant, live):
    session = _live_session(live, merchant)

    assert merchant.client.get(f"{URL}/{session['id']}").status_code == 404
    assert error_of(merchant.client.get(f"{URL}/{session['id']}"))["code"] == "checkout_session_not_found"
    assert merchant.client.get(URL).json()["data"] == []
    cancel = merchant.client.post(f"{URL}/{session['id']}/cancel", {"reason": "abandoned"}, format="json")
    assert cancel.status_code == 404
    assert CheckoutSession.objects.get(pk=session["id"]).status == SessionStatus.OPEN
    # Its own key still can.
    assert live.get(f"{URL}/{session['id']}").json()["livemode"] is True
    assert [s["id"] for s in live.get(URL).json()["data"]] == [session["id"]]


def test_live_key_cannot_read_list_or_cancel_a_test_session(merchant, live):
    created = merchant.post(plan_body(merchant)).json()
    assert created["livemode"] is False

    assert live.get(f"{URL}/{created['id']}").status_code == 404
    assert live.get(URL).json()["data"] == []
    assert live.post(f"{URL}/{created['id']}/cancel", {"reason": "abandoned"}, format="json").status_code == 404
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.OPEN


def test_a_due_session_of_the_other_mode_is_not_expired_by_a_read(merchant, live):
    session = _live_session(live, merchant)
    CheckoutSession.objects.filter(pk=session["id"]).update(expires_at="2026-01-01T00:00:00Z")
    assert merchant.client.post(f"{URL}/{session['id']}/cancel", {"reason": "abandoned"},
                                format="json").status_code == 404
    assert CheckoutSession.objects.get(pk=session["id"]).status == SessionStatus.OPEN
    assert not Event.objects.exists()


def test_a_live_key_cannot_amend_a_test_contract(merchant, live):
    response = live.post(URL, {"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                               **URLS}, format="json")
    assert response.status_code == 404
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("contract_not_found", ["contract_id"])


def test_a_contract_made_by_a_live_session_is_live_and_out_of_a_test_key_reach(merchant, live):
    BusinessEntity.objects.filter(pk=merchant.entity.pk).update(allow_invoice_payment=True)
    session = _live_session(live, merchant)
    checkout_session_confirm(session_id=session["id"], payment_method="invoice")
    contract = Contract.objects.get(checkout_sessions__id=session["id"])
    assert contract.livemode is True

    response = merchant.post({"contract_id": str(contract.id), "plan_id": str(merchant.plan_pro.id), **URLS})
    assert response.status_code == 404
    assert error_of(response)["code"] == "contract_not_found"


# --- webhook endpoints -------------------------------------------------------------------------


def _endpoint(client, url="https://merchant.example/hooks") -> dict:
    response = client.post(HOOKS, {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_webhook_endpoints_belong_to_the_mode_of_the_key_that_made_them(merchant, live):
    live_endpoint = _endpoint(live)
    test_endpoint = _endpoint(merchant.client)
    assert (live_endpoint["livemode"], test_endpoint["livemode"]) == (True, False)

    for client, other in ((merchant.client, live_endpoint), (live, test_endpoint)):
        path = f"{HOOKS}/{other['id']}"
        assert client.get(path).status_code == 404
        assert error_of(client.get(path))["code"] == "webhook_endpoint_not_found"
        assert client.post(path, {"description": "x"}, format="json").status_code == 404
        assert client.post(f"{path}/roll-secret", {}, format="json").status_code == 404
        assert client.delete(path).status_code == 404
    assert [e["id"] for e in merchant.client.get(HOOKS).json()["data"]] == [test_endpoint["id"]]
    assert [e["id"] for e in live.get(HOOKS).json()["data"]] == [live_endpoint["id"]]
    assert WebhookEndpoint.objects.count() == 2
    assert WebhookEndpoint.objects.get(pk=live_endpoint["id"]).description == ""


def test_events_go_only_to_endpoints_of_their_mode_and_say_livemode(merchant, live):
    live_endpoint, test_endpoint = _endpoint(live), _endpoint(merchant.client)
    session = _live_session(live, merchant)
    live.post(f"{URL}/{session['id']}/cancel", {"reason": "abandoned"}, format="json")
    event = Event.objects.get(checkout_session_id=session["id"], type=EventType.CANCELLED)

    event_dispatch(event_id=event.pk)

    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [
        WebhookEndpoint.objects.get(pk=live_endpoint["id"]).pk]
    assert not WebhookDelivery.objects.filter(endpoint_id=test_endpoint["id"]).exists()
    envelope = event_envelope(event)
    assert envelope["livemode"] is True and envelope["data"]["object"]["livemode"] is True
    assert b'"livemode":true' in event_body(event)


def test_swept_expiry_events_carry_the_session_mode(merchant, live):
    live_session = _live_session(live, merchant)
    test_session = merchant.post(plan_body(merchant)).json()
    CheckoutSession.objects.update(expires_at="2026-01-01T00:00:00Z")

    checkout_sessions_expire_due()
    events_dispatch_pending(min_age_seconds=0)

    modes = {str(e.checkout_session_id): (e.livemode, e.payload["object"]["livemode"])
             for e in Event.objects.filter(type=EventType.EXPIRED)}
    assert modes == {live_session["id"]: (True, True), test_session["id"]: (False, False)}


@pytest.mark.parametrize("method, path", [("post", HOOKS), ("post", "{HOOKS}/{id}")])
def test_webhook_enabled_events_empty_list_refused_422(merchant, method, path):
    endpoint = _endpoint(merchant.client)
    response = merchant.client.post(path.format(HOOKS=HOOKS, id=endpoint["id"]),
                                    {"url": "https://merchant.example/h2", "enabled_events": []}, format="json")
    assert response.status_code == 422
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == (
        "invalid_event_type", ["enabled_events"])
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).enabled_events == []
    assert WebhookEndpoint.objects.count() == 1


def test_test_and_live_keys_have_separate_idempotency_keys(merchant, live):
    """A key string used with a test key means nothing to a live key (and back): each mode creates
    its own session and replays only its own."""
    body = plan_body(merchant)
    test = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-1")
    live_created = live.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert (test.status_code, live_created.status_code) == (201, 201)
    assert (test.json()["livemode"], live_created.json()["livemode"]) == (False, True)

    test_again = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-1")
    live_again = live.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert test_again["Idempotent-Replayed"] == live_again["Idempotent-Replayed"] == "true"
    assert (test_again.json()["id"], live_again.json()["id"]) == (test.json()["id"], live_created.json()["id"])
    assert CheckoutSession.objects.count() == 2
    assert sorted(IdempotencyRecord.objects.filter(key="order-1").values_list("livemode", flat=True)) == [False, True]
