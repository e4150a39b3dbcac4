"""Helpers shared across the test packages (fixtures live in tests/conftest.py)."""

import threading

from django.core.cache.backends.redis import RedisCache
from django.db import connection
from rest_framework.test import APIClient

from core.services import api_key_create


def api_client_with_key(key: str) -> APIClient:
    """An API client sending ``key`` (a raw secret) as its bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def api_client_for(organization, *, livemode: bool = False) -> APIClient:
    """An API client authenticated with a new secret key of ``organization``."""
    return api_client_with_key(api_key_create(organization=organization, livemode=livemode)[1])


def threads_run(*targets, together: bool = False, timeout: float = 60.0) -> list:
    """Run each callable on its own thread (and so its own DB connection); results in order.

    An exception raised in a thread is returned as its result, so a thread never dies
    silently. ``together`` holds every thread at a barrier first, so they start at the same
    instant (a thread that never reaches it gets ``BrokenBarrierError``).
    """
    results: list = [None] * len(targets)
    barrier = threading.Barrier(len(targets)) if together else None

    def run(index, target):
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            results[index] = target()
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads)
    return results


def run_together(*callables, timeout: float = 60.0) -> tuple[list, list]:
    """Start every callable at the same instant on its own thread; returns (results, errors)."""
    outcomes = threads_run(*callables, together=True, timeout=timeout)
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)], errors


class WorkerRedisCache(RedisCache):
    """The Redis cache of one pytest-xdist worker: its keys carry the worker's ``KEY_PREFIX``
    (tests/conftest.py sets it) and ``clear()`` deletes those keys only. Django's ``clear()`` is
    FLUSHDB: one worker's "fresh rate-limit windows" would wipe the other's counters mid-test."""

    def clear(self):
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
        return True
