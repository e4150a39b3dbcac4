"""Checkout domain errors. Each has a stable code and an HTTP status."""

from core.errors import Conflict, DomainError, NotFound


class SessionNotFound(NotFound):
    code = "checkout_session_not_found"
    message = "No such checkout session."


class SessionNotOpen(Conflict):
    code = "checkout_session_not_open"
    message = "The checkout session is no longer open."


class SessionNotProcessing(Conflict):
    code = "checkout_session_not_processing"
    message = "The checkout session has no payment being processed."


class InvalidCancellationReason(DomainError):
    code = "invalid_cancellation_reason"
    message = "Unknown cancellation reason."
