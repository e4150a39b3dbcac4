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


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class ContractStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open (awaiting payment)"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


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
