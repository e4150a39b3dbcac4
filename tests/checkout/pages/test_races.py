"""Concurrency: real threads, real transactions (each thread has its own connection)."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from billing.enums import PaymentAttemptStatus
from billing.gateway import CARD_SETTLES_LATER
from billing.models import Contract, Invoice, Payment
from checkout.enums import CancellationReason, EventType, SessionStatus
from checkout.errors import SessionNotOpen, SessionNotProcessing
from checkout.services.confirm import (
    checkout_session_confirm,
    checkout_session_payment_resolve,
    payment_settle,
)
from checkout.services.lifecycle import checkout_session_cancel, checkout_session_expire
from checkout.sessions.expiry import checkout_sessions_expire_due
from tests.helpers import run_together

from .helpers import card, event_types, priced_session

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_20_concurrent_confirms_make_one_contract_one_invoice_one_charge():
    session = priced_session()

    results, errors = run_together(*[lambda: checkout_session_confirm(session_id=session.pk, card=card())] * 20)

    assert [r.outcome for r in results] == ["completed"]
    assert len(errors) == 19 and all(isinstance(e, SessionNotOpen) for e in errors), errors
    assert Contract.objects.count() == 1
    assert Invoice.objects.count() == 1
    assert Payment.objects.count() == 1
    assert Payment.objects.get().status == PaymentAttemptStatus.SUCCEEDED
    assert event_types(session) == [EventType.COMPLETED]
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED and session.contract_id == Contract.objects.get().pk


def test_concurrent_guest_confirms_make_one_customer():
    session = priced_session(guest=True)
    results, errors = run_together(*[lambda: checkout_session_confirm(session_id=session.pk, card=card())] * 10)
    assert len(results) == 1 and len(errors) == 9
    from customers.models import Customer

    assert Customer.objects.count() == 1


@pytest.mark.parametrize("round_", range(6))
def test_confirm_racing_the_expiry_sweep_ends_in_exactly_one_outcome(round_):
    expires_at = timezone.now() + datetime.timedelta(seconds=30)
    session = priced_session(expires_at=expires_at)
    clicked = expires_at - datetime.timedelta(milliseconds=1)  # the customer clicked just in time
    swept = expires_at + datetime.timedelta(milliseconds=1)  # the sweep ran just after

    confirms = [lambda: checkout_session_confirm(session_id=session.pk, card=card(), now=clicked)] * 4
    sweeps = [lambda: checkout_sessions_expire_due(now=swept)] * 2
    ordered = confirms + sweeps if round_ % 2 else sweeps + confirms
    with mock.patch("checkout.sessions.expiry.outbox_pass_request"):
        _results, errors = run_together(*ordered)

    assert all(isinstance(e, SessionNotOpen) for e in errors), errors
    session.refresh_from_db()
    types = event_types(session)
    if session.status == SessionStatus.COMPLETED:
        assert types == [EventType.COMPLETED]
        assert Contract.objects.count() == 1 and Invoice.objects.count() == 1
    else:
        assert session.status == SessionStatus.EXPIRED
        assert types == [EventType.EXPIRED]
        assert not Contract.objects.exists() and not Invoice.objects.exists() and not Payment.objects.exists()


@pytest.mark.parametrize("round_", range(4))
def test_confirm_racing_ops_expire_now_ends_in_exactly_one_outcome(round_):
    session = priced_session()
    results, errors = run_together(
        *[lambda: checkout_session_confirm(session_id=session.pk, card=card())] * 3,
        lambda: checkout_session_expire(session_id=session.pk, force=True),
    )
    session.refresh_from_db()
    types = event_types(session)
    assert len(types) == 1
    if session.status == SessionStatus.COMPLETED:
        assert types == [EventType.COMPLETED] and Contract.objects.count() == 1
        assert False in results  # the expire lost
    else:
        assert session.status == SessionStatus.EXPIRED and types == [EventType.EXPIRED]
        assert not Contract.objects.exists()
        assert len(errors) == 3


def test_confirm_racing_cancel_ends_in_exactly_one_outcome():
    session = priced_session()
    results, errors = run_together(
        *[lambda: checkout_session_confirm(session_id=session.pk, card=card())] * 3,
        lambda: checkout_session_cancel(organization_id=session.organization_id, session_id=session.pk,
                                        reason=CancellationReason.REQUESTED_BY_CUSTOMER),
    )
    session.refresh_from_db()
    types = event_types(session)
    assert len(types) == 1 and len(results) == 1
    assert all(isinstance(e, SessionNotOpen) for e in errors)
    assert Contract.objects.count() == (1 if session.status == SessionStatus.COMPLETED else 0)


def test_settle_task_racing_ops_mark_failed_ends_in_exactly_one_outcome():
    session = priced_session()
    with mock.patch("checkout.tasks.payment_settle.apply_async"):
        payment = checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER)).payment

    _results, errors = run_together(
        lambda: payment_settle(payment_id=payment.pk),
        lambda: checkout_session_payment_resolve(session_id=session.pk, succeeded=False),
    )

    assert all(isinstance(e, SessionNotProcessing) for e in errors)
    session.refresh_from_db()
    payment.refresh_from_db()
    types = event_types(session)
    assert types[0] == EventType.PROCESSING and len(types) == 2
    if session.status == SessionStatus.COMPLETED:
        assert payment.status == PaymentAttemptStatus.SUCCEEDED and Contract.objects.count() == 1
    else:
        assert session.status == SessionStatus.OPEN and payment.status == PaymentAttemptStatus.FAILED
        assert not Contract.objects.exists()


@pytest.mark.parametrize("round_", range(3))
def test_two_customers_racing_for_a_codes_last_redemption_one_wins(round_):
    from billing.errors import PromotionCodeUsedUp
    from billing.models import CouponRedemption
    from checkout.services.discounts import checkout_session_promotion_code_apply
    from tests.billing.factories import PromotionCodeFactory

    first = priced_session(allow_promotion_codes=True)
    second = priced_session(organization=first.organization, allow_promotion_codes=True)
    code = PromotionCodeFactory(coupon__organization=first.organization, code="LAST1", coupon__max_redemptions=1)
    for session in (first, second):
        checkout_session_promotion_code_apply(session_id=session.pk, code="LAST1")

    results, errors = run_together(
        lambda: checkout_session_confirm(session_id=first.pk, card=card()),
        lambda: checkout_session_confirm(session_id=second.pk, card=card()),
    )

    assert [r.outcome for r in results] == ["completed"]
    assert len(errors) == 1 and isinstance(errors[0], PromotionCodeUsedUp), errors
    assert "used for the last time" in errors[0].message
    code.coupon.refresh_from_db()
    assert code.coupon.times_redeemed == 1
    assert CouponRedemption.objects.count() == 1 and Contract.objects.count() == 1
    assert Invoice.objects.count() == 1 and Payment.objects.count() == 1
    loser = second if results[0].session.pk == first.pk else first
    loser.refresh_from_db()
    assert loser.status == SessionStatus.OPEN and not loser.payments.exists()
