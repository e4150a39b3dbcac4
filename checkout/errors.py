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


# --- Merchant API: creating sessions, idempotency, listing ---------------------------------
# Codes are part of the API contract (documented in the OpenAPI schema): never rename one.


class RequestInvalid(DomainError):
    """A shape rule of the request was broken. ``code`` is the first broken rule's code;
    ``fields`` lists every offending path."""

    code = "invalid"
    status = 422
    message = "The request has invalid fields."


class AmbiguousCheckoutType(DomainError):
    code = "ambiguous_checkout_type"
    message = "The request matches more than one checkout type."


class CheckoutTypeUndetermined(DomainError):
    code = "checkout_type_undetermined"
    message = "Give contract or plan_id for a new contract, or contract_id for an amendment."


class PlanNotFound(NotFound):
    code = "plan_not_found"
    message = "No such plan."


class ContractNotFound(NotFound):
    code = "contract_not_found"
    message = "No such contract."


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "No such customer."


class BusinessEntityNotFound(NotFound):
    code = "business_entity_not_found"
    message = "No such business entity."


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "No such product."


class PricingNotFound(NotFound):
    code = "pricing_not_found"
    message = "No such pricing."


class PlanNotActive(DomainError):
    code = "plan_not_active"
    message = "The plan is not active."


class ContractNotActive(DomainError):
    code = "contract_not_active"
    message = "The contract has ended and cannot be amended."


class ContractCustomerMismatch(DomainError):
    code = "contract_customer_mismatch"
    message = "The contract belongs to another customer."


class BusinessEntityMismatch(DomainError):
    code = "business_entity_mismatch"
    message = "The business entity differs from the contract's."


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    message = "The currency does not match."


class PlanUnchanged(DomainError):
    code = "plan_unchanged"
    message = "The contract is already on this plan; send product_overrides without plan_id to change quantities."


class ChangeDateOutsideContract(DomainError):
    code = "start_date_outside_contract"
    message = "The change date must fall within the contract's current phase."


class UrlHttpsRequired(DomainError):
    code = "url_https_required"
    message = "Live-mode keys require https URLs."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    message = "This idempotency key was already used with a different request body."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this idempotency key is still being processed; retry shortly."
