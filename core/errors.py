"""Domain errors and the one error envelope.

Every API error, whatever raised it, answers
``{"error": {"code", "message", "fields", "trace_id"}}``.
"""

import logging
import math
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .logging import get_trace_id
from .middleware import RETRY_AFTER_SECONDS, is_database_outage
from .parsers import BodyRejected

logger = logging.getLogger(__name__)


class CoreErrorCode(StrEnum):
    """The codes any API operation may answer, whatever its app: the transport's (body,
    authentication, routing, limits, outages, bugs), the request shape's (DRF's built-in
    failures, ``DRF_CODES``) and the base domain errors'. Apps add theirs
    (``checkout.errors.CheckoutErrorCode``, ``billing.errors.BillingErrorCode``)."""

    # Transport
    MALFORMED_REQUEST = "malformed_request"
    AUTHENTICATION_REQUIRED = "authentication_required"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    # Request shape
    FIELD_REQUIRED = "field_required"
    INVALID_TYPE = "invalid_type"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    INVALID_LENGTH = "invalid_length"
    INVALID_CHOICE = "invalid_choice"
    INVALID_DATE = "invalid_date"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_CHARACTERS = "invalid_characters"
    UNKNOWN_PARAMETER = "unknown_parameter"
    INVALID_HOST = "invalid_host"
    UNSUPPORTED_TRANSFER_CODING = "unsupported_transfer_coding"
    PAGINATION_CONFLICT = "pagination_conflict"
    # Base domain errors (a subclass names its own code)
    INVALID = "invalid"
    DOMAIN_ERROR = "domain_error"
    CONFLICT = "conflict"


class DomainError(Exception):
    """A rule of the domain was broken. Subclasses set ``code`` and ``status``.

    ``field`` names the offending input path (``"contract.currency"``) when there is one.
    """

    code = CoreErrorCode.DOMAIN_ERROR.value
    status = 422
    message = "The request broke a business rule."

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 fields: dict[str, list[str]] | None = None, code: str | None = None):
        self.message = message or self.message
        if code:
            self.code = code
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(self.message)
        super().__init__(self.message)


class NotFound(DomainError):
    code = CoreErrorCode.NOT_FOUND.value
    status = 404
    message = "No such object."


class Conflict(DomainError):
    code = CoreErrorCode.CONFLICT.value
    status = 409
    message = "The object is not in a state that allows this."


def error_body(code: str, message: str, fields: dict | None = None, trace_id: str | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": fields or {},
            "trace_id": trace_id or get_trace_id(),
        }
    }


def error_items(detail, prefix: str = ""):
    """DRF's nested error detail as ``(path, detail)`` pairs, in order: ``("a.b.0.c", …)``,
    non-field errors under their parent's path (``"__all__"`` at the top). Each detail keeps
    DRF's ``code``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from error_items(value, prefix)
            else:
                yield from error_items(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            for item in detail:
                yield prefix or "__all__", item
        else:
            for index, item in enumerate(detail):
                if item not in ({}, []):
                    yield from error_items(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        yield prefix or "__all__", detail


def flatten_errors(detail) -> dict[str, list[str]]:
    """DRF's nested error detail → ``{"a.b.0.c": ["message", …]}``."""
    out: dict[str, list[str]] = {}
    for path, item in error_items(detail):
        out.setdefault(path, []).append(str(item))
    return out


# DRF's built-in error keys → our stable codes (API fields may refine "invalid" further).
DRF_CODES = {
    "required": "field_required",
    "null": "field_required",
    "blank": "field_required",
    "invalid": "invalid_type",
    "not_a_list": "invalid_type",
    "not_a_dict": "invalid_type",
    "max_string_length": "value_out_of_range",
    "max_value": "value_out_of_range",
    "min_value": "value_out_of_range",
    "max_length": "invalid_length",
    "min_length": "invalid_length",
    "empty": "invalid_length",
    "invalid_choice": "invalid_choice",
    "date": "invalid_datetime",
    "datetime": "invalid_date",
    "make_aware": "invalid_datetime",
    "overflow": "invalid_datetime",
    "null_characters_not_allowed": "invalid_characters",
    "surrogate_characters_not_allowed": "invalid_characters",
}


def validation_error_body(detail) -> dict:
    """DRF's nested errors as one envelope: every offending path in ``fields``, the first
    broken rule's code and message on top (so clients can branch on one code)."""
    first = next(error_items(detail), None)
    if first is None:
        return error_body("invalid", "The request has invalid fields.")
    _path, item = first
    code = getattr(item, "code", None) or "invalid"
    return error_body(DRF_CODES.get(code, code), str(item), flatten_errors(detail))


_DRF_EXCEPTION_CODES = {
    drf_exceptions.ParseError: ("malformed_request", 400),
    drf_exceptions.AuthenticationFailed: ("authentication_failed", 401),
    drf_exceptions.NotAuthenticated: ("authentication_required", 401),
    drf_exceptions.PermissionDenied: ("permission_denied", 403),
    drf_exceptions.NotFound: ("not_found", 404),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", 405),
    drf_exceptions.NotAcceptable: ("not_acceptable", 406),
    drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", 415),
    drf_exceptions.Throttled: ("rate_limited", 429),
}


def api_exception_handler(exc, context):
    """DRF exception handler: everything becomes the envelope."""
    headers = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(validation_error_body(exc.detail), status=422)
    if isinstance(exc, drf_exceptions.APIException):
        code, status = next(
            ((c, s) for cls, (c, s) in _DRF_EXCEPTION_CODES.items() if isinstance(exc, cls)),
            (getattr(exc, "default_code", "error"), exc.status_code),
        )
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))  # whole seconds, rounded up
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        fields = {exc.path or "__all__": [str(message)]} if isinstance(exc, BodyRejected) else None
        return Response(error_body(code, str(message), fields), status=status, headers=headers)

    if is_database_outage(exc):
        logger.error("database unavailable: %s", exc)
        return database_outage_response()
    logger.exception("unhandled error in API view")
    return Response(error_body("internal_error", "Something went wrong on our side."), status=500)


def database_outage_response() -> JsonResponse:
    response = json_error_response(
        "service_unavailable", "The service is briefly unavailable; retry in a few seconds.", 503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def json_error_response(code: str, message: str, status: int) -> JsonResponse:
    """The envelope outside DRF (404/500 handlers under /api/)."""
    return JsonResponse(error_body(code, message), status=status)
