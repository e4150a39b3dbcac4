"""Merchant API: one view per operation. Each validates, calls one service, renders.

Errors of every kind leave through ``core.errors.api_exception_handler`` as the one envelope.
"""


from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.enums import PaymentMethod
from checkout.errors import PaymentFailed, RequestInvalid
from checkout.representation import checkout_session_json, checkout_session_preview_json
from checkout.selectors import checkout_session_expansions, checkout_session_get, checkout_session_list
from checkout.services.confirm import Outcome, checkout_session_confirm
from checkout.services.create import checkout_session_build, checkout_session_create
from checkout.services.idempotency import idempotency_fingerprint, idempotency_key_held
from checkout.services.lifecycle import checkout_session_cancel, checkout_session_expire_now
from checkout.services.update import checkout_session_update
from checkout.sessions.expiry import checkout_session_expire_if_due, checkout_sessions_expire_if_due
from checkout.sessions.terms import SessionTerms
from core.authentication import ApiKeyAuthentication, HasApiKey
from core.dbrouter import primary_sticky_mark, replica_reads
from core.errors import CoreErrorCode, error_body
from core.logging import trace_id_var
from core.middleware import TRACE_ID_PATTERN
from core.parsers import LimitedJSONParser

from . import schema
from .idempotent import idempotency_key_of, idempotent_http_response, idempotent_response
from .routing import MethodRouter
from .serializers import (
    CheckoutSessionCancelSerializer,
    CheckoutSessionConfirmSerializer,
    CheckoutSessionCreateSerializer,
    CheckoutSessionListQuerySerializer,
    CheckoutSessionRetrieveQuerySerializer,
    CheckoutSessionUpdateSerializer,
    ConfirmMode,
    EmptyBodySerializer,
    checkout_session_request_patched,
    query_validated,
    validated,
)
from .throttling import CheckoutSessionCreateThrottle


class MerchantApi(APIView):
    """Secret-key auth, JSON in and out, every error as the envelope."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    def finalize_response(self, request, response, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.auth is not None:
            primary_sticky_mark(request.auth.organization_id)  # read-your-writes across nodes
        return super().finalize_response(request, response, *args, **kwargs)


def caller_organization(request):
    return request.auth.organization_id


class CheckoutSessionCreateApi(MerchantApi):
    throttle_classes = [CheckoutSessionCreateThrottle]

    @schema.create_schema
    def post(self, request):
        payload = _json_object(request.data)
        _bind_trace_id(request, payload.get("trace_id"))
        key = idempotency_key_of(request, payload.get("idempotency_key"))
        api_key = request.auth
        with idempotency_key_held(organization_id=api_key.organization_id, livemode=api_key.livemode, key=key,
                                  fingerprint=_create_fingerprint(api_key, payload)) as held:
            if held.replay is None:
                data = validated(CheckoutSessionCreateSerializer, payload)
                checkout_session_create(organization=api_key.organization, livemode=api_key.livemode, held=held,
                                        terms=SessionTerms.from_request({**data, "trace_id": request._request.trace_id}))
        return idempotent_http_response(held.outcome, key)


class CheckoutSessionPreviewApi(MerchantApi):
    throttle_classes = [CheckoutSessionCreateThrottle]

    @schema.preview_schema
    def post(self, request):
        data = validated(CheckoutSessionCreateSerializer, _json_object(request.data))
        session = checkout_session_build(
            organization=request.auth.organization, livemode=request.auth.livemode,
            terms=SessionTerms.from_request(data),
        )
        return Response(checkout_session_preview_json(session))


class CheckoutSessionListApi(MerchantApi):
    @schema.list_schema
    @replica_reads(organization_of=caller_organization)
    def get(self, request):
        filters = query_validated(CheckoutSessionListQuerySerializer, request)
        expand = filters.pop("expand[]", None)
        page = checkout_session_list(
            organization_id=request.auth.organization_id, livemode=request.auth.livemode, **filters
        )
        sessions = checkout_sessions_expire_if_due(page.items)
        return Response(
            {
                "object": "list",
                "data": _sessions_expanded(sessions, expand),
                "has_more": page.has_more,
                "next_cursor": page.next_cursor,
            }
        )


class CheckoutSessionUpdateApi(MerchantApi):
    @schema.update_schema
    def patch(self, request, session_id):
        patch = _json_object(request.data)
        validated(CheckoutSessionUpdateSerializer, patch)
        session = checkout_session_expire_if_due(checkout_session_get(
            organization_id=request.auth.organization_id, session_id=session_id, livemode=request.auth.livemode
        ))
        data = validated(CheckoutSessionCreateSerializer, checkout_session_request_patched(session, patch))
        updated = checkout_session_update(
            organization=request.auth.organization, livemode=request.auth.livemode, session_id=session.pk,
            terms=SessionTerms.from_request(data), expected_updated_at=session.updated_at,
        )
        return Response(checkout_session_json(updated))


class CheckoutSessionRetrieveApi(MerchantApi):
    @schema.retrieve_schema
    def get(self, request, session_id):
        expand = query_validated(CheckoutSessionRetrieveQuerySerializer, request).get("expand[]")
        session = checkout_session_expire_if_due(checkout_session_get(
            organization_id=request.auth.organization_id, session_id=session_id, livemode=request.auth.livemode
        ))
        return Response(_sessions_expanded([session], expand)[0])


class CheckoutSessionCancelApi(MerchantApi):
    @schema.cancel_schema
    def post(self, request, session_id):
        def cancel():
            data = validated(CheckoutSessionCancelSerializer, request.data)
            session = checkout_session_cancel(
                organization_id=request.auth.organization_id,
                session_id=session_id,
                reason=data["reason"],
                detail=data.get("detail", ""),
                livemode=request.auth.livemode,
            )
            return 200, checkout_session_json(session)

        return idempotent_response(request, operation="checkout_session_cancel", target=session_id, call=cancel)


_CONFIRM_METHODS = {
    ConfirmMode.CHARGE_NOW: PaymentMethod.CARD,
    ConfirmMode.INVOICE: PaymentMethod.INVOICE,
    ConfirmMode.NO_PAYMENT: PaymentMethod.NONE,
}


class CheckoutSessionConfirmApi(MerchantApi):
    """For merchants who collect consent themselves: the same service as the hosted page."""

    @schema.confirm_schema
    def post(self, request, session_id):
        def confirm():
            data = validated(CheckoutSessionConfirmSerializer, request.data)
            result = checkout_session_confirm(  # 404 for another tenant's or mode's session
                session_id=session_id, organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                payment_method=_CONFIRM_METHODS[data["mode"]], payment_method_id=data.get("payment_method_id", ""),
                terms_accepted=data.get("terms_accepted", False),
            )
            if result.outcome == Outcome.PAYMENT_FAILED:
                # A decline is an outcome, not a refusal: the session recorded it, and a retry
                # with the same key answers it again rather than charging the card twice.
                failed = PaymentFailed(result.failure_message or None, field="payment_method_id")
                return failed.status, error_body(failed.code, failed.message, failed.fields)
            body = checkout_session_json(result.session)
            payment = result.payment
            if result.outcome == Outcome.PROCESSING and payment is not None and payment.client_secret:
                # 3-D Secure: the merchant's page finishes it with Stripe.js (handleNextAction).
                body["next_action"] = {"type": "use_stripe_sdk", "client_secret": payment.client_secret,
                                       "payment_intent": payment.provider_reference}
            return 200, body

        return idempotent_response(request, operation="checkout_session_confirm", target=session_id, call=confirm)


class CheckoutSessionExpireApi(MerchantApi):
    @schema.expire_schema
    def post(self, request, session_id):
        def expire():
            validated(EmptyBodySerializer, request.data)
            session = checkout_session_expire_now(
                organization_id=request.auth.organization_id, session_id=session_id, livemode=request.auth.livemode
            )
            return 200, checkout_session_json(session)

        return idempotent_response(request, operation="checkout_session_expire", target=session_id, call=expire)


def _sessions_expanded(sessions, expand) -> list[dict]:
    """The sessions' JSON, with ``expanded`` when ``expand[]`` asked for it."""
    if not expand:
        return [checkout_session_json(session) for session in sessions]
    expansions = checkout_session_expansions(sessions, expand)
    return [{**checkout_session_json(session), "expanded": expansions[session.pk]} for session in sessions]


def _json_object(payload) -> dict:
    if not isinstance(payload, dict):
        raise RequestInvalid("The body must be a JSON object.", code=CoreErrorCode.INVALID_TYPE, field="__all__")
    return payload


def _create_fingerprint(api_key, payload: dict) -> str:
    """What makes two creates the same request: the mode and the body, without the trace id and
    the key itself (where the key travels, header or body, is not part of the meaning)."""
    return idempotency_fingerprint({
        "livemode": api_key.livemode,
        "body": {k: v for k, v in payload.items() if k not in ("trace_id", "idempotency_key")},
    })


def _bind_trace_id(request, candidate) -> None:
    """A ``trace_id`` in the body wins over ``X-Request-Id``: it goes on every log line, the
    session, error envelopes and the response's ``X-Request-Id``. An invalid one is left to
    the serializer to refuse."""
    if isinstance(candidate, str) and TRACE_ID_PATTERN.fullmatch(candidate):
        request._request.trace_id = candidate
        trace_id_var.set(candidate)  # TraceIdMiddleware resets it when the request ends


checkout_session_detail = MethodRouter(
    get=CheckoutSessionRetrieveApi.as_view(), patch=CheckoutSessionUpdateApi.as_view()
)
checkout_sessions_collection = MethodRouter(
    get=CheckoutSessionListApi.as_view(), post=CheckoutSessionCreateApi.as_view()
)
