"""Session state transitions that are not payment: cancel and expire.

Every transition is a compare-and-set on ``status`` inside one transaction, with its
outbox event written in the same transaction, so racing callers end in exactly one
outcome. Confirming and payments live in ``checkout.services.confirm``.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from checkout.enums import CancellationReason, EventType, SessionStatus
from checkout.errors import InvalidCancellationReason, SessionNotFound, SessionNotOpen
from checkout.models import CheckoutSession

from .events import event_record
from .expiry import checkout_sessions_expire_selected


@transaction.atomic
def checkout_session_expire(
    *, session_id, now: datetime | None = None, force: bool = False, organization_id=None,
    livemode: bool | None = None,
) -> bool:
    """Expire one open session. Returns True if this call expired it.

    Without ``force`` only a session past ``expires_at`` is expired (read-time expiry);
    with it (ops in admin) any open session is. Processing sessions never expire. With
    ``organization_id`` (a merchant's request) only that organization's session is touched,
    and with ``livemode`` (the merchant key's mode) only a session of that mode.
    """
    now = now or timezone.now()
    candidates = CheckoutSession.objects.select_for_update().filter(pk=session_id, status=SessionStatus.OPEN)
    if organization_id is not None:
        candidates = candidates.filter(organization_id=organization_id)
    if livemode is not None:
        candidates = candidates.filter(livemode=livemode)
    if not force:
        candidates = candidates.filter(expires_at__lte=now)
    # The sweep's own definition of expiring (status, recovery URL, the event), for one row.
    return checkout_sessions_expire_selected(candidates, now=now) == 1


def checkout_session_expire_now(*, session_id, organization_id=None, livemode: bool | None = None) -> CheckoutSession:
    """Expire an open session at once (merchant API, ops). Refused (``SessionNotOpen``) for
    any other status: processing money is never abandoned this way."""
    if checkout_session_expire(session_id=session_id, force=True, organization_id=organization_id,
                               livemode=livemode):
        return CheckoutSession.objects.get(pk=session_id)
    scope = {"pk": session_id}
    if organization_id is not None:
        scope["organization_id"] = organization_id
    if livemode is not None:
        scope["livemode"] = livemode
    session = CheckoutSession.objects.filter(**scope).first()
    if session is None:
        raise SessionNotFound()
    raise SessionNotOpen(f"The checkout session is {session.status} and cannot be expired.")


def checkout_session_expire_if_due(session: CheckoutSession, *, now: datetime | None = None) -> CheckoutSession:
    """Read-time expiry: a session past ``expires_at`` is expired the moment anyone reads it."""
    now = now or timezone.now()
    if session.status == SessionStatus.OPEN and session.expires_at <= now:
        checkout_session_expire(session_id=session.pk, now=now)
        session.refresh_from_db()
    return session


def checkout_session_cancel(
    *, organization_id, session_id, reason: str = CancellationReason.REQUESTED_BY_CUSTOMER, detail: str = "",
    livemode: bool | None = None,
) -> CheckoutSession:
    """Cancel an open session (customer on the page, merchant API or ops). ``livemode``: the
    merchant key's mode; a session of the other mode is not found."""
    if reason not in CancellationReason.values:
        raise InvalidCancellationReason(
            f"reason must be one of: {', '.join(CancellationReason.values)}.", field="reason"
        )
    now = timezone.now()
    # A session already past its expiry is expired, not cancelled. The expiry commits on
    # its own: the refusal below must not roll it (and its event) back.
    checkout_session_expire(session_id=session_id, now=now, organization_id=organization_id, livemode=livemode)
    return _cancel_open(organization_id, session_id, reason, detail, now, livemode)


@transaction.atomic
def _cancel_open(organization_id, session_id, reason: str, detail: str, now: datetime,
                 livemode: bool | None) -> CheckoutSession:
    scope = {"pk": session_id, "organization_id": organization_id}
    if livemode is not None:
        scope["livemode"] = livemode
    updated = CheckoutSession.objects.filter(**scope, status=SessionStatus.OPEN).update(
        status=SessionStatus.CANCELLED,
        cancelled_at=now,
        cancellation_reason=reason,
        cancellation_detail=detail[:500],
        updated_at=now,
    )
    session = CheckoutSession.objects.filter(**scope).first()
    if session is None:
        raise SessionNotFound()
    if not updated:
        raise SessionNotOpen(f"The checkout session is {session.status} and cannot be cancelled.")
    event_record(session=session, type=EventType.CANCELLED, data={"cancellation_reason": reason})
    return session
