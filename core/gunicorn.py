"""Gunicorn pieces for production (named by config/gunicorn.py).

- ``RedactingLogger``: the access log with hosted-page tokens redacted (core.logging.redact).
- ``JsonErrorsWorker``: threaded workers whose answers to requests gunicorn cannot even parse
  (bad request line 400, URI too long 414, header fields too large 431, bad headers or chunks
  400) are the API's JSON error envelope instead of gunicorn's HTML page. The request never
  reached Django, so its path is unknown and every such answer is JSON; a browser never sends
  these. Other errors (501 unsupported transfer coding, 403 proxy, 417, 500s) keep gunicorn's
  own page.
"""

import json
import uuid

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from .logging import redact

# Exception type → (status, reason, our error code). Checked in order (most specific first).
_PARSE_ERRORS = (
    (errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large"),
)
_LEFT_TO_GUNICORN = (errors.UnsupportedTransferCoding, errors.ConfigurationProblem, errors.ForbiddenProxyRequest,
                     errors.ExpectationFailed)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "f"):
            value = atoms.get(name)
            if isinstance(value, str) and "/pay/" in value:
                atoms[name] = redact(value)
        return atoms


def parse_error_answer(exc: Exception, trace_id: str | None = None) -> tuple[int, str, bytes] | None:
    """(status, reason, JSON body) for a request gunicorn could not parse; None: not ours."""
    if not isinstance(exc, errors.ParseException) or isinstance(exc, _LEFT_TO_GUNICORN):
        return None
    status, reason, code = next(((s, r, c) for cls, s, r, c in _PARSE_ERRORS if isinstance(exc, cls)),
                                (400, "Bad Request", "malformed_request"))
    message = {
        414: "The request line is too long.",
        431: "The request's header fields are too large.",
    }.get(status, "The request could not be parsed as HTTP.")
    body = json.dumps({"error": {"code": code, "message": message, "fields": {},
                                 "trace_id": trace_id or f"req_{uuid.uuid4().hex}"}}).encode()
    return status, reason, body


class JsonErrorsWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        # Like every other answer, these carry X-Request-Id (the request's own is unparsed: ours).
        trace_id = f"req_{uuid.uuid4().hex}"
        answer = parse_error_answer(exc, trace_id)
        if answer is None:
            return super().handle_error(req, client, addr, exc)
        status, reason, body = answer
        ip = (addr or ("",))[0]
        self.log.warning("Invalid request from ip=%s trace_id=%s: %s", ip, trace_id, redact(str(exc))[:300])
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"X-Request-Id: {trace_id}\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
        try:
            util.write_nonblock(client, head + body)
            client.close()
        except OSError:
            pass
