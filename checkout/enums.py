from django.db import models

from billing.enums import BillingEventType


class CheckoutType(models.TextChoices):
    NEW_CONTRACT = "new_contract", "New contract"
    PLAN_SWITCH = "plan_switch", "Plan switch"
    QUANTITY_UPDATE = "quantity_update", "Quantity update"
    # Stripe's mode=setup: save a new card for an existing customer (and contract), charge nothing.
    SETUP = "setup", "Update payment method"


class SessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


FINAL_STATUSES = (SessionStatus.COMPLETED, SessionStatus.CANCELLED, SessionStatus.EXPIRED)


class PaymentMethodCollection(models.TextChoices):
    """Whether the page collects a card when nothing is due today (a free trial, a 100 %
    discount, a later start): ``always`` saves one for the renewals (the default, as Stripe's
    ``payment_method_collection``); ``if_required`` asks only when money is due now."""

    ALWAYS = "always", "Always (save a card for the renewals)"
    IF_REQUIRED = "if_required", "Only when something is due now"


class PageLocale(models.TextChoices):
    """The hosted page's language: ``auto`` follows the browser's Accept-Language."""

    AUTO = "auto", "Automatic (from the browser)"
    EN = "en", "English"
    DE = "de", "German"
    FR = "fr", "French"
    ES = "es", "Spanish"
    JA = "ja", "Japanese"


class PaymentStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    NO_PAYMENT_REQUIRED = "no_payment_required", "No payment required"


class CancellationReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
    DUPLICATE = "duplicate", "Duplicate"
    ABANDONED = "abandoned", "Abandoned"
    FRAUDULENT = "fraudulent", "Fraudulent"
    OTHER = "other", "Other"


class EventType(models.TextChoices):
    COMPLETED = "checkout_session.completed", "Completed"
    PROCESSING = "checkout_session.processing", "Processing"
    PAYMENT_FAILED = "checkout_session.payment_failed", "Payment failed"
    CANCELLED = "checkout_session.cancelled", "Cancelled"
    EXPIRED = "checkout_session.expired", "Expired"


# Every event a webhook endpoint can receive: the sessions' and billing's (invoices, contracts,
# payments and saved methods, announced through ``billing.signals``).
WEBHOOK_EVENT_CHOICES = [*EventType.choices, *BillingEventType.choices]
WEBHOOK_EVENT_TYPES = tuple(value for value, _label in WEBHOOK_EVENT_CHOICES)

# A webhook endpoint's ``enabled_events`` entry for every event type (stored as ``[]``).
ALL_EVENTS = "*"


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"
