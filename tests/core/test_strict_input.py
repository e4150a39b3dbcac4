"""Requests a fuzzing run got through the middleware and parser (#23): a JSON body in any
charset but UTF-8 is 415, and the probes answer only the methods that read."""

import json

import pytest

from checkout.models import CheckoutSession
from core.parsers import charset_of
from core.services import api_key_create
from tests.core.factories import OrganizationFactory
from tests.helpers import api_client_with_key

URL = "/api/v1/checkout-sessions"


@pytest.fixture
def api(db):
    return api_client_with_key(api_key_create(organization=OrganizationFactory())[1])


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-7",
    "application/json; charset=UTF-7",
    "application/json;charset=iso-8859-1",
    'application/json; charset="utf-16"',
    "application/json; charset=",
])
def test_a_json_body_in_another_charset_is_415(api, content_type):
    # UTF-7 spells "<" as "+ADw-": decoded as declared, this body would be a script tag.
    body = json.dumps({"metadata": {"note": "+ADw-script+AD4-"}}).encode("ascii")

    response = api.generic("POST", URL, body, content_type=content_type)

    assert response.status_code == 415, response.content
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "UTF-8" in error["message"]
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8",
    'application/json; charset="utf-8"', "application/json;charset=utf8",
])
def test_a_utf8_json_body_is_parsed_however_the_charset_is_spelt(api, content_type):
    # An empty object is parsed and reaches validation: 422 (nothing to create), not 415 or 400.
    response = api.generic("POST", URL, b"{}", content_type=content_type)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "checkout_type_undetermined"


@pytest.mark.parametrize("header, charset", [
    ("application/json", None), ("application/json; charset=UTF-8", "utf-8"),
    ('application/json; Charset="utf-7"; x=1', "utf-7"), ("application/json; boundary=x", None),
])
def test_charset_of_reads_the_parameter(header, charset):
    assert charset_of(header) == charset


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
def test_probes_answer_405_to_methods_that_do_not_read(client, db, path, method):
    response = client.generic(method, path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_get_and_head(client, db, path):
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200
