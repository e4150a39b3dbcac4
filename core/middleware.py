import re
import uuid

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware

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


# --- cookie-session middleware, skipped on the merchant API and the hosted pages ------------
# /api/v1/ authenticates with API keys and renders JSON, and the hosted pages (/pay/) are found
# by their token and keep their CSRF token in a cookie: neither ever reads a session, a
# logged-in user or flash messages, yet each of these cost every request some work (a
# SessionStore, a lazy user, a message storage, their response hooks). Subclasses, so Django's
# and the admin's checks still find them in MIDDLEWARE. CSRF stays as it is.

API_PATH_PREFIX = "/api/v1/"
SKIPPED_PATH_PREFIXES = (API_PATH_PREFIX, "/pay/")


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
