"""A refund asked for through the merchant API, under an ``Idempotency-Key``: the same rules as
a session create (``checkout.services.idempotency``: same key and body → the first answer
again; another body → 422 ``idempotency_key_reused``; still running → 409
``idempotency_key_in_use``; a refused refund is not stored, so a fixed request may reuse the
key).

The refund is named on the key's claim in the transaction that reserves it; the claim completes
with the refund's JSON once the provider answered. Meanwhile a request with the same key is 409
``idempotency_key_in_use``; a worker killed in between leaves the claim naming its refund, so
the retry that takes the stale claim over finishes that refund (sends it with its own provider
idempotency key) and never reserves a second.
"""

import json
from decimal import Decimal

from rest_framework.renderers import JSONRenderer

from checkout.enums import IdempotencyStatus
from checkout.errors import IdempotencyKeyInUse
from checkout.models import IdempotencyRecord
from checkout.services.idempotency import Outcome, idempotency_fingerprint, idempotency_key_held

from .models import Refund
from .refunds import payment_refund, refund_send
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
        reserved = _reserved_under(claim)
        if reserved is not None:  # a request killed after reserving: finish its refund, never a second
            held.outcome = Outcome(status=201, body=refund_body(reserved), replayed=False)
            refund = refund_send(refund_id=reserved.pk)
        else:
            def record(refund: Refund) -> None:
                if claim is None:
                    return
                if not IdempotencyRecord.claim_held(claim.record_id, claim.claimed_at).update(
                        response_body=refund_body(refund)):
                    raise IdempotencyKeyInUse(field="idempotency_key")  # taken over as stale meanwhile
                # From here the claim is never released: it names a reserved refund.
                held.outcome = Outcome(status=201, body=b"", replayed=False)

            refund = payment_refund(organization_id=organization_id, livemode=livemode, payment_id=payment_id,
                                    amount=amount, reason=reason, source="api", requested_by=requested_by,
                                    on_reserved=record)
        body = refund_body(refund)
        if claim is not None:
            IdempotencyRecord.claim_held(claim.record_id, claim.claimed_at).update(
                status=IdempotencyStatus.COMPLETED, response_status=201, response_body=body)
        held.outcome = Outcome(status=201, body=body, replayed=False)
    return held.outcome


def _reserved_under(claim) -> Refund | None:
    """The refund a previous holder of this (stale, taken over) claim reserved, if it got that far."""
    if claim is None:
        return None
    body = IdempotencyRecord.objects.filter(pk=claim.record_id).values_list("response_body", flat=True).first()
    if not body:
        return None
    return Refund.objects.filter(pk=json.loads(bytes(body))["id"]).first()
