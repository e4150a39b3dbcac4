"""Domain errors of the catalogue and the pricing engine.

Each has a stable snake_case ``code`` (see ``BillingErrorCode``) and answers 422 with the
offending input path in ``fields`` (``"contract.phases.0.pricings.1.pricing.tiers.2.up_to"``).
The pure engine raises them with paths relative to what it was given; callers that know where
the data came from re-root them with ``error.prefixed("contract.phases.0…")``.
"""

from enum import StrEnum

from core.errors import Conflict, DomainError, NotFound


class BillingErrorCode(StrEnum):
    INVALID_PRICING = "invalid_pricing"
    INVALID_TIERS = "invalid_tiers"
    INVALID_CADENCE = "invalid_cadence"
    INVALID_DATES = "invalid_dates"
    END_DATE_BEFORE_START_DATE = "end_date_before_start_date"
    INVALID_QUOTE = "invalid_quote"
    QUANTITY_OUT_OF_BOUNDS = "quantity_out_of_bounds"
    UNKNOWN_PRODUCT_OVERRIDE = "unknown_product_override"
    DUPLICATE_PRODUCT_OVERRIDE = "duplicate_product_override"
    ITEM_NOT_OPTIONAL = "item_not_optional"
    UNKNOWN_PRICING = "unknown_pricing"
    UNKNOWN_PRODUCT = "unknown_product"
    PRICING_PRODUCT_MISMATCH = "pricing_product_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"


class BillingError(DomainError):
    code = "billing_error"

    def prefixed(self, prefix: str) -> "BillingError":
        """The same error with every field path put under ``prefix``."""
        if not prefix:
            return self
        fields = {
            (f"{prefix}.{path}" if path else prefix): list(msgs)
            for path, msgs in self.fields.items()
        }
        if not fields:
            fields = {prefix: [self.message]}
        error = type(self)(self.message, fields=fields, code=self.code)
        error.__cause__ = self
        return error


class InvalidPricing(BillingError):
    code = BillingErrorCode.INVALID_PRICING.value
    message = "The pricing is not valid."


class InvalidTiers(InvalidPricing):
    code = BillingErrorCode.INVALID_TIERS.value
    message = "The pricing tiers are not valid."


class InvalidCadence(InvalidPricing):
    code = BillingErrorCode.INVALID_CADENCE.value
    message = (
        "The cadence must be an ISO-8601 period of whole months or years, such as P1M, P3M or P1Y."
    )


class InvalidDates(BillingError):
    code = BillingErrorCode.INVALID_DATES.value
    message = "The dates are not coherent."


class EndDateBeforeStartDate(InvalidDates):
    """The one owner of "a contract ends after it starts", whichever way the start was given."""

    code = BillingErrorCode.END_DATE_BEFORE_START_DATE.value
    message = "Must be after start_date."


class InvalidQuote(BillingError):
    code = BillingErrorCode.INVALID_QUOTE.value
    message = "The stored quote is malformed."


class QuantityOutOfBounds(BillingError):
    code = BillingErrorCode.QUANTITY_OUT_OF_BOUNDS.value
    message = "The quantity is outside the allowed bounds."


class UnknownProductOverride(BillingError):
    """``product_id``: the overridden product (as a string), so a caller can tell a product
    outside the plan from one outside the organization."""

    code = BillingErrorCode.UNKNOWN_PRODUCT_OVERRIDE.value
    message = "The product is not part of this plan or contract."

    def __init__(self, message: str | None = None, *, product_id: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.product_id = product_id

    def prefixed(self, prefix: str) -> "UnknownProductOverride":
        error = super().prefixed(prefix)
        error.product_id = self.product_id
        return error


class DuplicateProductOverride(BillingError):
    code = BillingErrorCode.DUPLICATE_PRODUCT_OVERRIDE.value
    message = "The product is overridden more than once."


class ItemNotOptional(BillingError):
    code = BillingErrorCode.ITEM_NOT_OPTIONAL.value
    message = "The item is not optional and cannot be disabled."


class UnknownPricing(BillingError):
    code = BillingErrorCode.UNKNOWN_PRICING.value
    message = "No such pricing."


class UnknownProduct(BillingError):
    code = BillingErrorCode.UNKNOWN_PRODUCT.value
    message = "No such product."


class PricingProductMismatch(BillingError):
    code = BillingErrorCode.PRICING_PRODUCT_MISMATCH.value
    message = "The pricing belongs to another product."


class CurrencyMismatch(BillingError):
    code = BillingErrorCode.CURRENCY_MISMATCH.value
    message = "The currency does not match."


class EstimateInconsistent(Conflict):
    """The locked estimate does not add up: we refuse to bill rather than bill wrong."""

    code = "estimate_inconsistent"
    message = "The locked estimate is inconsistent and cannot be billed."


class AmendmentNotApplicable(Conflict):
    code = "amendment_not_applicable"
    message = "The contract cannot be amended on this date."


class ContractChanged(Conflict):
    """The contract moved on (another amendment, an ops edit) after the quote was priced: the
    quote would bill a stale configuration, so it is refused and nothing is charged."""

    code = "contract_changed"
    message = ("The contract changed after this checkout session was priced; "
               "a new checkout session is needed.")


# --- discounts --------------------------------------------------------------------------------
# The same codes answer the merchant API (a coupon or code given at creation) and the hosted
# page (a code the customer typed, shown as the field's error).


class CouponNotFound(DomainError):
    code = "coupon_not_found"
    status = 404
    message = "No such coupon."


class PromotionCodeUnknown(DomainError):
    code = "promotion_code_unknown"
    message = "This code is not valid."


class PromotionCodeExpired(DomainError):
    code = "promotion_code_expired"
    message = "This code has expired."


class PromotionCodeUsedUp(DomainError):
    code = "promotion_code_used_up"
    message = "This code has been used the maximum number of times."


class CouponNotApplicable(DomainError):
    code = "coupon_not_applicable"
    message = "This discount cannot be used for this purchase."


class PromotionCodesNotAllowed(DomainError):
    code = "promotion_codes_not_allowed"
    message = "This checkout does not accept promotion codes."


# --- payments ------------------------------------------------------------------------------


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"
    status = 409
    message = "Card payments are not available for this checkout; pay by invoice or contact the merchant."


class PaymentOutcomeUnknown(PaymentProviderUnavailable):
    """The provider was asked and no answer came (network, timeout, its own 5xx): the charge may
    or may not have happened. The attempt stays pending and is asked again with the same key."""

    code = "payment_outcome_unknown"
    message = "We did not hear back from the card processor; your payment is being checked."


class AmountNotSupportedByProvider(DomainError):
    """The payment provider's currency rules cannot take the amount due (Stripe: three-decimal
    currencies in steps of 0.010, ISK in whole krónur): refused before anything is charged."""

    code = "amount_not_supported_by_provider"
    message = "The card processor cannot charge this amount in this currency."


class AmountBelowProviderMinimum(DomainError):
    """The amount due is more than zero but less than the payment provider charges
    (``billing.gateway.STRIPE_MINIMUM_CHARGES``): refused before anything is charged."""

    code = "amount_below_provider_minimum"
    message = "The amount due is below the least the card processor charges in this currency."


class PaymentSettingsInvalid(DomainError):
    code = "payment_settings_invalid"
    message = "The payment settings are not valid."


# --- test clocks -------------------------------------------------------------------------------


class TestClockInvalid(DomainError):
    __test__ = False

    code = "test_clock_invalid"
    message = "The test clock cannot be set to that time."


class TestClockNotFound(NotFound):
    __test__ = False

    code = "test_clock_not_found"
    message = "No such test clock."


class TestClockBusy(Conflict):
    __test__ = False

    code = "test_clock_advancing"
    message = "The test clock is being advanced; try again when it is ready."


class TestClockExists(Conflict):
    __test__ = False

    code = "test_clock_exists"
    message = "This customer already has a test clock."


# --- refunds -------------------------------------------------------------------------------


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "No such payment."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "Only a payment that went through can be refunded."


class RefundExceedsPayment(DomainError):
    code = "refund_exceeds_payment"
    message = "The refund would exceed what is left of the payment."


class RefundAmountInvalid(DomainError):
    code = "refund_amount_invalid"
    message = "The amount must be above zero, in the payment's currency's precision."


class SavedPaymentMethodNotFound(NotFound):
    code = "payment_method_not_found"
    message = "No such payment method."


# --- the merchant API's reads and test-mode rules -----------------------------------------------


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    message = "No such invoice."


class TestModeOnly(DomainError):
    """Test clocks exist in test mode only: a live key asking for one is refused (live mode
    always bills on the real date)."""

    __test__ = False

    code = "test_mode_only"
    status = 403
    message = "Test clocks exist in test mode only; use a test key (sk_test_…)."


class TestClockCustomerLive(DomainError):
    __test__ = False

    code = "test_clock_customer_live"
    message = "The customer has live-mode contracts; a test clock is for test customers only."


# --- dunning -------------------------------------------------------------------------------


class DunningPolicyInvalid(DomainError):
    code = "dunning_policy_invalid"
    message = "The retry schedule is not valid."


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"
    message = "This invoice is not open for payment."


class InvoicePaymentInProgress(Conflict):
    code = "invoice_payment_in_progress"
    message = "A payment of this invoice is already in progress."
