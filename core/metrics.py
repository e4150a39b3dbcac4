"""Prometheus metrics, served at ``/metrics`` (core.views.metrics) to a bearer of ``METRICS_TOKEN``.

Two kinds:

- measured in the process: ``checkout_http_request_duration_seconds``, a latency histogram per
  route (the resolved URL name, e.g. ``checkout:page``, never the raw path, so no hosted-page
  token reaches a label), method and status, observed by ``RequestMetricsMiddleware``;
- read at scrape time: the Celery queue depth here (``LLEN`` of the broker's list), and what the
  apps register with ``scrape_collector_register`` (checkout.metrics: sessions, sweep lag,
  webhook deliveries, each an indexed query).

Gunicorn runs several worker processes, each with its own histogram, and a scrape reaches one
of them. With ``PROMETHEUS_MULTIPROC_DIR`` set (config/gunicorn.py sets it to a fresh directory
unless given) prometheus-client keeps each process's values in files there and every scrape
adds all workers' up (``MultiProcessCollector``); without it (runserver, tests) the values are
the process's own.
"""

import hashlib
import hmac
import logging
import os
import time

import redis
from django.conf import settings
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)
# No `_created` series next to each histogram: Prometheus does not need them, they double the output.
disable_created_metrics()

REQUEST_LATENCY = Histogram(
    "checkout_http_request_duration_seconds",
    "Time to answer a request, by route (resolved URL name; 'unmatched' for paths no route matched), "
    "method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,  # exposed through scrape_registry()
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BROKER_QUEUE = "celery"  # Celery's default queue: a Redis list of that name
BROKER_TIMEOUT_SECONDS = 1


def request_route(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "unmatched"


class RequestMetricsMiddleware:
    """Outermost middleware: the latency of everything after it, per route."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_LATENCY.labels(request_route(request), method, str(response.status_code)).observe(
            time.perf_counter() - started)
        return response


class BrokerQueueCollector:
    """``checkout_celery_queue_length``: messages waiting in the broker's queue (absent when the
    broker is not Redis, e.g. the demo's in-process tasks), and ``checkout_celery_broker_up``."""

    def collect(self):
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return
        up = GaugeMetricFamily("checkout_celery_broker_up", "1 if the Celery broker (Redis) answered the scrape.")
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
                                          socket_timeout=BROKER_TIMEOUT_SECONDS)
            try:
                length = client.llen(BROKER_QUEUE)
            finally:
                client.close()
        except redis.RedisError as exc:
            logger.warning("metrics: broker unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily("checkout_celery_queue_length", "Tasks waiting in the Celery queue.",
                                  labels=["queue"])
        depth.add_metric([BROKER_QUEUE], length)
        yield depth


_scrape_collectors: list = [BrokerQueueCollector()]


def scrape_collector_register(collector) -> None:
    """Add a collector (an object with ``collect()`` yielding metric families) run at every scrape."""
    if not any(type(existing) is type(collector) for existing in _scrape_collectors):
        _scrape_collectors.append(collector)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # every worker's histograms, added up
    else:
        registry.register(REQUEST_LATENCY)
    for collector in _scrape_collectors:
        registry.register(collector)
    return registry


def metrics_render(accept: str = "") -> tuple[bytes, str]:
    """The exposition and its content type, in the format the scraper's ``Accept`` asks for
    (Prometheus text 0.0.4 by default, OpenMetrics when preferred)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(scrape_registry()), content_type


def metrics_token_valid(authorization: str, expected: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <expected>``. Digests are compared
    (constant time, and the same length whatever was sent)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not expected:
        return False
    return hmac.compare_digest(_digest(token), _digest(expected))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.strip().encode()).digest()
