"""WSGI-level guards that must run before Django builds its request.

Django reads a body only as long as ``Content-Length`` says, so a ``Transfer-Encoding:
chunked`` body (gunicorn de-chunks it and marks the stream ``wsgi.input_terminated``) used to
arrive empty. ``BodyReader`` reads such a body, at most ``API_MAX_BODY_BYTES`` of it, and hands
Django a sized stream; a larger one is answered 413 with the error envelope, unread past the
limit.
"""

import io
import json
import uuid

from django.conf import settings

from .middleware import TRACE_ID_PATTERN


def _is_chunked(environ) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH")


def too_large_body(trace_id: str) -> bytes:
    limit = settings.API_MAX_BODY_BYTES
    return json.dumps({"error": {
        "code": "request_too_large", "message": f"The request body is larger than {limit} bytes.",
        "fields": {}, "trace_id": trace_id,
    }}).encode()


class BodyReader:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if _is_chunked(environ):
            limit = settings.API_MAX_BODY_BYTES
            stream = environ["wsgi.input"]
            body = stream.read(limit + 1)
            if len(body) > limit:
                candidate = environ.get("HTTP_X_REQUEST_ID", "")
                trace_id = candidate if TRACE_ID_PATTERN.fullmatch(candidate) else f"req_{uuid.uuid4().hex}"
                payload = too_large_body(trace_id)
                start_response("413 Request Entity Too Large", [
                    ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                    ("X-Request-Id", trace_id), ("Connection", "close")])
                return [payload]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
