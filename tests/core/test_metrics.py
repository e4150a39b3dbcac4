"""GET /metrics: the token rules, the request latency histogram per route, the Celery queue depth."""

import pytest
import redis
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import metrics_token_valid
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    return settings


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def count_of(samples, route, method="GET", status="200") -> float:
    key = ("checkout_http_request_duration_seconds_count",
           (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def test_metrics_without_a_token_configured_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", "Bearer wrong",
                                           f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN])
def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_on, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    body = response.json()
    assert body["error"]["code"] == "unauthorized" and set(body["error"]) == {"code", "message", "fields", "trace_id"}
    assert b"checkout_" not in response.content


def test_metrics_accepts_the_token_and_is_get_only(client, metrics_on):
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.parametrize(("header", "expected", "valid"), [
    ("Bearer s3cret", "s3cret", True), ("bearer s3cret", "s3cret", True), ("Bearer s3cret ", "s3cret", True),
    ("Bearer s3cre", "s3cret", False), ("Bearer s3cret", "", False), ("Bearer ", "", False), ("", "", False),
    ("Token s3cret", "s3cret", False),
])
def test_metrics_token_valid(header, expected, valid):
    assert metrics_token_valid(header, expected) is valid


def test_latency_histogram_counts_requests_per_route_name_never_the_path(client, metrics_on):
    session = CheckoutSessionFactory()
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/pay/{session.token}").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    after = scrape(client)
    assert count_of(after, "checkout:page") - count_of(before, "checkout:page") == 3
    assert count_of(after, "core.views.healthz") - count_of(before, "core.views.healthz") == 1
    assert count_of(after, "unmatched", status="404") - count_of(before, "unmatched", status="404") == 1
    assert count_of(after, "metrics") - count_of(before, "metrics") == 2  # the two scrapes in between
    assert session.token not in body and "/pay/" not in body and "/no/such" not in body
    bucket = ("checkout_http_request_duration_seconds_bucket",
              (("le", "+Inf"), ("method", "GET"), ("route", "checkout:page"), ("status", "200")))
    assert after[bucket] == count_of(after, "checkout:page")


def test_latency_histogram_labels_odd_methods_as_other(client, metrics_on):
    before = scrape(client)
    assert client.generic("PROPFIND", "/healthz").status_code == 405  # the probes answer GET and HEAD only
    assert count_of(scrape(client), "core.views.healthz", method="other", status="405") - count_of(
        before, "core.views.healthz", method="other", status="405") == 1


@pytest.fixture
def broker(settings):
    """The tests' Redis as the broker, its 'celery' list emptied before and after."""
    url = django_settings.REDIS_URL
    if not url:
        pytest.skip("needs REDIS_URL")
    settings.CELERY_BROKER_URL = url
    client = redis.Redis.from_url(url)
    client.delete("celery")
    yield client
    client.delete("celery")
    client.close()


def test_celery_queue_length_is_the_broker_list_length(client, metrics_on, broker):
    assert scrape(client)[("checkout_celery_queue_length", (("queue", "celery"),))] == 0
    broker.rpush("celery", "a", "b", "c")
    samples = scrape(client)
    assert samples[("checkout_celery_queue_length", (("queue", "celery"),))] == 3
    assert samples[("checkout_celery_broker_up", ())] == 1


def test_celery_metrics_when_the_broker_is_down_or_not_redis(client, metrics_on, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    samples = scrape(client)
    assert samples[("checkout_celery_broker_up", ())] == 0
    assert not any(name == "checkout_celery_queue_length" for name, _labels in samples)
    settings.CELERY_BROKER_URL = "memory://localhost/"
    samples = scrape(client)
    assert not any(name.startswith("checkout_celery_") for name, _labels in samples)


def test_metrics_speaks_openmetrics_to_a_scraper_that_prefers_it(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                          HTTP_ACCEPT="application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")
