"""Every log line carries the request's trace id, django.request's 4xx/5xx lines included."""

import logging

import pytest

from core.logging import TraceIdFilter


@pytest.mark.django_db
def test_django_request_warning_carries_the_trace_id(client, caplog):
    caplog.handler.addFilter(TraceIdFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/checkout-sessions", HTTP_X_REQUEST_ID="trace-4711")
    assert response.status_code == 401
    assert response["X-Request-Id"] == "trace-4711"
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and all(r.trace_id == "trace-4711" for r in records)


def test_outside_a_request_the_trace_id_is_a_dash():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    assert TraceIdFilter().filter(record) and record.trace_id == "-"
