"""Reads of checkout sessions. Reading applies expiry (a due session is expired on read).

The list is keyset-paginated, newest first: the cursor is the last row's ``(created_at, id)``,
opaque to callers (base64 JSON), so pages stay stable while new sessions are created, and each
page is one index range scan on ``session_org_created`` / ``session_org_status``.
"""

import base64
import binascii
import datetime
import json
import uuid
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from checkout.enums import SessionStatus
from checkout.errors import RequestInvalid, SessionNotFound
from checkout.models import CheckoutSession, Payment, PaymentSettings
from checkout.services.expiry import checkout_sessions_expire_among
from checkout.services.lifecycle import checkout_session_expire_if_due
from checkout.tokens import session_token_well_formed
from core.db import JoinedRowLoader

_BY_ID = JoinedRowLoader(CheckoutSession, by=("id", "organization"))


def checkout_session_get(*, organization_id, session_id, livemode: bool | None = None) -> CheckoutSession:
    """The organization's session, expired if due. Another tenant's id is not found, nor
    (with ``livemode``, a merchant key's mode) a session of the other mode."""
    session = _BY_ID.get(session_id, organization_id)
    if session is None or (livemode is not None and session.livemode != livemode):
        raise SessionNotFound()
    return checkout_session_expire_if_due(session)


_BY_TOKEN = JoinedRowLoader(CheckoutSession, ("business_entity", "customer", "plan"), by=("token",))


def checkout_session_get_by_token(*, token: str) -> CheckoutSession:
    """The session behind a hosted-page token (with its entity, customer and plan), expired
    if due. One fixed statement: compiling the ORM query cost more than running it."""
    session = _BY_TOKEN.get(token) if session_token_well_formed(token) else None
    if session is None:
        raise SessionNotFound()
    return checkout_session_expire_if_due(session)


def checkout_session_amendment_in_flight(*, organization_id, contract_id, exclude_id=None) -> bool:
    """Whether an amendment of the contract has a payment in flight (a ``processing``
    session). Reads through ``session_org_status``: only the organization's processing
    sessions, a handful, are looked at."""
    sessions = CheckoutSession.objects.filter(
        organization_id=organization_id, status=SessionStatus.PROCESSING, contract_id=contract_id
    )
    if exclude_id is not None:
        sessions = sessions.exclude(pk=exclude_id)
    return sessions.exists()


def payment_settings_get(*, organization_id, livemode: bool):
    """The organization's payment settings for a mode, or None (defaults apply)."""
    return PaymentSettings.objects.filter(organization_id=organization_id, livemode=livemode).first()


def checkout_session_payment_latest(session: CheckoutSession, status: str) -> Payment | None:
    """The session's most recent payment attempt in ``status`` (the page's pending or
    succeeded payment, the decline it explains)."""
    return session.payments.filter(status=status).order_by("-created_at").first()


@dataclass(frozen=True)
class Page:
    sessions: list[CheckoutSession]
    has_more: bool
    next_cursor: str | None


def cursor_encode(session: CheckoutSession) -> str:
    raw = json.dumps([session.created_at.isoformat(), str(session.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, session_id = json.loads(raw)
        created = datetime.datetime.fromisoformat(created_at)
        if created.tzinfo is None:
            raise ValueError("naive")
        return created, uuid.UUID(session_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise RequestInvalid(
            "The cursor is not one this API returned.", code="invalid_cursor", field="cursor"
        ) from None


def checkout_session_list(
    *,
    organization_id,
    livemode: bool,
    status: str | None = None,
    customer_id=None,
    checkout_type: str | None = None,
    created_gte=None,
    created_gt=None,
    created_lte=None,
    created_lt=None,
    limit: int = 20,
    cursor: str | None = None,
) -> Page:
    """One page of the organization's sessions of one mode. Status filters see read-time
    expiry: an open session past ``expires_at`` is listed (and shown) as expired."""
    now = timezone.now()
    qs = CheckoutSession.objects.filter(organization_id=organization_id, livemode=livemode)
    if status == SessionStatus.OPEN:
        qs = qs.filter(status=SessionStatus.OPEN, expires_at__gt=now)
    elif status == SessionStatus.EXPIRED:
        qs = qs.filter(
            Q(status=SessionStatus.EXPIRED) | Q(status=SessionStatus.OPEN, expires_at__lte=now)
        )
    elif status:
        qs = qs.filter(status=status)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if checkout_type:
        qs = qs.filter(checkout_type=checkout_type)
    for lookup, value in (
        ("gte", created_gte),
        ("gt", created_gt),
        ("lte", created_lte),
        ("lt", created_lt),
    ):
        if value is not None:
            qs = qs.filter(**{f"created_at__{lookup}": value})
    if cursor:
        created_at, session_id = cursor_decode(cursor)
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=session_id))

    rows = list(qs.order_by("-created_at", "-id")[: limit + 1])
    has_more = len(rows) > limit
    sessions = rows[:limit]
    due = [s.pk for s in sessions if s.status == SessionStatus.OPEN and s.expires_at <= now]
    if due:
        # Read-time expiry for the whole page at once, then its due rows read again (a
        # confirm may have won one of them meanwhile).
        checkout_sessions_expire_among(session_ids=due, now=now)
        fresh = CheckoutSession.objects.in_bulk(due)
        sessions = [fresh.get(s.pk, s) for s in sessions]
    return Page(
        sessions=sessions,
        has_more=has_more,
        next_cursor=cursor_encode(sessions[-1]) if has_more else None,
    )
