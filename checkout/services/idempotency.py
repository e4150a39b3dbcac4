"""Idempotent creates: one (organization, key) row, claimed before the work, completed with it.

The protocol:

1. **Claim** — ``INSERT … ON CONFLICT DO NOTHING`` in its own (auto)commit, so a concurrent
   duplicate sees the claim at once. The loser reads the row: another fingerprint → 422
   ``idempotency_key_reused``; completed → replay the stored bytes; still running → 409
   ``idempotency_key_in_use``.
2. **Work + complete** — the session row and the stored response are written by one SQL
   statement, so a committed session always has its response stored (no second session on a
   retry, whatever crashes when).
3. **Release** — if the work fails (validation, a broken rule, a bug), the claim is deleted:
   failures are not stored and a fixed request may reuse the key.

A claim left behind by a killed worker is taken over after ``STALE_AFTER``; the takeover
changes ``created_at``, which the original holder's completing statement checks under the
row lock, so at most one of them inserts a session.
"""

import datetime
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.utils import timezone

from checkout.enums import IdempotencyStatus
from checkout.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from checkout.models import CheckoutSession, IdempotencyRecord
from core.db import hand_written_sql_supported, prepared_cursor

logger = logging.getLogger(__name__)

# Longer than any request may run (gunicorn's timeout is 30 s).
STALE_AFTER = datetime.timedelta(seconds=120)
MIN_TTL_HOURS = 24  # PRODUCT.md: keys are kept at least 24 hours
PURGE_BATCH = 5000


@dataclass(frozen=True)
class Claim:
    record_id: int
    claimed_at: datetime.datetime


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    replayed: bool


def idempotency_fingerprint(payload: Any) -> str:
    """sha256 of the canonical JSON of ``payload`` (sorted keys, no whitespace): the same
    request body written with other key order or spacing has the same fingerprint."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert_claim(
    *, organization_id, key: str, fingerprint: str, now: datetime.datetime
) -> int | None:
    if not hand_written_sql_supported():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organization_id=organization_id, key=key, request_fingerprint=fingerprint,
                    status=IdempotencyStatus.IN_PROGRESS,
                )
        except IntegrityError:
            return None
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=now)
        return record.pk
    table = IdempotencyRecord._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, key, request_fingerprint, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (organization_id, key) DO NOTHING RETURNING id",
            [organization_id, key, fingerprint, IdempotencyStatus.IN_PROGRESS, now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def idempotency_claim(*, organization_id, key: str, fingerprint: str) -> Claim | Outcome:
    """Claim ``key`` for this request, or return the stored outcome to replay.

    Raises ``IdempotencyKeyReused`` (422) or ``IdempotencyKeyInUse`` (409).
    """
    for _ in range(3):
        now = timezone.now()
        record_id = _insert_claim(
            organization_id=organization_id, key=key, fingerprint=fingerprint, now=now
        )
        if record_id is not None:
            return Claim(record_id=record_id, claimed_at=now)

        record = (
            IdempotencyRecord.objects.filter(organization_id=organization_id, key=key)
            .only(
                "id",
                "request_fingerprint",
                "status",
                "response_status",
                "response_body",
                "created_at",
            )
            .first()
        )
        if record is None:
            continue  # released between our insert and read: claim again
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused(field="idempotency_key")
        if record.status == IdempotencyStatus.COMPLETED:
            return Outcome(
                status=record.response_status, body=bytes(record.response_body), replayed=True
            )
        if now - record.created_at > STALE_AFTER:
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, created_at=record.created_at
            ).update(created_at=now)
            if taken:
                logger.warning("took over stale idempotency claim %s", record.pk)
                return Claim(record_id=record.pk, claimed_at=now)
            continue
        raise IdempotencyKeyInUse(field="idempotency_key")
    raise IdempotencyKeyInUse(field="idempotency_key")


def idempotency_session_insert(
    claim: Claim, session: CheckoutSession, *, render: Callable[[CheckoutSession], bytes]
) -> bytes:
    """Insert ``session`` and complete ``claim`` with its rendered response, in ONE statement.

    A single statement is atomic on its own (no BEGIN/COMMIT round trips): the ``UPDATE`` in
    the CTE completes the claim only if we still hold it (locking the row), and the ``INSERT``
    runs only if it did. A claim taken over meanwhile inserts nothing and answers 409.
    """
    if not hand_written_sql_supported():
        return _session_insert_orm(claim, session, render)
    now = timezone.now()
    session.created_at = session.updated_at = now
    body = render(session)
    fields, sql = _session_insert_sql()
    params = [
        IdempotencyStatus.COMPLETED,
        201,
        body,
        session.pk,
        claim.record_id,
        IdempotencyStatus.IN_PROGRESS,
        claim.claimed_at,
    ]
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: one look-up instead of one per field
    for field, passthrough in zip(fields, _passthrough_types(), strict=True):
        value = getattr(session, field.attname)
        # A str for a CharField, a bool for a BooleanField, None for a date: get_db_prep_save
        # would hand back the value itself, after a few calls.
        params.append(
            value if type(value) in passthrough else field.get_db_prep_save(value, connection=db)
        )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone()
    if inserted is None:
        # Our claim went stale and another request took it over.
        raise IdempotencyKeyInUse(field="idempotency_key")
    session._state.adding = False
    session._state.db = connection.alias
    return body


def _session_insert_orm(claim: Claim, session: CheckoutSession, render: Callable[[CheckoutSession], bytes]) -> bytes:
    """The same outcome in a transaction, for databases other than PostgreSQL (the demo).
    Rendered after the save, which sets ``created_at``/``updated_at`` itself (auto_now), so
    the stored response shows the timestamps the row has."""
    with transaction.atomic():
        session.save(force_insert=True)
        body = render(session)
        taken = IdempotencyRecord.objects.filter(
            pk=claim.record_id, status=IdempotencyStatus.IN_PROGRESS, created_at=claim.claimed_at
        ).update(status=IdempotencyStatus.COMPLETED, response_status=201, response_body=body,
                 checkout_session_id=session.pk)
        if not taken:
            transaction.set_rollback(True)
    if not taken:
        raise IdempotencyKeyInUse(field="idempotency_key")
    return body


@cache
def _session_insert_sql() -> tuple[tuple, str]:
    fields = tuple(CheckoutSession._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # INSERT … SELECT does not type parameters from the target columns: cast each one.
    values = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in fields)
    sql = (
        f"WITH claim AS (UPDATE {quote(IdempotencyRecord._meta.db_table)}"
        " SET status = %s, response_status = %s, response_body = %s, checkout_session_id = %s"
        " WHERE id = %s AND status = %s AND created_at = %s RETURNING id)"
        f" INSERT INTO {quote(CheckoutSession._meta.db_table)} ({columns}) SELECT {values} FROM claim"
        f" RETURNING {quote(CheckoutSession._meta.pk.column)}"
    )
    return fields, sql


@cache
def _passthrough_types() -> tuple[frozenset, ...]:
    """Per insert column: the value types ``get_db_prep_save`` returns unchanged (exact field
    classes only: a subclass may prepare values its own way)."""
    by_class = {
        models.CharField: frozenset({str, type(None)}),
        models.BooleanField: frozenset({bool}),
        models.DateTimeField: frozenset({type(None)}),
        models.DateField: frozenset({type(None)}),
    }
    return tuple(by_class.get(type(f), frozenset()) for f in _session_insert_sql()[0])


def idempotency_release(claim: Claim) -> None:
    IdempotencyRecord.objects.filter(
        pk=claim.record_id, status=IdempotencyStatus.IN_PROGRESS, created_at=claim.claimed_at
    ).delete()


def idempotent_create(
    *,
    organization_id,
    key: str | None,
    fingerprint: str,
    create: Callable[[Callable[[CheckoutSession], None] | None], CheckoutSession],
    render: Callable[[CheckoutSession], bytes],
) -> Outcome:
    """Create a session once per (organization, key) and answer with its rendered response.

    ``create(insert)`` builds and validates the session and hands it to ``insert`` (None: save
    it normally). With a key, ``insert`` writes the session and its stored response together.
    """
    if key is None:
        session = create(None)
        return Outcome(status=201, body=render(session), replayed=False)

    claimed = idempotency_claim(organization_id=organization_id, key=key, fingerprint=fingerprint)
    if isinstance(claimed, Outcome):
        return claimed
    stored: list[bytes] = []
    try:
        create(
            lambda session: stored.append(
                idempotency_session_insert(claimed, session, render=render)
            )
        )
    except BaseException:
        try:
            idempotency_release(claimed)
        except Exception:  # the claim goes stale and is taken over after STALE_AFTER
            logger.exception("could not release idempotency claim %s", claimed.record_id)
        raise
    return Outcome(status=201, body=stored[0], replayed=False)


def idempotency_records_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete records older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (never less than 24 h), in
    batches so no single statement holds many locks. Returns how many were deleted."""
    now = now or timezone.now()
    hours = max(MIN_TTL_HOURS, settings.IDEMPOTENCY_KEY_TTL_HOURS)
    cutoff = now - datetime.timedelta(hours=hours)
    total = 0
    while True:
        batch = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not batch:
            return total
        deleted, _ = IdempotencyRecord.objects.filter(pk__in=batch).delete()
        total += deleted
