"""Retention (checkout/services/retention.py): what goes, what stays, to the second, on real rows."""

import datetime
import threading
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from checkout.enums import DeliveryStatus, IdempotencyStatus
from checkout.models import Event, IdempotencyRecord, WebhookAttempt, WebhookDelivery
from checkout.services import retention
from checkout.services.retention import retention_apply, retention_counts
from tests.checkout.factories import (
    CheckoutSessionFactory,
    EventFactory,
    IdempotencyRecordFactory,
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)
IDEMPOTENCY_CUTOFF = NOW - datetime.timedelta(hours=48)
DELIVERY_CUTOFF = NOW - datetime.timedelta(days=90)
EVENT_CUTOFF = NOW - datetime.timedelta(days=30)

pytestmark = pytest.mark.usefixtures("_policy")


@pytest.fixture
def _policy(settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 48
    settings.RETENTION_DELIVERIES_DAYS = 90
    settings.RETENTION_EVENTS_DAYS = 30


def _created(obj, at: datetime.datetime, **fields):
    """``obj`` as if created at ``at`` (``auto_now_add`` chose its own time)."""
    type(obj).objects.filter(pk=obj.pk).update(created_at=at, **fields)
    obj.refresh_from_db()
    return obj


def _event(session, sequence: int, at: datetime.datetime, *, dispatched: bool = True) -> Event:
    event = EventFactory(checkout_session=session, sequence=sequence)
    return _created(event, at, dispatched_at=at if dispatched else None)


def _delivery(event: Event, status: str, at: datetime.datetime, endpoint=None) -> WebhookDelivery:
    endpoint = endpoint or WebhookEndpointFactory(organization=event.organization)
    delivery = WebhookDeliveryFactory(event=event, endpoint=endpoint, status=status)
    return _created(delivery, at)


def _exists(obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_retention_apply_idempotency_records_older_than_the_ttl_go_to_the_second():
    at_cutoff = _created(IdempotencyRecordFactory(status=IdempotencyStatus.COMPLETED), IDEMPOTENCY_CUTOFF)
    past_cutoff = _created(IdempotencyRecordFactory(status=IdempotencyStatus.COMPLETED), IDEMPOTENCY_CUTOFF - SECOND)
    # An in-progress claim this old lost its worker long ago (stale after 120 s): it goes too.
    stale_claim = _created(IdempotencyRecordFactory(), NOW - datetime.timedelta(days=3))
    in_flight = _created(IdempotencyRecordFactory(), NOW - datetime.timedelta(seconds=5))

    deleted = retention_apply(now=NOW)

    assert deleted[retention.IDEMPOTENCY_RECORDS] == 2
    assert not _exists(past_cutoff) and not _exists(stale_claim)
    assert _exists(at_cutoff) and _exists(in_flight)


@pytest.mark.django_db
def test_retention_apply_idempotency_records_kept_at_least_24_hours(settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 1
    kept = _created(IdempotencyRecordFactory(status=IdempotencyStatus.COMPLETED), NOW - datetime.timedelta(hours=24))
    gone = _created(IdempotencyRecordFactory(status=IdempotencyStatus.COMPLETED),
                    NOW - datetime.timedelta(hours=24) - SECOND)

    assert retention_apply(now=NOW)[retention.IDEMPOTENCY_RECORDS] == 1

    assert _exists(kept) and not _exists(gone)


@pytest.mark.django_db
def test_retention_apply_finished_deliveries_go_with_their_attempts_pending_ones_stay():
    session = CheckoutSessionFactory()
    old = NOW - datetime.timedelta(days=200)
    # Events newer than the events' cutoff, so only the deliveries' rule acts here.
    event = _event(session, 1, NOW - datetime.timedelta(days=1))
    endpoints = [WebhookEndpointFactory(organization=session.organization) for _ in range(5)]
    succeeded_past = _delivery(event, DeliveryStatus.SUCCEEDED, DELIVERY_CUTOFF - SECOND, endpoints[0])
    failed_past = _delivery(event, DeliveryStatus.FAILED, old, endpoints[1])
    succeeded_at = _delivery(event, DeliveryStatus.SUCCEEDED, DELIVERY_CUTOFF, endpoints[2])
    pending_old = _delivery(event, DeliveryStatus.PENDING, old, endpoints[3])
    recent = _delivery(event, DeliveryStatus.SUCCEEDED, NOW, endpoints[4])
    attempts = [WebhookAttemptFactory(delivery=succeeded_past), WebhookAttemptFactory(delivery=failed_past),
                WebhookAttemptFactory(delivery=succeeded_at)]

    deleted = retention_apply(now=NOW)

    assert deleted[retention.WEBHOOK_DELIVERIES] == 2
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {succeeded_at.pk, pending_old.pk, recent.pk}
    assert list(WebhookAttempt.objects.values_list("pk", flat=True)) == [attempts[2].pk]


@pytest.mark.django_db
def test_retention_apply_events_older_than_30_days_go_to_the_second_but_a_stream_keeps_its_last():
    session = CheckoutSessionFactory()
    first = _event(session, 1, EVENT_CUTOFF - datetime.timedelta(days=5))
    second = _event(session, 2, EVENT_CUTOFF - SECOND)
    third = _event(session, 3, EVENT_CUTOFF)  # exactly at the cutoff: kept
    other = CheckoutSessionFactory(organization=session.organization)
    only_one = _event(other, 1, EVENT_CUTOFF - datetime.timedelta(days=5))  # its stream's last: kept

    deleted = retention_apply(now=NOW)

    assert deleted[retention.EVENTS] == 2
    assert not _exists(first) and not _exists(second)
    assert _exists(third) and _exists(only_one)


@pytest.mark.django_db
def test_retention_apply_keeps_the_last_event_of_a_billing_object_so_its_sequence_goes_on():
    session = CheckoutSessionFactory()
    invoice_id = uuid.uuid4()
    old = EVENT_CUTOFF - datetime.timedelta(days=10)
    billing = []
    for sequence in (1, 2):
        event = EventFactory(checkout_session=None, organization=session.organization, object_type="invoice",
                             object_id=invoice_id, sequence=sequence, type="invoice.paid", payload={})
        billing.append(_created(event, old, dispatched_at=old))

    retention_apply(now=NOW)

    assert not _exists(billing[0]) and _exists(billing[1])
    assert Event.objects.filter(object_id=invoice_id).get().sequence == 2


@pytest.mark.django_db
def test_retention_apply_pending_deliveries_protect_their_event_and_undispatched_events_stay():
    session = CheckoutSessionFactory()
    old = EVENT_CUTOFF - datetime.timedelta(days=200)
    retrying = _event(session, 1, old)
    pending = _delivery(retrying, DeliveryStatus.PENDING, old)
    WebhookDelivery.objects.filter(pk=pending.pk).update(attempt_count=7, next_attempt_at=NOW + datetime.timedelta(hours=1))
    undispatched = _event(session, 2, old, dispatched=False)
    delivered_recently = _event(session, 3, old)
    recent_delivery = _delivery(delivered_recently, DeliveryStatus.SUCCEEDED, NOW - datetime.timedelta(days=10))
    delivered_long_ago = _event(session, 4, old)
    _delivery(delivered_long_ago, DeliveryStatus.SUCCEEDED, DELIVERY_CUTOFF - SECOND)
    _event(session, 5, NOW)  # the stream's last

    deleted = retention_apply(now=NOW)

    # The delivery past its 90 days goes first, then its event with it in the same run.
    assert deleted == {retention.IDEMPOTENCY_RECORDS: 0, retention.WEBHOOK_DELIVERIES: 1, retention.EVENTS: 1}
    assert not _exists(delivered_long_ago)
    assert _exists(retrying) and _exists(pending)
    assert _exists(undispatched)
    assert _exists(delivered_recently) and _exists(recent_delivery)


@pytest.mark.django_db
def test_retention_apply_works_in_batches():
    session = CheckoutSessionFactory()
    old = EVENT_CUTOFF - datetime.timedelta(days=1)
    for sequence in range(1, 8):
        _event(session, sequence, old)
    for _ in range(5):
        _created(IdempotencyRecordFactory(), IDEMPOTENCY_CUTOFF - SECOND)

    deleted = retention_apply(now=NOW, batch_size=2)

    assert deleted[retention.EVENTS] == 6 and deleted[retention.IDEMPOTENCY_RECORDS] == 5
    assert list(Event.objects.values_list("sequence", flat=True)) == [7]


@pytest.mark.django_db
def test_retention_zero_keeps_deliveries_and_events_and_events_keep_30_days_at_least(settings):
    session = CheckoutSessionFactory()
    old = NOW - datetime.timedelta(days=400)
    event = _event(session, 1, old)
    delivery = _delivery(event, DeliveryStatus.SUCCEEDED, old)
    _event(session, 2, NOW)
    settings.RETENTION_DELIVERIES_DAYS = 0
    settings.RETENTION_EVENTS_DAYS = 0

    assert retention_apply(now=NOW) == {retention.IDEMPOTENCY_RECORDS: 0, retention.WEBHOOK_DELIVERIES: 0,
                                        retention.EVENTS: 0}
    assert _exists(event) and _exists(delivery)

    settings.RETENTION_DELIVERIES_DAYS = 90
    settings.RETENTION_EVENTS_DAYS = 7  # below the events API's 30 days: 30 apply
    young = _event(CheckoutSessionFactory(organization=session.organization), 1, NOW - datetime.timedelta(days=10))
    _event(young.checkout_session, 2, NOW)
    retention_apply(now=NOW)
    assert not _exists(delivery) and not _exists(event) and _exists(young)


@pytest.mark.django_db
def test_retention_command_dry_run_counts_per_table_and_deletes_nothing():
    session = CheckoutSessionFactory()
    old = NOW - datetime.timedelta(days=200)
    for sequence in (1, 2, 3):
        _event(session, sequence, old)  # two go, the last stays
    _delivery(Event.objects.get(sequence=3), DeliveryStatus.FAILED, old)
    _created(IdempotencyRecordFactory(), IDEMPOTENCY_CUTOFF - SECOND)
    before = (Event.objects.count(), WebhookDelivery.objects.count(), IdempotencyRecord.objects.count())

    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)

    assert (Event.objects.count(), WebhookDelivery.objects.count(), IdempotencyRecord.objects.count()) == before
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("idempotency_records: 1 would be deleted (created before ")
    assert lines[1].startswith("webhook_deliveries: 1 would be deleted")
    # Events are counted as they stand: the third still has its delivery, so it is not counted.
    assert lines[2].startswith("events: 2 would be deleted")
    assert lines[2].endswith(", and those whose deliveries above were their last")
    assert lines[3] == "checkout_sessions: kept (no retention)"
    assert retention_counts() == {"idempotency_records": 1, "webhook_deliveries": 1, "events": 2,
                                  "checkout_sessions": None}

    call_command("retention", stdout=StringIO())
    assert (Event.objects.count(), WebhookDelivery.objects.count(), IdempotencyRecord.objects.count()) == (1, 0, 0)


@pytest.mark.django_db
def test_retention_apply_task_runs_the_service():
    from checkout.tasks import retention_apply as task

    record = _created(IdempotencyRecordFactory(), timezone.now() - datetime.timedelta(days=3))

    assert task.apply().get()[retention.IDEMPOTENCY_RECORDS] == 1
    assert not _exists(record)


@pytest.mark.django_db(transaction=True)
def test_retention_never_deletes_a_stale_claim_taken_over_while_it_runs():
    """A request takes over a stale claim (moving its created_at) while the purge runs: the
    purge skips the locked row instead of deleting the claim the request now holds."""
    record = _created(IdempotencyRecordFactory(), timezone.now() - datetime.timedelta(days=3))
    locked, purged = threading.Event(), threading.Event()

    def take_over():
        try:
            with transaction.atomic():
                taken = IdempotencyRecord.claim_held(record.pk, record.created_at).update(created_at=timezone.now())
                locked.set()
                purged.wait(timeout=5)  # a purge blocked on the row would wait for this commit
            return taken
        finally:
            connection.close()

    thread_result = []
    thread = threading.Thread(target=lambda: thread_result.append(take_over()))
    thread.start()
    assert locked.wait(timeout=10)
    deleted = retention_apply()[retention.IDEMPOTENCY_RECORDS]
    purged.set()
    thread.join(timeout=10)

    assert thread_result == [1]
    assert deleted == 0
    assert IdempotencyRecord.objects.filter(pk=record.pk, status=IdempotencyStatus.IN_PROGRESS).exists()
