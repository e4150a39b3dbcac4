"""The demo's settle-later story: with PAYMENTS_AUTO_SETTLE off the session stays processing
until `manage.py settle_payments` runs."""

from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from billing.gateway import CARD_SETTLES_LATER, CardDetails
from billing.models import Contract
from checkout.enums import PaymentStatus, SessionStatus
from checkout.services.confirm import checkout_session_confirm

from .helpers import priced_session

pytestmark = pytest.mark.django_db


def pay_later(session, django_capture_on_commit_callbacks):
    with mock.patch("checkout.tasks.payment_settle.apply_async") as queued, \
            django_capture_on_commit_callbacks(execute=True):
        checkout_session_confirm(session_id=session.pk,
                                 card=CardDetails(CARD_SETTLES_LATER, exp_month=1, exp_year=2031, cvc="123"))
    return queued


def test_settle_later_without_auto_settle_stays_processing(settings, django_capture_on_commit_callbacks):
    settings.PAYMENTS_AUTO_SETTLE = False
    session = priced_session()
    queued = pay_later(session, django_capture_on_commit_callbacks)
    queued.assert_not_called()
    session.refresh_from_db()
    assert session.status == SessionStatus.PROCESSING


def test_settle_payments_command_completes_processing_sessions(settings, django_capture_on_commit_callbacks):
    settings.PAYMENTS_AUTO_SETTLE = False
    session = priced_session()
    pay_later(session, django_capture_on_commit_callbacks)
    out = StringIO()
    call_command("settle_payments", stdout=out)
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Contract.objects.count() == 1
    assert "Settled 1 payment(s)." in out.getvalue()
    # Idempotent: nothing left to settle.
    out = StringIO()
    call_command("settle_payments", stdout=out)
    assert "Settled 0 payment(s)." in out.getvalue() and Contract.objects.count() == 1
