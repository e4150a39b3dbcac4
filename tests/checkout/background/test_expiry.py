"""The expiry sweep: exactly the due open sessions, once each, in batches."""

import datetime
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout import fastsql
from checkout.enums import EventType, SessionStatus
from checkout.models import CheckoutSession, Event
from checkout.sessions.events import event_record, session_event_data
from checkout.sessions.expiry import checkout_sessions_expire_due
from checkout.webhooks.outbox import events_dispatch_pending
from tests.checkout.factories import CheckoutSessionFactory
from tests.helpers import threads_run

from .conftest import requires_postgres

pytestmark = requires_postgres

PAST = datetime.timedelta(minutes=-5)
FUTURE = datetime.timedelta(hours=1)


def _events_by_session(type_=EventType.EXPIRED) -> Counter:
    return Counter(Event.objects.filter(type=type_).values_list("checkout_session_id", flat=True))


@pytest.fixture
def no_dispatch(monkeypatch):
    """Record the sweep's request for an outbox pass instead of queueing it."""
    calls = []
    monkeypatch.setattr("checkout.sessions.expiry.outbox_pass_request", lambda: calls.append(1))
    return calls


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "orm"])
@pytest.mark.django_db
def test_sweep_expires_exactly_the_due_open_sessions(sessions_bulk, use_sql, no_dispatch,
                                                      django_capture_on_commit_callbacks):
    now = timezone.now()
    due = sessions_bulk(7, expires_at=now + PAST)
    due += sessions_bulk(1, expires_at=now)  # due at the very instant
    not_yet = sessions_bulk(3, expires_at=now + FUTURE)
    untouchable = {
        status: sessions_bulk(2, expires_at=now + PAST, status=status)
        for status in (SessionStatus.PROCESSING, SessionStatus.COMPLETED, SessionStatus.CANCELLED)
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert checkout_sessions_expire_due(now=now, batch_size=3, use_sql=use_sql) == 8

    assert set(CheckoutSession.objects.filter(status=SessionStatus.EXPIRED).values_list("id", flat=True)) == set(due)
    assert set(CheckoutSession.objects.filter(pk__in=not_yet).values_list("status", flat=True)) == {"open"}
    for status, ids in untouchable.items():
        assert set(CheckoutSession.objects.filter(pk__in=ids).values_list("status", flat=True)) == {status}
    assert CheckoutSession.objects.filter(pk__in=due, expired_at=now).count() == 8
    assert _events_by_session() == Counter({session_id: 1 for session_id in due})
    assert no_dispatch == [1]  # one outbox pass for the whole sweep, not one task per event

    # Nothing left: a second sweep expires nothing and writes no event.
    with django_capture_on_commit_callbacks(execute=True):
        assert checkout_sessions_expire_due(now=now, use_sql=use_sql) == 0
    assert Event.objects.count() == 8
    assert no_dispatch == [1]


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "orm"])
@pytest.mark.django_db
def test_sweep_event_continues_session_sequence_with_session_payload(use_sql, no_dispatch):
    session = CheckoutSessionFactory(
        expires_at=timezone.now() + FUTURE,
        metadata={"order": "A-1", "nested": {"x": [1, 2]}},
        trace_id="trace-123",
        estimates={"current_invoice": {"subtotal": "12.50", "tax": "0.00", "total": "12.50", "amount_due": "12.50",
                                         "line_items": []}, "next_invoice": None},
    )
    with transaction.atomic():
        event_record(session=session, type=EventType.PAYMENT_FAILED)
        event_record(session=session, type=EventType.PAYMENT_FAILED)
    CheckoutSession.objects.filter(pk=session.pk).update(expires_at=timezone.now() + PAST)

    assert checkout_sessions_expire_due(use_sql=use_sql) == 1

    event = Event.objects.get(checkout_session=session, type=EventType.EXPIRED)
    assert event.sequence == 3
    assert event.organization_id == session.organization_id
    assert event.dispatched_at is None and event.payload == {}  # left for the outbox pass

    events_dispatch_pending(min_age_seconds=0)

    event.refresh_from_db()
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED
    # What the one-at-a-time path (event_record) writes: the session as the API shows it.
    assert event.payload == session_event_data(session)
    assert event.payload["object"]["estimates"]["current_invoice"]["total"] == "12.50"
    assert event.payload["object"]["status"] == "expired"
    assert event.payload["object"]["metadata"] == {"order": "A-1", "nested": {"x": [1, 2]}}


@pytest.mark.django_db
def test_swept_guest_session_event_object_keeps_its_nulls(no_dispatch):
    session = CheckoutSessionFactory(expires_at=timezone.now() + PAST, customer=None, plan=None,
                                     guest_checkout=True, customer_details={"customer_name": "G"}, estimates={})
    assert checkout_sessions_expire_due() == 1
    events_dispatch_pending(min_age_seconds=0)
    session.refresh_from_db()
    payload = Event.objects.get(checkout_session=session).payload
    assert payload == session_event_data(session)
    assert payload["object"]["customer_id"] is None and payload["object"]["estimates"] is None
    assert payload["object"]["customer"] == {"customer_name": "G"}


@pytest.mark.django_db
def test_sweep_queries_grow_with_batches_not_sessions(sessions_bulk, no_dispatch):
    now = timezone.now()
    sessions_bulk(20, expires_at=now + PAST)
    with CaptureQueriesContext(connection) as small:
        assert checkout_sessions_expire_due(now=now, batch_size=1000) == 20
    sessions_bulk(400, expires_at=now + PAST)
    with CaptureQueriesContext(connection) as large:
        assert checkout_sessions_expire_due(now=now, batch_size=1000) == 400
    assert len(large) == len(small) <= 4  # savepoint, SET LOCAL, the statement, release


@pytest.mark.django_db
def test_sweep_reads_through_partial_index():
    """The batch statement is served by ``session_open_expires_at`` (only open sessions,
    by due time), so its cost follows the due sessions, not the table."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN " + fastsql._EXPIRE_BATCH_SQL,
            {"open": "open", "expired": "expired", "type": EventType.EXPIRED, "now": timezone.now(),
             "written": timezone.now(), "limit": 100, "recovery_base": "https://pay.example/pay/"},
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "session_open_expires_at" in plan
    assert "LockRows" in plan


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_expire_each_session_once(sessions_bulk, no_dispatch):
    now = timezone.now()
    due = sessions_bulk(3000, expires_at=now + PAST)
    sessions_bulk(50, expires_at=now + FUTURE)

    results = threads_run(
        lambda: checkout_sessions_expire_due(now=now, batch_size=100),
        lambda: checkout_sessions_expire_due(now=now, batch_size=100),
        lambda: checkout_sessions_expire_due(now=now, batch_size=250, use_sql=False),
    )

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 3000
    assert CheckoutSession.objects.filter(status=SessionStatus.EXPIRED).count() == 3000
    per_session = _events_by_session()
    assert set(per_session) == set(due) and set(per_session.values()) == {1}
    duplicates = (Event.objects.values("checkout_session_id", "sequence").annotate(n=Count("id"))
                  .filter(n__gt=1))
    assert not duplicates.exists()


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_a_session_another_transaction_holds(sessions_bulk, no_dispatch):
    """A row locked by someone else (a confirm in progress) is skipped, not waited for."""
    import threading

    now = timezone.now()
    held, free = sessions_bulk(1, expires_at=now + PAST), sessions_bulk(4, expires_at=now + PAST)
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            CheckoutSession.objects.select_for_update().get(pk=held[0])
            locked.set()
            release.wait(10)

    def sweep():
        locked.wait(10)
        try:
            return checkout_sessions_expire_due(now=now)
        finally:
            release.set()

    assert threads_run(hold, sweep) == [None, 4]
    assert CheckoutSession.objects.get(pk=held[0]).status == SessionStatus.OPEN
    assert set(CheckoutSession.objects.filter(pk__in=free).values_list("status", flat=True)) == {"expired"}
    # The next sweep gets it.
    assert checkout_sessions_expire_due(now=now) == 1


@pytest.mark.django_db
def test_sweep_batches_commit_separately(sessions_bulk, no_dispatch):
    now = timezone.now()
    ids = sessions_bulk(10, expires_at=now + PAST)
    assert checkout_sessions_expire_due(now=now, batch_size=4, max_batches=2) == 8
    assert CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.OPEN).count() == 2


@pytest.mark.django_db
def test_expire_sessions_command(sessions_bulk, no_dispatch):
    sessions_bulk(5, expires_at=timezone.now() + PAST)
    sessions_bulk(2, expires_at=timezone.now() + FUTURE)
    out = StringIO()
    call_command("expire_sessions", "--batch-size", "2", stdout=out)
    assert out.getvalue().startswith("Expired 5 checkout session(s)")
    assert CheckoutSession.objects.filter(status=SessionStatus.EXPIRED).count() == 5


@pytest.mark.django_db
def test_sweep_time_budget_stops_between_batches(sessions_bulk, no_dispatch):
    now = timezone.now()
    ids = sessions_bulk(10, expires_at=now + PAST)
    assert checkout_sessions_expire_due(now=now, batch_size=3, time_budget_seconds=0) == 3
    assert CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.OPEN).count() == 7
