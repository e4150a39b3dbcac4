"""Session state transitions that are not payment: cancel and expire.

Each is one transaction through ``checkout.sessions.transitions``: the row lock, the one
decision about an open session (a due one is expired and refused), and a compare-and-set
with its outbox event. Confirming and payments live in ``checkout.services.confirm``.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from checkout.enums import CancellationReason, EventType, SessionStatus
from checkout.errors import InvalidCancellationReason, SessionNotOpen
from checkout.models import CheckoutSession
from checkout.sessions.expiry import session_due, session_expire_locked
from checkout.sessions.transitions import session_lock_open, session_locked, session_transition


@transaction.atomic
def checkout_session_expire(
    *, session_id, now: datetime | None = None, force: bool = False, organization_id=None,
    livemode: bool | None = None,
) -> bool:
    """Expire one open session. Returns True if this call expired it.

    Without ``force`` only a session past ``expires_at`` is expired (read-time expiry);
    with it (ops in admin, the merchant's "expire now") any open session is. Processing
    sessions never expire. With ``organization_id`` / ``livemode`` (a merchant's key) only a
    session of that organization and mode is touched (else ``SessionNotFound``)."""
    now = now or timezone.now()
    session = session_locked(session_id=session_id, organization_id=organization_id, livemode=livemode)
    if session.status != SessionStatus.OPEN or not (force or session_due(session, now)):
        return False
    return session_expire_locked(session, now=now)


def checkout_session_expire_now(*, session_id, organization_id=None, livemode: bool | None = None) -> CheckoutSession:
    """Expire an open session at once (merchant API, ops). Refused (``SessionNotOpen``) for
    any other status: processing money is never abandoned this way."""
    with transaction.atomic():
        session = session_locked(session_id=session_id, organization_id=organization_id, livemode=livemode)
        if session.status != SessionStatus.OPEN:
            raise SessionNotOpen(f"The checkout session is {session.status} and cannot be expired.")
        session_expire_locked(session, now=timezone.now())
    return session


def checkout_session_cancel(
    *, organization_id, session_id, reason: str = CancellationReason.REQUESTED_BY_CUSTOMER, detail: str = "",
    livemode: bool | None = None,
) -> CheckoutSession:
    """Cancel an open session (customer on the page, merchant API or ops). ``livemode``: the
    merchant key's mode; a session of the other mode is not found. A session already past its
    expiry is expired, not cancelled (``SessionExpired``, a ``SessionNotOpen``)."""
    if reason not in CancellationReason.values:
        raise InvalidCancellationReason(
            f"reason must be one of: {', '.join(CancellationReason.values)}.", field="reason"
        )
    now = timezone.now()
    with session_lock_open(session_id=session_id, now=now, organization_id=organization_id, livemode=livemode,
                           action="cancelled", expired_as_not_open=True) as session:
        session_transition(session, status=SessionStatus.CANCELLED, cancelled_at=now, cancellation_reason=reason,
                           cancellation_detail=detail[:500], event=EventType.CANCELLED,
                           data={"cancellation_reason": reason})
    return session
