"""The OpenAPI schema and docs, generated from the code; and a schemathesis run over every
checkout-session operation against the real app with zero server errors."""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

import checkout.errors
import core.errors
from billing.errors import BillingErrorCode
from checkout.api.schema import ALL_ERROR_CODES, KNOWN_ERROR_CODES, SHAPE_ERRORS, UNDOCUMENTED
from checkout.api.serializers import DRF_CODES
from checkout.errors import CheckoutErrorCode
from core.errors import CoreErrorCode, DomainError
from tests.checkout.api.conftest import plan_body

OPERATIONS = {
    ("/api/v1/checkout-sessions", "post"): "checkout_sessions_create",
    ("/api/v1/checkout-sessions", "get"): "checkout_sessions_list",
    ("/api/v1/checkout-sessions/{session_id}", "get"): "checkout_sessions_retrieve",
    ("/api/v1/checkout-sessions/{session_id}/cancel", "post"): "checkout_sessions_cancel",
    ("/api/v1/checkout-sessions/{session_id}/expire", "post"): "checkout_sessions_expire",
    ("/api/v1/checkout-sessions/preview", "post"): "checkout_sessions_preview",
    ("/api/v1/checkout-sessions/{session_id}/confirm", "post"): "checkout_sessions_confirm",
    ("/api/v1/checkout-sessions/{session_id}", "patch"): "checkout_sessions_update",
}


@pytest.fixture
def openapi(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_with_every_operation(openapi):
    assert openapi["openapi"].startswith("3.")
    found = {
        (path, method): op["operationId"]
        for path, item in openapi["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert OPERATIONS.items() <= found.items()
    scheme = openapi["components"]["securitySchemes"]["SecretApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method in OPERATIONS:
        assert openapi["paths"][path][method]["security"] == [{"SecretApiKey": []}]


def test_schema_documents_request_examples_for_every_checkout_type(openapi):
    create = openapi["paths"]["/api/v1/checkout-sessions"]["post"]
    examples = create["requestBody"]["content"]["application/json"]["examples"]
    summaries = " ".join(e.get("summary", name) for name, e in examples.items())
    for kind in (
        "plan-based",
        "product-based",
        "top-level plan_id",
        "plan_switch",
        "quantity_update",
        "guest",
    ):
        assert kind in summaries
    created = create["responses"]["201"]["content"]["application/json"]["examples"]
    estimate = next(iter(created.values()))["value"]["estimates"]["current_invoice"]
    assert estimate["total"] and isinstance(estimate["total"], str)


def test_schema_documents_every_error_code_the_api_can_produce(openapi):
    enums = set(CoreErrorCode) | set(CheckoutErrorCode) | set(BillingErrorCode)
    # Every error class's code is a member of its app's enum (billing's enum is not complete yet:
    # its coupon and payment errors name theirs on the class).
    for module, enum in ((core.errors, CoreErrorCode), (checkout.errors, CheckoutErrorCode)):
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, DomainError) and cls.__module__ == module.__name__:
                assert cls.code in set(enum) | set(CoreErrorCode), cls
    assert set(DRF_CODES.values()) <= set(CoreErrorCode)
    # The catalogue is the enums' codes but the few the merchant API never answers (each with its
    # reason), and the schema documents every one of them.
    assert enums - set(UNDOCUMENTED) <= set(ALL_ERROR_CODES) <= KNOWN_ERROR_CODES
    assert not set(UNDOCUMENTED) & set(ALL_ERROR_CODES)
    text = str(openapi)
    assert not [code for code in ALL_ERROR_CODES if f"`{code}`" not in text]
    for path, method in OPERATIONS:
        responses = openapi["paths"][path][method]["responses"]
        for status in ("401", "404", "405", "406", "500"):
            assert status in responses, (path, method, status)
    create_responses = openapi["paths"]["/api/v1/checkout-sessions"]["post"]["responses"]
    assert {"400", "409", "415", "422", "429"} <= set(create_responses)


def test_docs_page_is_served(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# --- schemathesis ------------------------------------------------------------------------


@pytest.fixture
def _keep_test_connection():
    """Calling the WSGI app directly fires request_started/finished, which close the test's
    database connection (and its transaction); Django's own test client unhooks them too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded once, at collection, from the running app's /api/schema/ (no database needed).
# (schemathesis.pytest.from_fixture would be the lazy way, but it breaks on pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    path_regex=r"^/api/v1/checkout-sessions"
)


@pytest.fixture
def known_sessions(merchant):
    """Real ids for half the path parameters, so retrieve and cancel reach existing rows."""
    ids = [merchant.post(plan_body(merchant)).json()["id"] for _ in range(2)]
    return itertools.cycle(ids + [None])


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.django_db
def test_schemathesis_no_server_errors_and_responses_match_the_schema(
    case, merchant, known_sessions, _keep_test_connection
):
    meta = case.meta
    negative = {
        loc
        for loc in (ParameterLocation.HEADER, ParameterLocation.PATH)
        if meta and meta.is_negative_at(loc)
    }
    if ParameterLocation.PATH not in negative and "session_id" in (case.path_parameters or {}):
        known = next(known_sessions)
        if known:
            case.path_parameters["session_id"] = known
    if ParameterLocation.HEADER not in negative:
        # Negative header cases keep what was generated (a missing or broken key must be 401).
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {merchant.key}"}
    case.call_and_validate(
        # Valid-by-schema bodies still break cross-object rules (random ids are 404): that is
        # not a schema defect, so the "positive data is accepted" check does not apply.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


whole_schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# Refusals for rules the schema itself states (types, lengths, ranges, enums, patterns, unknown
# fields). A request generated as valid by the published schema must never get one of these:
# that would be a rule the server enforces and the schema hides. Other refusals of valid-looking
# input are about the data, not its shape (an id that is not yours: 404; a plan in another
# currency: 422 currency_mismatch), and no schema can state them.
NESTED_JSON_CODES = {"invalid_characters", "value_out_of_range", "invalid_type"}
DRF_REQUIRED_MESSAGES = {"This field is required.", "This field may not be null."}
SCHEMA_STATED_CODES = (set(SHAPE_ERRORS) - {"field_required"}) | {
    "malformed_request", "unsupported_media_type", "invalid_url", "url_too_long", "url_scheme_not_allowed",
    "url_userinfo_not_allowed", "invalid_currency", "invalid_country", "invalid_phone_number", "invalid_trace_id",
    "invalid_idempotency_key", "invalid_email",
}


@whole_schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.django_db
def test_schemathesis_schema_as_published_every_check_passes(case, merchant, _keep_test_connection):
    """Every operation the published schema lists, every schemathesis check (no server error,
    statuses, headers, bodies and content types as documented, invalid input refused), and valid
    input never refused for a rule the schema states."""
    if not (case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {merchant.key}"}
    response = case.call()
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if case.meta and not case.meta.generation.mode.is_negative and 400 <= response.status_code < 500:
        error = response.json()["error"]
        # field_required is also the code of conditional requirements ("plan_id or
        # product_overrides"), which the schema does not state; DRF's own message marks a field
        # the schema lists as required.
        stated = error["code"] in SCHEMA_STATED_CODES or (
            error["code"] == "field_required" and error["message"] in DRF_REQUIRED_MESSAGES)
        # The one listed exception (README): what nests inside a metadata (custom_data) array or
        # object is described, not stated (generators build no self-referring type); the top level
        # is stated, so such a refusal of schema-valid data is about the nested contents.
        nested_json = error["code"] in NESTED_JSON_CODES and all(
            path.rsplit(".", 1)[-1] in ("metadata", "custom_data") for path in error["fields"])
        assert not stated or nested_json, (response.text, case.as_curl_command())


# --- what the published schema states ---------------------------------------------------------


def test_request_bodies_refuse_unknown_fields_in_the_schema_too(openapi):
    required = set()
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            if operation["requestBody"].get("required"):
                required.add(operation["operationId"])
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            component = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert component["additionalProperties"] is False, (path, method)
    # Exactly the operations that refuse a missing body (cancel, expire, update and roll-secret
    # work without one).
    assert required == {"checkout_sessions_create", "checkout_sessions_preview", "checkout_sessions_confirm",
                        "webhook_endpoints_create", "test_clocks_create", "test_clocks_advance"}


def test_idempotency_key_urls_and_codes_carry_their_rules(openapi, client):
    from checkout.urlrules import URL_MAX

    create = openapi["paths"]["/api/v1/checkout-sessions"]["post"]
    [header] = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}
    body = openapi["components"]["schemas"]["CheckoutSessionCreateRequest"]["properties"]
    assert body["idempotency_key"]["pattern"] == header["schema"]["pattern"]
    url = body["success_url"]
    assert (url["maxLength"], url["minLength"]) == (URL_MAX, 1) and url["pattern"].startswith("^[Hh][Tt][Tt][Pp]")
    # One case in the enum (generators name one constant per value), the other as a pattern (#28).
    import re as _re

    upper, lower = body["currency"]["anyOf"][:2]
    assert {"USD", "JPY", "XOF"} <= set(upper["enum"]) and "XAU" not in upper["enum"]
    assert all(code == code.upper() for code in upper["enum"])
    assert _re.fullmatch(lower["pattern"], "usd") and not _re.fullmatch(lower["pattern"], "Usd")
    assert not _re.fullmatch(lower["pattern"], "xau")
    # The published pattern is the server's rule: what it refuses, the API refuses.
    import re

    pattern = re.compile(url["pattern"])
    for candidate, accepted in [("https://shop.example/ok?cs={CHECKOUT_SESSION_ID}", True),
                                ("https://bücher.example/", True), ("http://127.0.0.1:8000/x", True),
                                ("http://localhost/x", True), ("https://shop/", False),
                                ("https://[::1]/", True), ("https://[1:::2]/", False), ("ftp://shop.example/", False),
                                ("https://u:p@shop.example/", False), ("https://shop.example:70000/", False)]:
        assert bool(pattern.search(candidate)) is accepted, candidate


def test_every_operation_lists_the_errors_middleware_and_authentication_answer(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"401", "404", "405", "406", "429", "500", "503"} <= statuses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= statuses, (path, method)
            for status, response in operation["responses"].items():
                assert "X-Request-Id" in response["headers"], (path, method, status)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            assert "Retry-After" in operation["responses"]["503"]["headers"]
    created = openapi["paths"]["/api/v1/checkout-sessions"]["post"]["responses"]["201"]["headers"]
    assert {"Idempotency-Key", "Idempotent-Replayed"} <= set(created)


def test_webhook_routes_answer_400_malformed_request_as_documented(merchant):
    response = merchant.client.post("/api/v1/webhook-endpoints", data="{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


def test_example_dates_lie_in_the_future_of_the_day_the_schema_is_generated(client):
    import datetime
    import re

    import time_machine

    for today in (datetime.date(2026, 12, 4), datetime.date(2031, 6, 1)):
        with time_machine.travel(datetime.datetime(today.year, today.month, today.day, 12, tzinfo=datetime.UTC)):
            text = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
        create = re.search(r'"start_date":\s*"(\d{4}-\d{2}-\d{2})"', text)
        dates = {datetime.date.fromisoformat(d) for d in re.findall(r'"(\d{4}-\d{2}-\d{2})(?:T[^"]*)?"', text)}
        assert create and min(dates) > today, (today, min(dates))
