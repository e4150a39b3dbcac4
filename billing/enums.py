from django.db import models


class PricingModel(models.TextChoices):
    FLAT_FEE = "flat_fee", "Flat fee"
    PER_UNIT = "per_unit", "Per unit"
    TIERED = "tiered", "Tiered (graduated)"
    VOLUME = "volume", "Volume"
    PACKAGE = "package", "Package"


class BillingType(models.TextChoices):
    RECURRING = "recurring", "Recurring"
    ONE_TIME = "one_time", "One time"


class Timing(models.TextChoices):
    IN_ADVANCE = "in_advance", "In advance (prepaid)"
    IN_ARREARS = "in_arrears", "In arrears (postpaid)"


class TaxBehavior(models.TextChoices):
    EXCLUSIVE = "exclusive", "Exclusive (tax added on top)"
    INCLUSIVE = "inclusive", "Inclusive (tax contained in the price)"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class ContractStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # A renewal could not be collected; it is being retried (dunning).
    PAST_DUE = "past_due", "Past due"
    # The last retry failed and the organization leaves such contracts running, unpaid.
    UNPAID = "unpaid", "Unpaid"
    # Ended early: by the organization's dunning policy, or by ops.
    CANCELLED = "cancelled", "Cancelled"
    ENDED = "ended", "Ended"


# The statuses in which a contract still renews: its next invoice is issued on its date.
RENEWING_STATUSES = (ContractStatus.ACTIVE, ContractStatus.PAST_DUE, ContractStatus.UNPAID)


class CollectionMethod(models.TextChoices):
    # Renewals are charged to the saved payment method, off-session.
    CHARGE_AUTOMATICALLY = "charge_automatically", "Charge the saved payment method"
    # Renewals are issued and e-mailed; the customer pays them (pay by invoice).
    SEND_INVOICE = "send_invoice", "E-mail the invoice"


class InvoiceBillingReason(models.TextChoices):
    CHECKOUT = "checkout", "Checkout (first invoice)"
    AMENDMENT = "amendment", "Amendment (plan switch or quantity update)"
    RENEWAL = "renewal", "Renewal"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open (awaiting payment)"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    # Every retry failed and the contract was cancelled: no longer collected.
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


class BillingEventType(models.TextChoices):
    """Events billing announces (``billing.signals``), delivered to merchants' webhooks."""

    INVOICE_CREATED = "invoice.created", "Invoice created"
    INVOICE_PAID = "invoice.paid", "Invoice paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed", "Invoice payment failed"
    INVOICE_PAYMENT_ACTION_REQUIRED = "invoice.payment_action_required", "Invoice payment needs the customer"
    CONTRACT_PAST_DUE = "contract.past_due", "Contract past due"
    CONTRACT_ACTIVE = "contract.active", "Contract active again"
    CONTRACT_UNPAID = "contract.unpaid", "Contract unpaid"
    CONTRACT_CANCELLED = "contract.cancelled", "Contract cancelled"
    PAYMENT_METHOD_ATTACHED = "payment_method.attached", "Payment method saved"
    PAYMENT_METHOD_DETACHED = "payment_method.detached", "Payment method detached"
    PAYMENT_REFUNDED = "payment.refunded", "Payment refunded"
    PAYMENT_DISPUTED = "payment.disputed", "Payment disputed"


class DiscountDuration(models.TextChoices):
    ONCE = "once", "Once (the first invoice)"
    REPEATING = "repeating", "Repeating (the first N invoices)"
    FOREVER = "forever", "Forever"


class PaymentProviderName(models.TextChoices):
    TEST = "test", "Built-in test provider"
    STRIPE = "stripe", "Stripe"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    INVOICE = "invoice", "Pay by invoice"
    NONE = "none", "Nothing to pay"


class PaymentAttemptStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SavedPaymentMethodStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DETACHED = "detached", "Detached"


class TestClockStatus(models.TextChoices):
    READY = "ready", "Ready"
    ADVANCING = "advancing", "Advancing"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RefundReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
    DUPLICATE = "duplicate", "Duplicate"
    FRAUDULENT = "fraudulent", "Fraudulent"
    # The money came in for terms that no longer exist (a contract changed while it settled).
    CONTRACT_CHANGED = "contract_changed", "Contract changed while the payment settled"
    OTHER = "other", "Other"


class DisputeStatus(models.TextChoices):
    # Stripe's dispute statuses, as reported by its events.
    WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs response"
    WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
    WARNING_CLOSED = "warning_closed", "Inquiry closed"
    NEEDS_RESPONSE = "needs_response", "Needs response"
    UNDER_REVIEW = "under_review", "Under review"
    WON = "won", "Won"
    LOST = "lost", "Lost"
