"""A refund asked for through the merchant API, under an ``Idempotency-Key``: the same rules as
a session create (``checkout.services.idempotency``: same key and body → the first answer
again; another body → 422 ``idempotency_key_reused``; still running → 409
``idempotency_key_in_use``; a refused refund is not stored, so a fixed request may reuse the
key).

The key's answer is recorded in the transaction that reserves the refund, so a worker killed
between the reservation and the provider's answer leaves a completed key: the retry replays
it (the refund, still ``pending``, is sent by ``refunds_reconcile_pending``) and never refunds
twice. Once the provider answered, the stored answer shows the refund's outcome.
"""

from decimal import Decimal

from rest_framework.renderers import JSONRenderer

from checkout.enums import IdempotencyStatus
from checkout.errors import IdempotencyKeyInUse
from checkout.models import IdempotencyRecord
from checkout.services.idempotency import Outcome, idempotency_fingerprint, idempotency_key_held

from .models import Refund
from .refunds import payment_refund
from .representation import refund_json

_renderer = JSONRenderer()


def refund_body(refund: Refund) -> bytes:
    return _renderer.render(refund_json(refund))


def payment_refund_fingerprint(*, livemode: bool, payment_id, payload: dict) -> str:
    """What makes two refund requests the same: the mode, the payment and the body (without
    the key itself, wherever it travelled)."""
    return idempotency_fingerprint({
        "operation": "payment_refund", "livemode": livemode, "payment_id": str(payment_id),
        "body": {k: v for k, v in payload.items() if k != "idempotency_key"},
    })


def payment_refund_request(*, organization_id, livemode: bool, payment_id, amount: Decimal | None, reason: str,
                           key: str | None, fingerprint: str, requested_by: str = "api") -> Outcome:
    """Refund through ``billing.refunds.payment_refund`` once per key: the answer (201 and the
    refund's JSON), or the stored one to replay."""
    with idempotency_key_held(organization_id=organization_id, livemode=livemode, key=key,
                              fingerprint=fingerprint) as held:
        if held.replay is not None:
            return held.replay
        claim = held.claim

        def record(refund: Refund) -> None:
            if claim is None:
                return
            completed = IdempotencyRecord.claim_held(claim.record_id, claim.claimed_at).update(
                status=IdempotencyStatus.COMPLETED, response_status=201, response_body=refund_body(refund))
            if not completed:  # taken over as stale meanwhile: the other request refunds
                raise IdempotencyKeyInUse(field="idempotency_key")

        refund = payment_refund(organization_id=organization_id, livemode=livemode, payment_id=payment_id,
                                amount=amount, reason=reason, source="api", requested_by=requested_by,
                                on_reserved=record)
        body = refund_body(refund)
        if claim is not None:
            IdempotencyRecord.objects.filter(pk=claim.record_id, status=IdempotencyStatus.COMPLETED).update(
                response_body=body)
        held.outcome = Outcome(status=201, body=body, replayed=False)
    return held.outcome
