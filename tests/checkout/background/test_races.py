"""A confirm racing the sweep ends in exactly one state: whoever holds the session row
decides, the other one backs off (the sweep skips, the confirm is refused)."""

import datetime
import threading
import time
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from billing.gateway import TestPaymentProvider
from billing.models import Contract
from checkout.enums import EventType, SessionStatus
from checkout.errors import SessionNotOpen
from checkout.services.confirm import checkout_session_confirm
from checkout.sessions.expiry import checkout_sessions_expire_due
from tests.checkout.pages.helpers import card, priced_session
from tests.checkout.pages.helpers import event_types as _types
from tests.helpers import threads_run

from .conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("checkout.sessions.expiry.outbox_pass_request"), \
            mock.patch("checkout.tasks.events_dispatch.apply_async"):
        yield


@pytest.fixture
def due_soon():
    """A priced session expiring in a moment; the customer clicks just before, the sweep
    runs just after."""
    expires_at = timezone.now() + datetime.timedelta(seconds=30)
    session = priced_session(expires_at=expires_at)
    clicked = expires_at - datetime.timedelta(milliseconds=1)
    swept = expires_at + datetime.timedelta(milliseconds=1)
    return session, clicked, swept


def test_confirm_holding_the_row_wins_and_sweep_skips_it(due_soon):
    session, clicked, swept = due_soon
    charging, release = threading.Event(), threading.Event()
    charge = TestPaymentProvider.charge

    def slow_charge(self, request):
        charging.set()  # the confirm holds the session row now
        release.wait(10)
        return charge(self, request)

    def sweep():
        charging.wait(10)
        try:
            return checkout_sessions_expire_due(now=swept)
        finally:
            release.set()

    with mock.patch.object(TestPaymentProvider, "charge", slow_charge):
        confirmed, swept_count = threads_run(
            lambda: checkout_session_confirm(session_id=session.pk, card=card(), now=clicked), sweep
        )

    assert swept_count == 0  # skipped, not waited for
    assert confirmed.outcome == "completed"
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert _types(session) == [EventType.COMPLETED]
    # Later sweeps leave a completed session alone.
    assert checkout_sessions_expire_due(now=swept + datetime.timedelta(hours=1)) == 0
    assert _types(session) == [EventType.COMPLETED]


def test_sweep_holding_the_row_wins_and_confirm_is_refused(due_soon):
    session, clicked, swept = due_soon
    expired_uncommitted = threading.Event()

    def sweep():
        with transaction.atomic():  # keep the batch's row lock a little longer
            count = checkout_sessions_expire_due(now=swept)
            expired_uncommitted.set()
            time.sleep(0.5)
        return count

    def confirm():
        expired_uncommitted.wait(10)
        started = time.monotonic()
        try:
            return checkout_session_confirm(session_id=session.pk, card=card(), now=clicked)
        except SessionNotOpen as refused:
            return refused, time.monotonic() - started

    swept_count, (refused, waited) = threads_run(sweep, confirm)

    assert swept_count == 1
    assert isinstance(refused, SessionNotOpen) and refused.code == "checkout_session_expired"
    assert waited >= 0.3  # it waited for the sweep's lock rather than reading stale state
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED
    assert _types(session) == [EventType.EXPIRED]
    assert not Contract.objects.exists()
