"""The test suite's own arrangements for a shared machine and for pytest-xdist (#23): each worker
keeps to its own Redis keys, and schemathesis builds its tests when they run."""

import os
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

from tests import conftest
from tests.helpers import WorkerRedisCache

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@needs_redis
def test_a_workers_cache_clear_deletes_its_own_keys_and_nothing_else():
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    mine = WorkerRedisCache(settings.REDIS_URL, {"KEY_PREFIX": prefix})
    raw = redis.Redis.from_url(settings.REDIS_URL)
    others = [f"other-{prefix}:1:limit", f"{prefix}x:1:limit", "celery-like-" + prefix]
    try:
        for key in others:
            raw.set(key, 1, ex=60)
        mine.set("limit", 3, 60)
        mine.set("window", 4, 60)
        assert raw.exists(f"{prefix}:1:limit")

        assert mine.clear() is True

        assert mine.get("limit") is None and mine.get("window") is None
        assert [raw.exists(key) for key in others] == [1, 1, 1]
    finally:
        raw.delete(*others)
        raw.close()


@needs_redis
@pytest.mark.skipif(not os.environ.get("PYTEST_XDIST_WORKER"), reason="runs under pytest-xdist only")
def test_under_xdist_the_cache_and_the_broker_carry_the_workers_prefix(db):
    from config.celery import app

    worker = os.environ["PYTEST_XDIST_WORKER"]
    cache = caches["default"]
    assert type(cache).__name__ == "WorkerRedisCache" and cache.key_prefix == worker
    assert cache.make_key("k").startswith(f"{worker}:")
    assert app.conf.broker_transport_options["global_keyprefix"] == f"{worker}:"
    # And the database is the worker's own copy of TEST_DATABASE_URL's.
    from django.db import connection

    named = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    assert connection.settings_dict["NAME"] == f"test_{named}_{worker}"


def test_schemathesis_tests_are_built_when_they_run_not_when_collected():
    from schemathesis.pytest import _test_builder

    assert _test_builder.build_operation_test is conftest._build_operation_test_lazily
    assert conftest._build_operation_test is not None  # the original, called on a test's first run
