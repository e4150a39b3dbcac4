"""Secret-key authentication, and the one error envelope for every error the API can produce."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from checkout.models import CheckoutSession, IdempotencyRecord
from core.models import ApiKey
from core.services import api_key_create, api_key_revoke
from tests.checkout.api.conftest import URL, error_of, plan_body
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db

SESSION_ID = "8f4e2b1c-0a9d-4e7f-b6c5-d4e3f2a1b0c9"
ENDPOINTS = [
    ("post", URL),
    ("get", URL),
    ("get", f"{URL}/{SESSION_ID}"),
    ("post", f"{URL}/{SESSION_ID}/cancel"),
]


def _call(client, method, path, **headers):
    if method == "post":
        return client.post(path, data="{}", content_type="application/json", **headers)
    return client.get(path, **headers)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_without_a_key_is_401_authentication_required(method, path):
    response = _call(APIClient(), method, path)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_required"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer sk_test_short",
        "Bearer sk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa extra",
        "Bearer pk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "Bearer sk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # well-formed, unknown
    ],
)
def test_bad_authorization_is_401_authentication_failed(merchant, header):
    response = _call(APIClient(), "get", URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_key_with_right_prefix_and_wrong_secret_is_401(merchant):
    forged = merchant.key[:-4] + ("aaaa" if not merchant.key.endswith("aaaa") else "bbbb")

    response = _call(APIClient(), "get", URL, HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_revoked_key_is_401(merchant):
    api_key_revoke(api_key_id=ApiKey.objects.get(organization=merchant.organization).pk)

    response = merchant.post(plan_body(merchant))

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"
    assert not CheckoutSession.objects.exists()


def test_key_revoked_after_use_is_refused_on_its_next_request(merchant):
    assert merchant.get().status_code == 200  # verified once: the lean path from now on

    api_key_revoke(api_key_id=ApiKey.objects.get(organization=merchant.organization).pk)
    response = merchant.post(plan_body(merchant))

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_key_deleted_after_use_is_refused(merchant):
    assert merchant.get().status_code == 200

    ApiKey.objects.filter(organization=merchant.organization).delete()

    assert merchant.get().status_code == 401


def test_key_use_is_recorded_at_most_once_a_minute(merchant, django_assert_num_queries):
    key = ApiKey.objects.get(organization=merchant.organization)
    assert key.last_used_at is None

    with django_assert_num_queries(3):  # key, page, last_used_at
        merchant.get()
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    with django_assert_num_queries(2):  # key, page
        merchant.get()
    ApiKey.objects.filter(pk=key.pk).update(
        last_used_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    merchant.get()

    assert first is not None
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_each_key_sees_its_own_organization(merchant, rival):
    session = CheckoutSessionFactory(
        organization=merchant.organization,
        customer=merchant.customer,
        business_entity=merchant.entity,
        plan=merchant.plan,
    )
    _, second_key = api_key_create(organization=merchant.organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {second_key}")

    assert client.get(f"{URL}/{session.id}").status_code == 200
    assert rival.get(f"{URL}/{session.id}").status_code == 404


# --- the envelope for every kind of error ------------------------------------------------


def test_malformed_json_is_400_envelope(merchant):
    response = merchant.client.post(URL, data='{"plan_id": ', content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_request"


def test_non_json_body_is_415_envelope(merchant):
    response = merchant.client.post(
        URL, data="plan_id=1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_accept_without_json_is_406_envelope(merchant):
    response = merchant.client.get(URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "not_acceptable"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", URL, "GET, POST"),
        ("delete", URL, "GET, POST"),
        ("post", f"{URL}/{SESSION_ID}", "GET"),
        ("get", f"{URL}/{SESSION_ID}/cancel", "POST"),
    ],
)
def test_unsupported_method_is_405_envelope(merchant, method, path, allow):
    response = getattr(merchant.client, method)(path)

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) >= set(
        allow.replace(" ", "").split(",")
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nothing-here"),
        ("post", "/api/v1/nothing-here"),
        ("get", f"{URL}/"),
        ("post", f"{URL}/not-a-uuid/cancel"),
        ("get", "/api/v2/checkout-sessions"),
    ],
)
def test_unknown_api_route_is_json_404(merchant, method, path):
    response = getattr(merchant.client, method)(path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unexpected_failure_is_500_envelope_and_releases_the_idempotency_key(
    merchant, monkeypatch, caplog
):
    from checkout.api import views

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "checkout_session_create", broken)

    response = merchant.post(
        plan_body(merchant), HTTP_IDEMPOTENCY_KEY="k-500", HTTP_X_REQUEST_ID="trace-500"
    )

    assert response.status_code == 500
    error = error_of(response)
    assert (error["code"], error["trace_id"]) == ("internal_error", "trace-500")
    assert "boom" not in response.content.decode()
    assert any(
        "trace-500" in getattr(r, "trace_id", "") for r in caplog.records if r.levelname == "ERROR"
    )
    assert not IdempotencyRecord.objects.exists()


def test_error_envelope_echoes_x_request_id(merchant):
    response = merchant.client.get(f"{URL}/{SESSION_ID}", HTTP_X_REQUEST_ID="req-abc")

    assert response.json()["error"]["trace_id"] == "req-abc" == response["X-Request-Id"]
