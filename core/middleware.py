import re
import uuid

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
