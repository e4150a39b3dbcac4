"""Fixed-window counters in Django's cache (Redis when configured), shared by the limiters.

``window_count`` counts one hit in a window and returns the count so far: ``SET NX EX`` +
``INCR`` pipelined on Redis (one round trip), ``add``/``incr`` on other backends.
A limiter fails open while the cache is down through ``core.breaker.CircuitBreaker``.
"""

import threading

from django.core.cache import cache

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


def window_count(key: str, *, ttl: int) -> int:
    """Count one hit in ``key`` (kept ``ttl`` seconds); returns the count so far. Raises
    whatever the cache raises when it is unreachable: callers decide to fail open."""
    client = _redis_client()
    if client is not None:
        key = cache.make_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.set(key, 0, ex=ttl, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)
    if cache.add(key, 1, timeout=ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def window_peek(key: str) -> int:
    """The count so far in ``key`` without counting (0 when none)."""
    client = _redis_client()
    if client is not None:
        value = client.get(cache.make_key(key))
        return int(value or 0)
    return int(cache.get(key) or 0)
