"""Idempotent creates: replay byte for byte, refuse reuse, report in-flight duplicates, survive
concurrency, and purge old keys."""

import datetime
import json
import threading
import time

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from checkout.enums import IdempotencyStatus
from checkout.models import CheckoutSession, IdempotencyRecord
from checkout.services import idempotency
from checkout.services.idempotency import idempotency_fingerprint, idempotency_records_purge
from tests.checkout.api.conftest import URL, error_of, plan_body
from tests.checkout.factories import IdempotencyRecordFactory
from tests.helpers import api_client_with_key, run_together


@pytest.mark.django_db
def test_create_same_key_same_body_replays_first_response_byte_for_byte(merchant):
    body = plan_body(merchant)
    first = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-1")
    # Same JSON with another key order and spacing is the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    second = merchant.client.post(
        URL, data=reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-1"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert CheckoutSession.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.response_status, bytes(record.response_body)) == (
        IdempotencyStatus.COMPLETED,
        201,
        first.content,
    )
    assert str(record.checkout_session_id) == first.json()["id"]


@pytest.mark.django_db
def test_create_key_in_body_is_the_same_key_as_the_header(merchant):
    first = merchant.post(plan_body(merchant, idempotency_key="order-2"))
    second = merchant.post(
        plan_body(merchant, idempotency_key="order-2"), HTTP_IDEMPOTENCY_KEY="order-2"
    )

    assert second.content == first.content
    assert CheckoutSession.objects.count() == 1


@pytest.mark.django_db
def test_create_same_key_different_body_is_422_idempotency_key_reused(merchant):
    merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="order-3")

    response = merchant.post(
        plan_body(merchant, metadata={"changed": True}), HTTP_IDEMPOTENCY_KEY="order-3"
    )

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("idempotency_key_reused", ["idempotency_key"])
    assert CheckoutSession.objects.count() == 1


@pytest.mark.django_db
def test_create_trace_id_is_not_part_of_the_fingerprint(merchant):
    first = merchant.post(plan_body(merchant, trace_id="attempt-1"), HTTP_IDEMPOTENCY_KEY="order-4")
    second = merchant.post(
        plan_body(merchant, trace_id="attempt-2"), HTTP_IDEMPOTENCY_KEY="order-4"
    )

    assert second.content == first.content
    assert second["X-Request-Id"] == "attempt-2"


@pytest.mark.django_db
def test_create_header_and_body_keys_differ_is_422(merchant):
    response = merchant.post(plan_body(merchant, idempotency_key="a"), HTTP_IDEMPOTENCY_KEY="b")

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == (
        "idempotency_key_mismatch",
        ["idempotency_key"],
    )


@pytest.mark.django_db
def test_create_invalid_header_key_is_422(merchant):
    response = merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="x" * 256)

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_create_failed_request_is_not_stored_and_the_fixed_retry_succeeds(merchant):
    broken = merchant.post(
        plan_body(merchant, success_url="/relative"), HTTP_IDEMPOTENCY_KEY="order-5"
    )
    fixed = merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="order-5")

    assert (broken.status_code, fixed.status_code) == (422, 201)
    assert "Idempotent-Replayed" not in fixed
    assert CheckoutSession.objects.count() == 1


@pytest.mark.django_db
def test_create_same_key_in_another_organization_is_independent(merchant, rival):
    mine = merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="shared")
    theirs = rival.post(plan_body(rival), HTTP_IDEMPOTENCY_KEY="shared")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["organization_id"] != theirs.json()["organization_id"]
    assert "Idempotent-Replayed" not in theirs
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_create_in_flight_duplicate_is_409_idempotency_key_in_use(merchant):
    body = plan_body(merchant)
    IdempotencyRecordFactory(
        organization=merchant.organization,
        key="order-6",
        request_fingerprint=idempotency_fingerprint({"livemode": False, "body": body}),
    )

    response = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-6")

    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("idempotency_key_in_use", ["idempotency_key"])
    assert not CheckoutSession.objects.exists()


@pytest.mark.django_db
def test_create_stale_in_flight_claim_is_taken_over(merchant):
    body = plan_body(merchant)
    record = IdempotencyRecordFactory(
        organization=merchant.organization,
        key="order-7",
        request_fingerprint=idempotency_fingerprint({"livemode": False, "body": body}),
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - idempotency.STALE_AFTER - datetime.timedelta(seconds=1)
    )

    response = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-7")

    assert response.status_code == 201
    record.refresh_from_db()
    assert record.status == IdempotencyStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_create_duplicate_while_first_runs_is_409_then_replays(merchant, monkeypatch):
    """A real in-flight duplicate: the first request is held inside the service."""
    from checkout.api import views

    entered, release = threading.Event(), threading.Event()
    real_create = views.checkout_session_create

    def slow_create(**kwargs):
        entered.set()
        assert release.wait(10)
        return real_create(**kwargs)

    monkeypatch.setattr(views, "checkout_session_create", slow_create)
    body = plan_body(merchant)
    results = {}

    def first():
        try:
            results["first"] = merchant.post(body, HTTP_IDEMPOTENCY_KEY="order-8")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    duplicate = api_client_with_key(merchant.key).post(
        URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-8"
    )
    release.set()
    thread.join(10)
    retry = api_client_with_key(merchant.key).post(
        URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-8"
    )

    assert duplicate.status_code == 409
    assert error_of(duplicate)["code"] == "idempotency_key_in_use"
    assert results["first"].status_code == 201
    assert retry.content == results["first"].content
    assert CheckoutSession.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_create_twenty_concurrent_duplicates_make_one_session_and_identical_bodies(merchant):
    body = json.dumps(plan_body(merchant))
    bodies, statuses = [], []

    def worker():
        client = api_client_with_key(merchant.key)
        for _ in range(200):  # a client retries 409 in-flight answers, as the docs say
            response = client.post(
                URL,
                data=body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="concurrent-1",
            )
            statuses.append(response.status_code)
            if response.status_code != 409:
                bodies.append(response.content)
                return
            time.sleep(0.01)

    _results, errors = run_together(*[worker] * 20)

    assert not errors
    assert len(bodies) == 20
    assert len(set(bodies)) == 1
    assert set(statuses) <= {201, 409}
    assert CheckoutSession.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_records_purge_deletes_records_older_than_the_ttl(merchant):
    now = timezone.now()
    old = IdempotencyRecordFactory(organization=merchant.organization)
    recent = IdempotencyRecordFactory(organization=merchant.organization)
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=now - datetime.timedelta(hours=49)
    )
    IdempotencyRecord.objects.filter(pk=recent.pk).update(
        created_at=now - datetime.timedelta(hours=47)
    )

    with override_settings(IDEMPOTENCY_KEY_TTL_HOURS=48):
        assert idempotency_records_purge(now=now) == 1

    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [recent.pk]


@pytest.mark.django_db
def test_idempotency_records_purge_keeps_keys_at_least_24_hours(merchant):
    now = timezone.now()
    record = IdempotencyRecordFactory(organization=merchant.organization)
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=now - datetime.timedelta(hours=23)
    )

    with override_settings(IDEMPOTENCY_KEY_TTL_HOURS=1):
        assert idempotency_records_purge(now=now) == 0

    assert IdempotencyRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_idempotency_records_purge_task_calls_the_service(merchant):
    from checkout.tasks import idempotency_records_purge as task

    record = IdempotencyRecordFactory(organization=merchant.organization)
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )

    task.apply()

    assert not IdempotencyRecord.objects.exists()


def test_a_held_key_is_released_when_the_block_ends_without_inserting(merchant):
    """The ``with`` block owns the claim: whatever leaves it without a session frees the key."""
    org_id = merchant.organization.id
    with idempotency.idempotency_key_held(organization_id=org_id, livemode=False, key="k-left", fingerprint="f" * 64) as held:
        assert held.replay is None
        assert IdempotencyRecord.objects.filter(key="k-left", status=IdempotencyStatus.IN_PROGRESS).exists()
    assert held.outcome is None
    assert not IdempotencyRecord.objects.filter(key="k-left").exists()

    with pytest.raises(KeyError):
        with idempotency.idempotency_key_held(organization_id=org_id, livemode=False, key="k-left", fingerprint="f" * 64):
            raise KeyError("boom")
    assert not IdempotencyRecord.objects.filter(key="k-left").exists()
