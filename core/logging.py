"""A trace id on every log line: set per request (or task), read by a filter."""

import contextvars
import logging
import re

trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")


def get_trace_id() -> str:
    return trace_id_var.get()


class TraceIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = trace_id_var.get()
        if trace_id == "-":
            # django.request logs a 4xx/5xx after the middleware chain has returned (and reset
            # the variable), but hands the request along: take the id from it.
            trace_id = getattr(getattr(record, "request", None), "trace_id", "-")
        record.trace_id = trace_id
        return True


# Hosted-page tokens are bearer credentials for a customer's checkout: a URL path that holds
# one (/pay/<token>, /pay/<token>/cancel, the hosted invoice page's /pay/invoice/<token>) is
# logged with the token replaced.
PAGE_TOKEN = re.compile(r"/pay/(?:invoice/)?[^/\s?#\"']+")
REDACTED_PATH = "/pay/[redacted]"


def redact(text: str) -> str:
    return PAGE_TOKEN.sub(REDACTED_PATH, text)


class RedactTokensFilter(logging.Filter):
    """Rewrites a record's message (Django's "Not Found: /pay/…" warnings, request lines)
    with hosted-page tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/pay/" in message:
            record.msg, record.args = redact(message), ()
        return True
