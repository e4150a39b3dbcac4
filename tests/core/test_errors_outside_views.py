"""Errors answered outside Django's views (#28): a Host not in ALLOWED_HOSTS under /api/ is the
JSON envelope; the WSGI layer refuses compressed transfer codings and makes gunicorn close the
connection after an answer sent with ``Connection: close``."""

import io
import json

import pytest
from django.test import override_settings

from core.wsgi import BodyReader

pytestmark = pytest.mark.django_db


def test_a_host_not_allowed_under_the_api_is_the_json_envelope(client):
    response = client.get("/api/v1/checkout-sessions", HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="trace-host-1")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "invalid_host", "fields": {}, "trace_id": "trace-host-1",
                                         "message": "The request's Host is not one this server answers."}}
    assert response["X-Request-Id"] == "trace-host-1"


def test_a_host_not_allowed_elsewhere_stays_a_page(client):
    response = client.get("/pay/whatever", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


class _GunicornResponse:
    """What gunicorn passes as ``start_response``: a bound method of its Response."""

    def __init__(self):
        self.closed, self.status, self.headers = False, None, None

    def force_close(self):
        self.closed = True

    def start_response(self, status, headers, exc_info=None):
        self.status, self.headers = status, headers


def _environ(**extra):
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/checkout-sessions", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", **extra}


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate,chunked", "GZIP , chunked"])
def test_compressed_transfer_codings_are_501_not_read_as_chunked(coding):
    called = []
    app = BodyReader(lambda environ, start_response: called.append(environ) or [b""])
    gunicorn = _GunicornResponse()

    body = b"".join(app(_environ(HTTP_TRANSFER_ENCODING=coding, HTTP_X_REQUEST_ID="te-1",
                                 **{"wsgi.input": io.BytesIO(b"\x1f\x8b...")}), gunicorn.start_response))

    assert gunicorn.status.startswith("501") and not called
    assert json.loads(body)["error"] == {"code": "unsupported_transfer_coding", "fields": {}, "trace_id": "te-1",
                                         "message": "Only Transfer-Encoding: chunked is supported; send the body "
                                                    "uncompressed."}
    assert gunicorn.closed


@override_settings(API_MAX_BODY_BYTES=10)
def test_a_413_answered_unread_closes_gunicorn_s_connection(client):
    from config.wsgi import application

    gunicorn = _GunicornResponse()
    environ = _environ(CONTENT_LENGTH="500", CONTENT_TYPE="application/json",
                       **{"wsgi.input": io.BytesIO(b"x" * 500), "wsgi.errors": io.StringIO()})
    b"".join(application(environ, gunicorn.start_response))

    assert gunicorn.status.startswith("413")
    assert gunicorn.closed  # gunicorn drops the Connection header itself: it must be told


def test_an_ordinary_answer_keeps_the_connection(client):
    app = BodyReader(lambda environ, start_response: start_response("200 OK", [("Content-Type", "text/plain")])
                     or [b"ok"])
    gunicorn = _GunicornResponse()
    assert b"".join(app(_environ(), gunicorn.start_response)) == b"ok"
    assert not gunicorn.closed
