"""Per-key rate limit on create: 429 with Retry-After; fails open when the cache is down."""

import pytest
from django.test import override_settings

from checkout.api import throttling
from checkout.models import CheckoutSession
from tests.checkout.api.conftest import error_of, plan_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_circuit_and_one_window(monkeypatch):
    """A closed circuit, and a clock 30 s into a window: the limit counts per fixed minute,
    so requests straddling a real minute boundary would start a fresh count mid-test."""
    monkeypatch.setattr(throttling, "_clock", lambda: 1_800_000_030.0)
    throttling.breaker.reset()
    yield
    throttling.breaker.reset()


@override_settings(CHECKOUT_CREATE_RATE_LIMIT=3)
def test_create_over_the_limit_is_429_with_retry_after(merchant):
    statuses = [merchant.post(plan_body(merchant)).status_code for _ in range(3)]

    limited = merchant.post(plan_body(merchant))

    assert statuses == [201, 201, 201]
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) == 30  # the rest of the window
    assert CheckoutSession.objects.count() == 3


@override_settings(CHECKOUT_CREATE_RATE_LIMIT=2)
def test_limit_is_per_api_key_and_only_on_create(merchant, rival):
    for _ in range(3):
        merchant.post(plan_body(merchant))

    assert merchant.post(plan_body(merchant)).status_code == 429
    assert rival.post(plan_body(rival)).status_code == 201
    assert merchant.get().status_code == 200


@override_settings(CHECKOUT_CREATE_RATE_LIMIT=0)
def test_limit_zero_disables_it(merchant):
    assert all(merchant.post(plan_body(merchant)).status_code == 201 for _ in range(5))


@override_settings(CHECKOUT_CREATE_RATE_LIMIT=1)
def test_limiter_fails_open_when_the_cache_is_unreachable(merchant):
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=dead_redis):
        statuses = [merchant.post(plan_body(merchant)).status_code for _ in range(3)]

    assert statuses == [201, 201, 201]
    assert throttling.breaker.open_until > 0  # later requests skip the dead cache for a while


@override_settings(CHECKOUT_CREATE_RATE_LIMIT=1)
def test_limiter_counts_in_redis_when_configured(merchant, settings):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs REDIS_URL")

    merchant.post(plan_body(merchant))

    assert merchant.post(plan_body(merchant)).status_code == 429
