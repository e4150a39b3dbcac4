"""Checkout domain errors. Each has a stable code and an HTTP status."""

from billing.estimates import MAX_START_DAYS_AHEAD
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


class PlanUnchanged(DomainError):
    code = "plan_unchanged"
    message = "The contract is already on this plan; send product_overrides without plan_id to change quantities."


class ContractAmendmentInProgress(Conflict):
    code = "contract_amendment_in_progress"
    message = ("Another change to this contract has a payment being processed; "
               "wait for it to settle, then open a new checkout session.")


class ContractEnded(DomainError):
    code = "contract_ended"
    message = "The contract has ended and cannot be amended."


class StartDateOutsideWindow(DomainError):
    code = "start_date_out_of_range"
    message = ("The start date must lie between one billing period ago and "
               f"{MAX_START_DAYS_AHEAD} days from today.")


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


class SessionChangedConcurrently(Conflict):
    code = "checkout_session_changed"
    message = "The checkout session changed while this request was made; read it again and retry."


class SessionExpired(SessionNotOpen):
    code = "checkout_session_expired"
    message = "The checkout session has expired."


class SessionNotPriced(DomainError):
    code = "checkout_session_not_priced"
    status = 409
    message = "The checkout session has no locked estimate to confirm."


class PaymentMethodNotAllowed(DomainError):
    code = "payment_method_not_allowed"
    message = "This payment method is not available for this checkout session."


class PaymentRequired(DomainError):
    code = "payment_required"
    message = "This checkout session has an amount due: confirm it with a payment."


class PaymentFailed(DomainError):
    """The merchant API's confirm: the charge was declined (the session stays open)."""

    code = "payment_failed"
    status = 402
    message = "The payment did not go through."


class CardRequired(DomainError):
    code = "card_required"
    message = "Card details are required to pay by card."


class CustomerDetailsRequired(DomainError):
    code = "customer_details_required"
    message = "A guest checkout needs the customer's name."


class StripeWebhookRejected(DomainError):
    code = "webhook_signature_invalid"
    status = 400
    message = "Unknown webhook endpoint or invalid Stripe-Signature."


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    message = "No such webhook endpoint."


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    message = "No such webhook delivery."


class InvalidWebhookUrl(DomainError):
    code = "invalid_url"
    message = "The URL must be an absolute http or https URL with a host."


class InvalidSecretGracePeriod(DomainError):
    code = "invalid_grace_period"
    message = "previous_secret_valid_hours must be a whole number of hours from 0 to 168."


class WebhookUrlNotPublic(DomainError):
    code = "url_not_public"
    message = "Webhooks are delivered to public addresses only, not to localhost or private networks."


class InvalidEventType(DomainError):
    code = "invalid_event_type"
    message = "Unknown event type."


class WebhookEndpointLimit(DomainError):
    code = "webhook_endpoint_limit"
    message = "The organization has as many webhook endpoints as it may have."


class TermsOfServiceUrlMissing(DomainError):
    code = "terms_of_service_url_missing"
    message = "The business entity has no terms of service URL to ask the customer to accept; set terms_url first."


class TermsNotAccepted(DomainError):
    code = "terms_not_accepted"
    message = "Accept the terms of service to continue."
