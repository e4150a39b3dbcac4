"""Rate limit on session creation, per API key, in Django's cache (Redis when configured).

A fixed one-minute window: ``SET NX EX`` + ``INCR`` pipelined, one round trip. If the cache
is unreachable the limiter steps aside ("fails open") for a few seconds, so
a Redis outage costs neither availability nor a connection attempt per request.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from core.models import ApiKey

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
OPEN_CIRCUIT_SECONDS = 5.0

_circuit_open_until = 0.0
_clock = time.time  # tests pin it inside one window


_local = threading.local()


def _redis_client():
    """The cache's Redis client (django.core.cache.backends.redis.RedisCache), or None for other
    backends. Kept per thread: building one per request showed up in profiles."""
    backend = getattr(cache, "_cache", None)
    if getattr(backend, "get_client", None) is None:
        return None
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] is not backend:
        cached = _local.client = (backend, backend.get_client(write=True))
    return cached[1]


def _hit(key: str) -> int:
    """Count one request in ``key``'s window; returns the count so far."""
    client = _redis_client()
    if client is not None:
        key = cache.make_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.set(key, 0, ex=WINDOW_SECONDS + 5, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)
    # Other backends (local memory in development).
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        return 1


class CheckoutSessionCreateThrottle(BaseThrottle):
    """``settings.CHECKOUT_CREATE_RATE_LIMIT`` creates per API key per minute (0: no limit)."""

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        global _circuit_open_until
        limit = settings.CHECKOUT_CREATE_RATE_LIMIT
        if not limit or not isinstance(request.auth, ApiKey):
            return True
        now = _clock()
        if now < _circuit_open_until:
            return True
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        try:
            count = _hit(f"rl:checkout-session-create:{request.auth.pk}:{window}")
        except Exception:
            _circuit_open_until = now + OPEN_CIRCUIT_SECONDS
            logger.warning(
                "rate limiter unavailable; allowing requests for %ss",
                OPEN_CIRCUIT_SECONDS,
                exc_info=True,
            )
            return True
        if count > limit:
            self._wait = window + WINDOW_SECONDS - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
