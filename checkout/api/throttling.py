"""Rate limit on session creation, per API key, in Django's cache (Redis when configured).

A fixed one-minute window: ``SET NX EX`` + ``INCR`` pipelined, one round trip. If the cache
is unreachable the limiter steps aside ("fails open") for a few seconds, so
a Redis outage costs neither availability nor a connection attempt per request.
"""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.breaker import CircuitBreaker
from core.models import ApiKey
from core.ratelimit import window_count

WINDOW_SECONDS = 60

breaker = CircuitBreaker("create rate limiter", meanwhile="allowing requests")
_clock = time.time  # tests pin it inside one window


def _hit(key: str) -> int:
    """Count one request in ``key``'s window; returns the count so far."""
    return window_count(key, ttl=WINDOW_SECONDS + 5)


class CheckoutSessionCreateThrottle(BaseThrottle):
    """``settings.CHECKOUT_CREATE_RATE_LIMIT`` creates per API key per minute (0: no limit)."""

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        limit = settings.CHECKOUT_CREATE_RATE_LIMIT
        if not limit or not isinstance(request.auth, ApiKey):
            return True
        now = _clock()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        count = breaker.call(lambda: _hit(f"rl:checkout-session-create:{request.auth.pk}:{window}"))
        if count is not None and count > limit:
            self._wait = window + WINDOW_SECONDS - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
