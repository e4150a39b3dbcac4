"""Rate limit on session creation, per API key, in Django's cache (Redis when configured).

A fixed one-minute window: ``SET NX EX`` + ``INCR`` pipelined, one round trip. If the cache
is unreachable the limiter steps aside ("fails open") for a few seconds, so
a Redis outage costs neither availability nor a connection attempt per request.
"""

import logging
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.models import ApiKey
from core.ratelimit import window_count

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
OPEN_CIRCUIT_SECONDS = 5.0

_circuit_open_until = 0.0
_clock = time.time  # tests pin it inside one window


def _hit(key: str) -> int:
    """Count one request in ``key``'s window; returns the count so far."""
    return window_count(key, ttl=WINDOW_SECONDS + 5)


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
