"""How a checkout session changes: one lock, one decision, one compare-and-set.

Every writer of a session (confirm, settle, cancel, expire, update, promotion codes,
recovery) goes through here, so the rules are written once:

- ``session_locked``: the row lock (``SELECT … FOR UPDATE`` of the session). Every write
  path takes it first, then whatever else it locks (the contract, coupons), so two writers
  never wait on each other in opposite orders.
- ``session_lock_open``: the one answer to "may this session still change?". An open
  session not yet due is the caller's, inside the transaction; one past ``expires_at`` is
  expired right there (committed, with its event) and refused with ``SessionExpired``;
  anything else is refused with ``SessionNotOpen``.
- ``session_transition``: how a change ends: a compare-and-set on ``status`` (the row is
  locked too: belt and braces) with ``updated_at``, mirrored on the instance, and the
  outbox event in the same statement (``checkout.fastsql.session_transition_write``), its
  dispatch queued on commit.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Payment
from checkout import fastsql
from checkout.enums import EventType, SessionStatus
from checkout.errors import SessionExpired, SessionNotFound, SessionNotOpen
from checkout.models import CheckoutSession, Event

from .events import event_dispatch_on_commit, session_event_data
from .expiry import session_due, session_expire_locked


def session_locked(*, session_id, organization_id=None, livemode: bool | None = None,
                   related: tuple[str, ...] = (), payment_attempts: bool = False) -> CheckoutSession:
    """The session, row-locked until the transaction ends, with its ``related`` rows (read,
    not locked). ``organization_id`` / ``livemode``: a merchant key's scope (another tenant's
    or mode's session is not found). ``payment_attempts``: also count its payments, in the
    same statement (a card confirm's gateway key). Raises ``SessionNotFound``."""
    sessions = CheckoutSession.objects.select_for_update(of=("self",)).select_related(*related)
    if organization_id is not None:
        sessions = sessions.filter(organization_id=organization_id)
    if livemode is not None:
        sessions = sessions.filter(livemode=livemode)
    if payment_attempts:
        attempts = (Payment.objects.filter(checkout_session=OuterRef("pk")).order_by()
                    .values("checkout_session").annotate(n=Count("pk")).values("n"))
        sessions = sessions.annotate(payment_attempts=Coalesce(Subquery(attempts, output_field=IntegerField()), 0))
    session = sessions.filter(pk=session_id).first()
    if session is None:
        raise SessionNotFound()
    return session


@contextmanager
def session_lock_open(*, session_id, now: datetime | None = None, organization_id=None,
                      livemode: bool | None = None, related: tuple[str, ...] = (),
                      payment_attempts: bool = False, action: str = "changed",
                      expired_as_not_open: bool = False) -> Iterator[CheckoutSession]:
    """Inside one transaction, the open session, locked (``session_locked``'s arguments).

    A session past ``expires_at`` is expired here and the expiry commits before the refusal
    is raised: a late confirm, cancel or update is refused exactly as a read would show the
    session, and leaves it expired. An expired session is refused with ``SessionExpired``
    (``expired_as_not_open``: with ``SessionNotOpen``, as cancelling answers), any other
    state than open with ``SessionNotOpen`` ("… is completed and cannot be ``action``.")."""
    now = now or timezone.now()
    with transaction.atomic():
        session = session_locked(session_id=session_id, organization_id=organization_id, livemode=livemode,
                                 related=related, payment_attempts=payment_attempts)
        due = session_due(session, now)
        if due:
            session_expire_locked(session, now=now)
        elif session.status != SessionStatus.OPEN:
            raise _refusal(session, action, expired_as_not_open)
        else:
            yield session
    if due:
        raise _refusal(session, action, expired_as_not_open)


def _refusal(session: CheckoutSession, action: str, expired_as_not_open: bool) -> SessionNotOpen:
    if session.status == SessionStatus.EXPIRED and not expired_as_not_open:
        return SessionExpired()
    return SessionNotOpen(f"The checkout session is {session.status} and cannot be {action}.")


def session_transition(session: CheckoutSession, *, expected: str = SessionStatus.OPEN,
                       event: EventType | None = None, data: dict | None = None, **changes) -> None:
    """Write ``changes`` (and ``updated_at``) if the session's status is still ``expected``,
    mirror them on ``session``, and with ``event`` append that event (the session as it now
    stands, then ``data``) in the same statement. Call with the row locked
    (``session_locked``): the compare-and-set then cannot fail, and if it does (a database
    without row locks) ``SessionNotOpen`` undoes the transaction."""
    changes["updated_at"] = timezone.now()
    for name, value in changes.items():
        setattr(session, name, value)
    row = None
    if event is not None:
        row = Event(organization_id=session.organization_id, checkout_session_id=session.pk, type=event,
                    livemode=session.livemode, payload=session_event_data(session, data),
                    created_at=changes["updated_at"], updated_at=changes["updated_at"])
    if not fastsql.session_transition_write(session_id=session.pk, expected=expected, changes=changes, event=row):
        raise SessionNotOpen("The checkout session changed while it was being changed here.")
    if row is not None:
        event_dispatch_on_commit(row)
