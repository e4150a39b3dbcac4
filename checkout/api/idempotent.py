"""``Idempotency-Key`` on the merchant API's writes other than create (whose session insert
completes the claim itself): confirm, cancel, expire, the webhook-endpoint writes, and billing's
writes (``billing/api`` calls ``idempotent_response`` the same way).

The rules are create's (``checkout.services.idempotency``): the same key, operation, object and
body answer the first answer again, byte for byte, with ``Idempotent-Replayed: true``; another
body, operation or object is 422 ``idempotency_key_reused``; a retry while the first runs is 409
``idempotency_key_in_use``. Refusals raised before or during the write (validation, not found,
not open) are not stored: the key may be reused once the request is fixed.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from checkout.errors import CheckoutErrorCode, RequestInvalid
from checkout.services.idempotency import idempotency_call, idempotency_operation_fingerprint

from .serializers import IDEMPOTENCY_KEY

_renderer = JSONRenderer()


def idempotency_key_of(request, body_key=None) -> str | None:
    """The key from the ``Idempotency-Key`` header, or ``body_key`` (create's
    ``idempotency_key`` field); checked here, before the body is validated: a replay answers
    before validation runs."""
    header = request.headers.get("Idempotency-Key")
    for value in (header, body_key):
        if value is not None and not (isinstance(value, str) and IDEMPOTENCY_KEY.fullmatch(value)):
            raise RequestInvalid(
                "1 to 255 printable ASCII characters without spaces.",
                code=CheckoutErrorCode.INVALID_IDEMPOTENCY_KEY,
                field="idempotency_key",
            )
    if header is not None and body_key is not None and header != body_key:
        raise RequestInvalid(
            "The Idempotency-Key header and the idempotency_key field differ.",
            code=CheckoutErrorCode.IDEMPOTENCY_KEY_MISMATCH,
            field="idempotency_key",
        )
    return header if header is not None else body_key


def idempotent_response(request, *, operation: str, target=None,
                        call: Callable[[], tuple[int, Any]]) -> HttpResponse:
    """Answer ``call()`` (the view's validate + service + render: ``(status, JSON-able
    payload)``) once per ``Idempotency-Key``, for ``operation`` (e.g.
    ``"checkout_session_confirm"``) on ``target`` (the path's object id)."""
    key = idempotency_key_of(request)
    api_key = request.auth
    fingerprint = idempotency_operation_fingerprint(
        operation=operation, livemode=api_key.livemode, target=None if target is None else str(target),
        body=request.data,
    )

    def rendered() -> tuple[int, bytes]:
        status, payload = call()
        return status, _renderer.render(payload)

    outcome = idempotency_call(organization_id=api_key.organization_id, livemode=api_key.livemode, key=key,
                               fingerprint=fingerprint, call=rendered)
    return idempotent_http_response(outcome, key)


def idempotent_http_response(outcome, key: str | None) -> HttpResponse:
    response = HttpResponse(outcome.body, status=outcome.status, content_type="application/json")
    if key is not None:
        response["Idempotency-Key"] = key
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
