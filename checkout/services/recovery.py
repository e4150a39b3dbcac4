"""Recovering an expired session: its recovery URL opens a new session with the same terms,
priced on the day it is opened (today's catalogue, today's start at the earliest)."""

from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from checkout.enums import SessionStatus
from checkout.errors import SessionNotFound
from checkout.models import CheckoutSession
from checkout.selectors import checkout_session_recovery_bought
from checkout.sessions.terms import SessionTerms
from checkout.sessions.transitions import session_locked

from .create import checkout_session_build


def checkout_session_recover(*, session_id, terms: SessionTerms) -> CheckoutSession:
    """The open session recovering expired session ``session_id``: the one made earlier if it is
    still open and unexpired (a second click, a second tab), else a new one on ``terms`` (the
    expired session's, as they stand today, validated exactly as a create is).
    Under the expired session's row lock, so two clicks make one new session. Raises
    ``SessionNotFound`` unless the session expired with recovery enabled.

    A recovery that already bought (completed, or its payment settling) is returned as it is:
    the same link must not sell the same subscription twice."""
    now = timezone.now()
    with transaction.atomic():
        expired = session_locked(session_id=session_id, related=("organization",))
        if expired.status != SessionStatus.EXPIRED or not expired.recovery_enabled:
            raise SessionNotFound()
        bought = checkout_session_recovery_bought(session_id=expired.pk)
        if bought is not None:
            return bought
        earlier = (CheckoutSession.objects.filter(recovered_from=expired, status=SessionStatus.OPEN,
                                                  expires_at__gt=now).order_by("-created_at").first())
        if earlier is not None:
            return earlier
        session = checkout_session_build(organization=expired.organization, livemode=expired.livemode,
                                         terms=replace(terms, trace_id=expired.trace_id))
        session.recovered_from = expired
        session.recovery_enabled = True
        session.save(force_insert=True)
        return session
