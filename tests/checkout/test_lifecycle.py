import datetime

import pytest
from django.utils import timezone

from billing.gateway import CARD_SUCCEEDS, CardDetails
from checkout.enums import EventType, SessionStatus
from checkout.errors import InvalidCancellationReason, SessionNotFound, SessionNotOpen
from checkout.models import Event
from checkout.services.confirm import checkout_session_confirm
from checkout.services.lifecycle import checkout_session_cancel, checkout_session_expire
from tests.checkout.factories import CheckoutSessionFactory


@pytest.mark.django_db
def test_cancel_open_session_records_reason_and_one_event():
    session = CheckoutSessionFactory()
    result = checkout_session_cancel(
        organization_id=session.organization_id, session_id=session.id, reason="duplicate", detail="dup of #12"
    )
    assert (result.status, result.cancellation_reason, result.cancellation_detail) == (
        SessionStatus.CANCELLED, "duplicate", "dup of #12")
    assert list(Event.objects.filter(checkout_session=session).values_list("type", "sequence")) == [
        (EventType.CANCELLED, 1)]


@pytest.mark.django_db
def test_cancel_due_session_is_refused_and_the_expiry_sticks():
    session = CheckoutSessionFactory(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(SessionNotOpen):
        checkout_session_cancel(organization_id=session.organization_id, session_id=session.id)
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED
    assert list(Event.objects.filter(checkout_session=session).values_list("type", flat=True)) == [
        EventType.EXPIRED]


@pytest.mark.django_db
def test_cancel_other_tenants_session_is_not_found(other_organization):
    session = CheckoutSessionFactory()
    with pytest.raises(SessionNotFound):
        checkout_session_cancel(organization_id=other_organization.id, session_id=session.id)
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


@pytest.mark.django_db
def test_cancel_unknown_reason_is_refused():
    session = CheckoutSessionFactory()
    with pytest.raises(InvalidCancellationReason):
        checkout_session_cancel(organization_id=session.organization_id, session_id=session.id, reason="bored")


@pytest.mark.django_db
def test_expire_skips_sessions_not_due_unless_forced_and_never_processing():
    session = CheckoutSessionFactory()
    assert checkout_session_expire(session_id=session.id) is False
    assert checkout_session_expire(session_id=session.id, force=True) is True
    assert checkout_session_expire(session_id=session.id, force=True) is False
    processing = CheckoutSessionFactory(status=SessionStatus.PROCESSING,
                                        expires_at=timezone.now() - datetime.timedelta(hours=1))
    assert checkout_session_expire(session_id=processing.id, force=True) is False
    assert Event.objects.filter(type=EventType.EXPIRED).count() == 1


@pytest.mark.django_db
def test_confirm_by_another_tenant_does_not_expire_a_due_session():
    session = CheckoutSessionFactory(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    other = CheckoutSessionFactory()
    with pytest.raises(SessionNotFound):
        checkout_session_confirm(session_id=session.pk, organization_id=other.organization_id,
                                 card=CardDetails(CARD_SUCCEEDS, exp_month=1, exp_year=2031, cvc="123"))
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
    assert not Event.objects.filter(checkout_session=session).exists()
