"""The most used Python generator builds a working, typed client from the published schema (#28).

At test time, ``openapi-python-client`` (a dev dependency) generates a client from
``/api/schema/``; the test then drives every operation through it against a live server: create
(all six checkout types), preview, PATCH, confirm, expire, cancel, list pages both ways,
expand, events and webhook endpoints. Every answer must parse into the generated models, so a
schema that generators misread (an enum whose values collide, a recursive union) fails here.
"""

import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import CHANGE, START, URLS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "checkout_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, imported (generation takes seconds: once per module)."""
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    root = tmp_path_factory.mktemp("generated")
    (root / "openapi.json").write_bytes(schema.content)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", "openapi.json",
         "--meta", "none", "--output-path", PACKAGE],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation generated, every schema parsed: the generator's warnings list what it dropped.
    assert "will not be generated" not in result.stdout and "Unable to" not in result.stdout, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _api(name: str):
    module, _, operation = name.rpartition(".")
    return importlib.import_module(f"{PACKAGE}.api.{module}.{operation}")


def _model(name: str):
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return getattr(importlib.import_module(f"{PACKAGE}.models.{snake}"), name)


def _bodies(m) -> dict[str, dict]:
    """One create body per checkout type the API detects (the schema's examples, with real ids)."""
    plan_contract = {"is_plan_based": True, "plan_id": str(m.plan.id), "currency": "usd",
                     "start_date": START.isoformat(), "end_date": None}
    product_contract = {
        "is_plan_based": False, "currency": "USD", "start_date": START.isoformat(), "end_date": None,
        "phases": [{"name": "Main", "start_date": START.isoformat(), "end_date": None, "pricings": [
            {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id), "quantity": 2},
            {"product_id": str(m.storage.id), "quantity": 12, "pricing": {
                "pricing_model": "tiered", "billing": "recurring", "cadence": "P1M", "timing": "in_advance",
                "tiers": [{"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
                          {"up_to": None, "unit_amount": "4.00"}]}}]}],
    }
    return {
        "plan_contract": {"contract": plan_contract, "customer_id": str(m.customer.id), **URLS,
                          "metadata": {"order": "A-1", "tags": ["x", 1, None, {"deep": True}]}},
        "product_contract": {"contract": product_contract, "customer_id": str(m.customer.id), **URLS},
        "top_level_plan": {"plan_id": str(m.plan.id), "customer_id": str(m.customer.id), **URLS},
        "guest": {"plan_id": str(m.plan.id), "guest_checkout": True, "business_entity_id": str(m.entity.id),
                  "customer": {"customer_name": "Ada Lovelace", "address": {"line1": "1 Main St", "country": "gb"}},
                  "customer_email": "ada@example.com", **URLS},
        "plan_switch": {"contract_id": str(m.contract.id), "plan_id": str(m.plan_pro.id),
                        "start_date": CHANGE.isoformat(), **URLS},
        "quantity_update": {"contract_id": str(m.contract.id), "start_date": CHANGE.isoformat(),
                            "product_overrides": [{"product_id": str(m.seats.id), "quantity": 5}], **URLS},
    }


def test_a_generated_client_drives_the_whole_api_typed(generated, live_server, merchant):
    client = generated.AuthenticatedClient(base_url=live_server.url, token=merchant.key,
                                           raise_on_unexpected_status=True)
    CheckoutSession = _model("CheckoutSession")
    CheckoutSessionCreateRequest = _model("CheckoutSessionCreateRequest")
    create = _api("checkout_sessions.checkout_sessions_create")

    # create, all six checkout types, typed in and out
    made = {}
    for name, body in _bodies(merchant).items():
        response = create.sync_detailed(client=client, body=CheckoutSessionCreateRequest.from_dict(body),
                                        idempotency_key=f"gen-{name}")
        assert response.status_code == 201, (name, response.content)
        assert isinstance(response.parsed, CheckoutSession), name
        made[name] = response.parsed
    assert {name: session.checkout_type.value for name, session in made.items()} == {
        "plan_contract": "new_contract", "product_contract": "new_contract", "top_level_plan": "new_contract",
        "guest": "new_contract", "plan_switch": "plan_switch", "quantity_update": "quantity_update"}
    assert made["plan_contract"].currency == "USD"
    assert made["guest"].customer.email == "ada@example.com"
    assert made["plan_contract"].amount_total == made["plan_contract"].estimates.current_invoice.total
    # the replay parses too
    replay = create.sync_detailed(client=client, body=CheckoutSessionCreateRequest.from_dict(
        _bodies(merchant)["plan_contract"]), idempotency_key="gen-plan_contract")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.parsed.id == made["plan_contract"].id

    # preview
    preview = _api("checkout_sessions.checkout_sessions_preview").sync(
        client=client, body=CheckoutSessionCreateRequest.from_dict(_bodies(merchant)["top_level_plan"]))
    assert isinstance(preview, _model("CheckoutSessionPreview"))
    assert preview.estimates.current_invoice.total == made["top_level_plan"].estimates.current_invoice.total

    # PATCH
    patched = _api("checkout_sessions.checkout_sessions_update").sync(
        made["quantity_update"].id, client=client,
        body=_model("PatchedCheckoutSessionUpdateRequest").from_dict(
            {"product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 8}],
             "client_reference_id": "cart-9"}))
    assert isinstance(patched, CheckoutSession) and patched.client_reference_id == "cart-9"
    assert patched.product_overrides[0].quantity == 8

    # confirm, expire, cancel
    ModeEnum = _model("CheckoutSessionConfirmModeEnum")  # create has its own mode (payment|setup)
    confirmed = _api("checkout_sessions.checkout_sessions_confirm").sync(
        made["plan_contract"].id, client=client, idempotency_key="gen-confirm",
        body=_model("CheckoutSessionConfirmRequest")(mode=ModeEnum.CHARGE_NOW, payment_method_id="pm_test_succeeds"))
    assert isinstance(confirmed, CheckoutSession) and confirmed.status.value == "completed"
    expired = _api("checkout_sessions.checkout_sessions_expire").sync(made["top_level_plan"].id, client=client)
    assert expired.status.value == "expired"
    cancelled = _api("checkout_sessions.checkout_sessions_cancel").sync(
        made["plan_switch"].id, client=client,
        body=_model("CheckoutSessionCancelRequest")(reason=_model("CancellationReasonEnum").DUPLICATE))
    assert cancelled.status.value == "cancelled"

    # retrieve with expand
    ExpandItem = _model("CheckoutSessionsRetrieveExpandItem")
    shown = _api("checkout_sessions.checkout_sessions_retrieve").sync(
        made["plan_contract"].id, client=client, expand=[ExpandItem.CUSTOMER, ExpandItem.INVOICE])
    assert shown.expanded.customer.id == merchant.customer.id
    assert shown.expanded.invoice.total == confirmed.amount_total

    # list pages, both ways
    list_ = _api("checkout_sessions.checkout_sessions_list")
    first = list_.sync(client=client, limit=4)
    assert isinstance(first, _model("CheckoutSessionList")) and first.has_more and len(first.data) == 4
    rest = list_.sync(client=client, limit=4, starting_after=first.data[-1].id)
    by_cursor = list_.sync(client=client, limit=4, cursor=first.next_cursor)
    assert [s.id for s in rest.data] == [s.id for s in by_cursor.data] and len(rest.data) == 2
    back = list_.sync(client=client, limit=4, ending_before=rest.data[0].id)
    assert [s.id for s in back.data] == [s.id for s in first.data]
    assert {s.id for s in first.data + rest.data} == {session.id for session in made.values()}

    # events: what the confirm, expire and cancel wrote, as delivered
    events = _api("events.events_list").sync(client=client)
    assert isinstance(events, _model("EventList"))
    assert {event.type_.value for event in events.data} >= {
        "checkout_session.completed", "checkout_session.expired", "checkout_session.cancelled"}
    one = _api("events.events_retrieve").sync(events.data[0].id, client=client)
    assert isinstance(one, _model("Event")) and one.id == events.data[0].id

    # webhook endpoints: create (idempotent), list, retrieve, update, roll, delete
    hooks = "webhook_endpoints.webhook_endpoints_"
    created = _api(hooks + "create").sync(
        client=client, idempotency_key="gen-hook",
        body=_model("WebhookEndpointCreateRequest").from_dict({"url": "https://merchant.example/hooks"}))
    assert isinstance(created, _model("WebhookEndpointCreated")) and created.secret.startswith("whsec_")
    again = _api(hooks + "create").sync(
        client=client, idempotency_key="gen-hook",
        body=_model("WebhookEndpointCreateRequest").from_dict({"url": "https://merchant.example/hooks"}))
    assert again.id == created.id
    listed = _api(hooks + "list").sync(client=client, limit=1)
    assert [endpoint.id for endpoint in listed.data] == [created.id] and not listed.has_more
    updated = _api(hooks + "update").sync(
        created.id, client=client, body=_model("WebhookEndpointUpdateRequest").from_dict({"description": "Orders"}))
    assert updated.description == "Orders"
    rolled = _api(hooks + "roll_secret").sync(
        created.id, client=client, body=_model("WebhookEndpointRollRequest").from_dict({"previous_secret_valid_hours": 2}))
    assert rolled.secret != created.secret
    retrieved = _api(hooks + "retrieve").sync(created.id, client=client)
    assert retrieved.previous_secret_expires_at == rolled.previous_secret_expires_at
    deleted = _api(hooks + "delete").sync(created.id, client=client)
    assert deleted.deleted is True

    # errors parse into the envelope
    missing = _api("checkout_sessions.checkout_sessions_retrieve").sync(uuid.uuid4(), client=client)
    assert isinstance(missing, _model("ErrorEnvelope")) and missing.error.code == "checkout_session_not_found"


def test_the_generated_models_round_trip_a_session_as_the_api_answers_it(generated, merchant, client):
    """Every field of a real answer survives the generated model (nothing dropped as unknown)."""
    from tests.helpers import api_client_with_key

    body = _bodies(merchant)["guest"]
    answer = api_client_with_key(merchant.key).post("/api/v1/checkout-sessions", data=json.dumps(body),
                                                    content_type="application/json").json()
    model = _model("CheckoutSession").from_dict(answer)
    assert model.additional_properties == {}
    # The same JSON back (datetimes are parsed: "…Z" returns as "…+00:00", the same instant).
    assert _utc_z(model.to_dict()) == _utc_z(answer)


def _utc_z(value):
    if isinstance(value, dict):
        return {key: _utc_z(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_utc_z(item) for item in value]
    if isinstance(value, str) and value.endswith("+00:00") and "T" in value:
        return value[:-6] + "Z"
    return value
