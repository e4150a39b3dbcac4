import re
import uuid

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

from .logging import trace_id_var

# What a caller may choose as a trace id (X-Request-Id, or trace_id in an API body).
TRACE_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")  # fullmatch: "$" would let a final newline in


def make_trace_id(candidate: str | None) -> str:
    """Use the caller's X-Request-Id when it is sane; otherwise mint one."""
    if candidate and TRACE_ID_PATTERN.fullmatch(candidate):
        return candidate
    return f"req_{uuid.uuid4().hex}"


class TraceIdMiddleware:
    """Binds a trace id to the request and to every log line it produces."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.trace_id = make_trace_id(request.headers.get("X-Request-Id"))
        token = trace_id_var.set(request.trace_id)
        try:
            response = self.get_response(request)
        finally:
            trace_id_var.reset(token)
        response["X-Request-Id"] = request.trace_id
        return response


class ApiBodyLimitMiddleware:
    """A merchant API body larger than ``API_MAX_BODY_BYTES`` is answered 413 from its
    ``Content-Length`` alone, before a byte of it is read (chunked bodies: ``core.wsgi``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                from .errors import json_error_response

                response = json_error_response(
                    "request_too_large", f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.",
                    413)
                response["Connection"] = "close"  # the unread body must not be taken for a request
                return response
        return self.get_response(request)


# The database is unreachable (down, restarting, failing over): a retry in a few seconds may
# well succeed, so callers get 503 + Retry-After rather than a 500 that reads as our bug.
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def is_database_outage(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_OUTAGE_ERRORS)


class DatabaseOutageMiddleware:
    """Outside the merchant API (whose exception handler does the same in the envelope):
    a database outage is a 503 page with ``Retry-After``, never the 500 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_outage(exception):
            return None
        if request.path_info.startswith("/api/"):
            from .errors import database_outage_response

            return database_outage_response()
        response = HttpResponse(
            "<!doctype html><title>Temporarily unavailable</title><h1>We'll be right back</h1>"
            "<p>This page is briefly unavailable. Please try again in a few seconds.</p>",
            status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


# --- cookie-session middleware, skipped on the merchant API and the hosted pages ------------
# /api/v1/ authenticates with API keys and renders JSON, the hosted pages (/pay/) are found
# by their token and keep their CSRF token in a cookie, /metrics takes a bearer token: none
# ever reads a session, a logged-in user or flash messages, yet each of these cost every request some work (a
# SessionStore, a lazy user, a message storage, their response hooks). Subclasses, so Django's
# and the admin's checks still find them in MIDDLEWARE. CSRF stays as it is.

API_PATH_PREFIX = "/api/v1/"
SKIPPED_PATH_PREFIXES = (API_PATH_PREFIX, "/pay/", "/metrics")


class _SkippedOnApiAndPages:
    def __call__(self, request):
        if request.path_info.startswith(SKIPPED_PATH_PREFIXES):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedOnApiAndPages, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_SkippedOnApiAndPages, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedOnApiAndPages, messages_middleware.MessageMiddleware):
    pass
