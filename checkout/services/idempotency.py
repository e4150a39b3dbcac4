"""Idempotent creates: one (organization, mode, key) row, claimed before the work, completed with it.

The protocol:

1. **Claim** — ``INSERT … ON CONFLICT DO NOTHING`` in its own (auto)commit, so a concurrent
   duplicate sees the claim at once. The loser reads the row: another fingerprint → 422
   ``idempotency_key_reused``; completed → replay the stored bytes; still running → 409
   ``idempotency_key_in_use``.
2. **Work + complete** — the session row and the stored response are written together
   (``checkout.fastsql.session_insert_completing_claim``: one SQL statement on PostgreSQL),
   so a committed session always has its response stored (no second session on a retry,
   whatever crashes when).
3. **Release** — if the work fails (validation, a broken rule, a bug), the claim is deleted:
   failures are not stored and a fixed request may reuse the key.

``idempotency_key_held`` is the protocol as one ``with`` block around the create's work.
``idempotency_call`` is the same protocol around any other write (confirm, cancel, expire,
webhook endpoints, billing's writes): the operation runs, then its outcome completes the claim.
Its fingerprint (``idempotency_operation_fingerprint``) names the operation and its target, so
one key sent to two operations, or to one operation on two objects, is ``idempotency_key_reused``.

A claim left behind by a killed worker is taken over after ``STALE_AFTER``; the takeover
changes ``created_at``, which the original holder's completing statement checks under the
row lock, so at most one of them inserts a session.
"""

import datetime
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from checkout import fastsql
from checkout.enums import IdempotencyStatus
from checkout.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from checkout.models import CheckoutSession, IdempotencyRecord
from checkout.representation import checkout_session_body
from checkout.services import retention

logger = logging.getLogger(__name__)

# Longer than any request may run (gunicorn's timeout is 30 s).
STALE_AFTER = datetime.timedelta(seconds=120)
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


def idempotency_claim(*, organization_id, livemode: bool, key: str, fingerprint: str) -> Claim | Outcome:
    """Claim ``key`` for this request, or return the stored outcome to replay.

    Raises ``IdempotencyKeyReused`` (422) or ``IdempotencyKeyInUse`` (409).
    """
    for _ in range(3):
        now = timezone.now()
        record_id = fastsql.idempotency_claim_insert(
            organization_id=organization_id, livemode=livemode, key=key, fingerprint=fingerprint, now=now
        )
        if record_id is not None:
            return Claim(record_id=record_id, claimed_at=now)

        record = (
            IdempotencyRecord.objects.filter(organization_id=organization_id, livemode=livemode, key=key)
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
            taken = IdempotencyRecord.claim_held(record.pk, record.created_at).update(created_at=now)
            if taken:
                logger.warning("took over stale idempotency claim %s", record.pk)
                return Claim(record_id=record.pk, claimed_at=now)
            continue
        raise IdempotencyKeyInUse(field="idempotency_key")
    raise IdempotencyKeyInUse(field="idempotency_key")


def idempotency_release(claim: Claim) -> None:
    IdempotencyRecord.claim_held(claim.record_id, claim.claimed_at).delete()


class Held:
    """What a create holds inside ``idempotency_key_held``: the stored outcome to replay, or
    the right to insert its session once."""

    def __init__(self, claim: Claim | None, replay: Outcome | None):
        self.claim = claim
        self.replay = replay
        self.outcome = replay  # what to answer, once there is an answer

    def insert(self, session: CheckoutSession) -> Outcome:
        """Save ``session`` and answer with its 201 (the session's JSON). Holding a claim, the
        session and the stored response are written together (``checkout.fastsql``), rendered
        with the row's own timestamps; a claim taken over meanwhile (it went stale) writes
        nothing and raises ``IdempotencyKeyInUse``."""
        assert self.outcome is None, "a held key inserts one session"
        if self.claim is None:
            session.save(force_insert=True)
            self.outcome = Outcome(status=201, body=checkout_session_body(session), replayed=False)
            return self.outcome
        session.created_at = session.updated_at = timezone.now()
        body = checkout_session_body(session)
        if not fastsql.session_insert_completing_claim(
            record_id=self.claim.record_id, claimed_at=self.claim.claimed_at, session=session, body=body
        ):
            raise IdempotencyKeyInUse(field="idempotency_key")
        self.outcome = Outcome(status=201, body=body, replayed=False)
        return self.outcome

    def complete(self, *, status: int, body: bytes) -> Outcome:
        """Store the outcome of a write that is already done (``idempotency_call``). A claim
        taken over meanwhile (it went stale) stores nothing; the work happened, so its
        outcome is still this request's answer."""
        assert self.outcome is None, "a held key completes once"
        if self.claim is not None:
            stored = IdempotencyRecord.claim_held(self.claim.record_id, self.claim.claimed_at).update(
                status=IdempotencyStatus.COMPLETED, response_status=status, response_body=body
            )
            if not stored:
                logger.warning("idempotency claim %s was taken over before it completed", self.claim.record_id)
        self.outcome = Outcome(status=status, body=body, replayed=False)
        return self.outcome


@contextmanager
def idempotency_key_held(*, organization_id, livemode: bool, key: str | None, fingerprint: str) -> Iterator[Held]:
    """Hold ``key`` (None: no key, nothing held) in the organization's test or live namespace
    for one create. Inside, either ``held.replay`` is the stored outcome to answer again, or
    the block builds its session and ``held.insert``s it. A block that raises, or ends without
    inserting, releases the claim: failures are not stored, and a fixed request may reuse the
    key.

    Raises ``IdempotencyKeyReused`` (422) or ``IdempotencyKeyInUse`` (409) on entry."""
    if key is None:
        yield Held(claim=None, replay=None)
        return
    claimed = idempotency_claim(organization_id=organization_id, livemode=livemode, key=key, fingerprint=fingerprint)
    if isinstance(claimed, Outcome):
        yield Held(claim=None, replay=claimed)
        return
    held = Held(claim=claimed, replay=None)
    try:
        yield held
    finally:
        if held.outcome is None:
            try:
                idempotency_release(claimed)
            except Exception:  # the claim goes stale and is taken over after STALE_AFTER
                logger.exception("could not release idempotency claim %s", claimed.record_id)


def idempotency_operation_fingerprint(*, operation: str, livemode: bool, target=None, body=None) -> str:
    """What makes two writes other than create the same request: the operation (e.g.
    ``checkout_session_confirm``), the object it acts on, the mode and the body."""
    return idempotency_fingerprint({"operation": operation, "target": target, "livemode": livemode, "body": body})


def idempotency_call(*, organization_id, livemode: bool, key: str | None, fingerprint: str,
                     call: Callable[[], tuple[int, bytes]]) -> Outcome:
    """Run ``call`` (a write returning its answer's status and JSON bytes) at most once per
    ``key``: a retry with the same key and fingerprint gets the first answer back
    (``Outcome.replayed``), another fingerprint 422 ``idempotency_key_reused``, a retry while
    the first runs 409 ``idempotency_key_in_use``. ``call`` raising stores nothing (the key is
    released: a fixed request may reuse it); an answer it returns, error or not, is stored.

    The write commits in its own service transaction and the answer is stored just after:
    a worker killed between the two leaves a claim that goes stale and is taken over, so that
    one retry runs the operation again (the services' compare-and-set refuses a second state
    change)."""
    with idempotency_key_held(organization_id=organization_id, livemode=livemode, key=key,
                              fingerprint=fingerprint) as held:
        if held.replay is None:
            status, body = call()
            held.complete(status=status, body=body)
    return held.outcome


def idempotency_records_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete records older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (never less than 24 h), in
    batches so no single statement holds many locks. Returns how many were deleted. The retention
    run every ten minutes (``checkout.services.retention``) does this along with the other tables."""
    cutoffs = retention.retention_cutoffs(now or timezone.now())
    return retention.retention_table_purge(retention.IDEMPOTENCY_RECORDS, cutoffs=cutoffs, batch_size=PURGE_BATCH)
