import re
import uuid

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware

from .logging import trace_id_var

_SAFE_TRACE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def make_trace_id(candidate: str | None) -> str:
    """Use the caller's X-Request-Id when it is sane; otherwise mint one."""
    if candidate and _SAFE_TRACE.match(candidate):
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


# --- cookie-session middleware, skipped on the merchant API ---------------------------------
# /api/v1/ authenticates with API keys and renders JSON: it never reads a session, a logged-in
# user or flash messages, yet each of these cost every API request some work (a SessionStore, a
# lazy user, a message storage, their response hooks). Subclasses, so Django's and the admin's
# checks still find them in MIDDLEWARE. CSRF stays as it is (its view hook runs regardless).

API_PATH_PREFIX = "/api/v1/"


class _SkippedOnApi:
    def __call__(self, request):
        if request.path_info.startswith(API_PATH_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedOnApi, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_SkippedOnApi, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedOnApi, messages_middleware.MessageMiddleware):
    pass
