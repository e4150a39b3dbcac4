"""WSGI-level guards that must run before Django builds its request.

Django reads a body only as long as ``Content-Length`` says, so a ``Transfer-Encoding:
chunked`` body (gunicorn de-chunks it and marks the stream ``wsgi.input_terminated``) used to
arrive empty. ``BodyReader`` reads such a body, at most ``API_MAX_BODY_BYTES`` of it, and hands
Django a sized stream; a larger one is answered 413 with the error envelope, unread past the
limit.

It also keeps two promises the README makes for answers Django cannot make alone:

- a ``Transfer-Encoding`` other than ``chunked`` (``gzip, chunked``: gunicorn strips the chunks,
  not the gzip) is refused ``501 unsupported_transfer_coding``, never read as plain chunked;
- an answer sent with ``Connection: close`` (a 413 whose body was never read) really closes the
  connection: gunicorn drops the application's hop-by-hop headers and would keep it alive, so
  the unread body would be parsed as the client's next request.
"""

import io
import json
import uuid

from django.conf import settings

from .middleware import TRACE_ID_PATTERN


def _is_chunked(environ) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH")


def _codings(environ) -> list[str]:
    value = environ.get("HTTP_TRANSFER_ENCODING", "")
    return [coding.strip(" \t").lower() for coding in value.split(",") if coding.strip(" \t")]


def _trace_id(environ) -> str:
    candidate = environ.get("HTTP_X_REQUEST_ID", "")
    return candidate if TRACE_ID_PATTERN.fullmatch(candidate) else f"req_{uuid.uuid4().hex}"


def _envelope(code: str, message: str, trace_id: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "fields": {}, "trace_id": trace_id}}).encode()


def _closing(start_response):
    """``start_response`` that makes gunicorn close the connection after an answer carrying
    ``Connection: close`` (its Response drops that header and keeps the connection alive)."""
    def start(status, headers, exc_info=None):
        if any(name.lower() == "connection" and value.lower() == "close" for name, value in headers):
            force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
            if force_close is not None:
                force_close()
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
    return start


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
        start_response = _closing(start_response)
        if any(coding not in ("chunked", "identity") for coding in _codings(environ)):
            trace_id = _trace_id(environ)
            payload = _envelope("unsupported_transfer_coding",
                                "Only Transfer-Encoding: chunked is supported; send the body uncompressed.", trace_id)
            start_response("501 Not Implemented", [
                ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                ("X-Request-Id", trace_id), ("Connection", "close")])
            return [payload]
        if _is_chunked(environ):
            limit = settings.API_MAX_BODY_BYTES
            stream = environ["wsgi.input"]
            body = stream.read(limit + 1)
            if len(body) > limit:
                trace_id = _trace_id(environ)
                payload = too_large_body(trace_id)
                start_response("413 Request Entity Too Large", [
                    ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                    ("X-Request-Id", trace_id), ("Connection", "close")])
                return [payload]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
