"""A trace id on every log line: set per request (or task), read by a filter."""

import contextvars
import logging

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
