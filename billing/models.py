"""Catalogue (products, pricings, plans) and what customers bought (contracts, invoices)."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from core.models import BaseModel, BusinessEntity, Organization
from core.money import currency_validator, format_money
from customers.models import Customer

from .enums import (
    BillingType,
    CollectionMethod,
    ContractStatus,
    DiscountDuration,
    DisputeStatus,
    InvoiceBillingReason,
    InvoiceStatus,
    PaymentAttemptStatus,
    PaymentMethod,
    PaymentProviderName,
    PlanStatus,
    PricingModel,
    RefundReason,
    RefundStatus,
    SavedPaymentMethodStatus,
    TaxBehavior,
    TestClockStatus,
    Timing,
)

MONEY = {"max_digits": 19, "decimal_places": 4}


class Product(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    sku = models.CharField(max_length=100, null=True, blank=True)
    external_id = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sku"], condition=Q(sku__isnull=False), name="product_sku_unique_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=Q(external_id__isnull=False),
                name="product_external_id_unique_per_org",
            ),
        ]

    def __str__(self):
        return self.name


class Pricing(BaseModel):
    """How a product is charged.

    ``tiers`` (tiered/volume): ``[{"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
    {"up_to": null, "unit_amount": "4.00"}]`` — ascending, last one open-ended.
    ``cadence``: ISO-8601 months/years (``P1M``, ``P3M``, ``P1Y``) for recurring pricings.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pricings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="pricings")
    name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    pricing_model = models.CharField(max_length=16, choices=PricingModel.choices)
    billing = models.CharField(max_length=16, choices=BillingType.choices, default=BillingType.RECURRING)
    cadence = models.CharField(max_length=8, blank=True)
    timing = models.CharField(max_length=16, choices=Timing.choices, default=Timing.IN_ADVANCE)
    unit_amount = models.DecimalField(**MONEY, null=True, blank=True)
    package_size = models.PositiveIntegerField(null=True, blank=True)
    tiers = models.JSONField(default=list, blank=True)
    # Stripe's tax_behavior: exclusive prices have tax added on top; inclusive ones contain it,
    # so the customer pays the listed price whatever the rate.
    tax_behavior = models.CharField(max_length=16, choices=TaxBehavior.choices, default=TaxBehavior.EXCLUSIVE)

    class Meta:
        ordering = ["product__name", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pricing_model__in=PricingModel.values), name="pricing_model_valid"
            ),
            models.CheckConstraint(condition=Q(billing__in=BillingType.values), name="pricing_billing_valid"),
            models.CheckConstraint(condition=Q(timing__in=Timing.values), name="pricing_timing_valid"),
            models.CheckConstraint(condition=Q(tax_behavior__in=TaxBehavior.values), name="pricing_tax_behavior_valid"),
            models.CheckConstraint(
                condition=(Q(billing=BillingType.RECURRING) & ~Q(cadence=""))
                | (Q(billing=BillingType.ONE_TIME) & Q(cadence="")),
                name="pricing_cadence_iff_recurring",
            ),
            models.CheckConstraint(
                condition=Q(unit_amount__isnull=True) | Q(unit_amount__gte=0), name="pricing_unit_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=~Q(pricing_model=PricingModel.PACKAGE) | Q(package_size__gte=1),
                name="pricing_package_size_required",
            ),
            models.CheckConstraint(
                condition=~Q(pricing_model__in=[PricingModel.FLAT_FEE, PricingModel.PER_UNIT, PricingModel.PACKAGE])
                | Q(unit_amount__isnull=False),
                name="pricing_unit_amount_required",
            ),
        ]

    def __str__(self):
        return self.name or f"{self.product} ({self.get_pricing_model_display()})"


class Plan(BaseModel):
    """A named, versioned bundle of pricings in one currency."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    # A new subscription to the plan starts with this many free days (a session may override it).
    trial_period_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Free trial for new subscriptions, in days (empty: none)."
    )

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code", "version"], name="plan_code_version_unique"),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_valid"),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"


class PlanItem(models.Model):
    """A pricing in a plan, with its default quantity and bounds."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    pricing = models.ForeignKey(Pricing, on_delete=models.PROTECT, related_name="plan_items")
    default_quantity = models.PositiveIntegerField(default=1)
    min_quantity = models.PositiveIntegerField(default=0)
    max_quantity = models.PositiveIntegerField(null=True, blank=True)
    is_optional = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "product"], name="plan_item_product_unique"),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(max_quantity__gte=F("min_quantity")),
                name="plan_item_max_gte_min",
            ),
            models.CheckConstraint(
                condition=Q(default_quantity__gte=F("min_quantity"))
                & (Q(max_quantity__isnull=True) | Q(default_quantity__lte=F("max_quantity"))),
                name="plan_item_default_within_bounds",
            ),
        ]

    def __str__(self):
        return f"{self.product} × {self.default_quantity}"


class Contract(BaseModel):
    """What a customer has bought. Amendments add phases; history is never rewritten."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contracts")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contracts")
    business_entity = models.ForeignKey(BusinessEntity, on_delete=models.PROTECT, related_name="contracts")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts")
    currency = models.CharField(max_length=3)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE)
    # Bumped by every change to the contract's terms (amendments, ops edits in admin). A
    # checkout session records the version it was priced against; confirming it after the
    # contract moved on is refused (contract_changed) instead of billing a stale quote.
    version = models.PositiveIntegerField(default=1)
    # Made by confirming a live-mode session (True) or a test one: only a key of the same mode
    # can amend it, so a test key never changes what a customer really pays.
    livemode = models.BooleanField(default=False)
    # Nothing is billed before this day; the first paid period starts on it.
    trial_end = models.DateField(null=True, blank=True)
    # The discount the customer was sold with (``billing.estimates.Discount.to_json``), so
    # later invoices apply it for as long as its duration says.
    discount = models.JSONField(null=True, blank=True)
    # Consent: the merchant's terms the customer accepted at checkout, and when.
    terms_url = models.CharField(max_length=2083, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)

    # Renewals (billing.renewals). The day the next invoice is issued (None: nothing more to
    # bill); the run moves it on in the transaction that issues the invoice.
    next_billing_date = models.DateField(null=True, blank=True, editable=False)
    # Locked at checkout with the rest of the terms, so renewals bill the rate the estimate
    # showed (None: no tax).
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True, editable=False)
    # Why that rate (billing.tax.TaxReason: domestic, destination, reverse_charge…; blank for the
    # entity's flat rate): renewal invoices carry the same note as the first one.
    tax_reason = models.CharField(max_length=16, blank=True, editable=False)
    # How many invoices have used ``discount`` so far (it lasts ``duration_in_periods``).
    discount_invoices = models.PositiveIntegerField(default=0, editable=False)
    # Owed to the customer by an amendment that credited more than it charged; the next
    # invoices apply it before anything is charged.
    credit_balance = models.DecimalField(max_digits=19, decimal_places=4, default=0, editable=False)
    collection_method = models.CharField(max_length=24, choices=CollectionMethod.choices,
                                         default=CollectionMethod.CHARGE_AUTOMATICALLY, editable=False)
    # The method renewals are charged to; None: the customer's default for the contract's mode.
    default_payment_method = models.ForeignKey("SavedPaymentMethod", on_delete=models.SET_NULL, null=True,
                                               blank=True, related_name="+", editable=False)
    # Test mode only: the contract renews when this clock says so, never on the real date.
    test_clock = models.ForeignKey("TestClock", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="contracts", editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="contract_end_after_start",
            ),
            models.CheckConstraint(condition=Q(status__in=ContractStatus.values), name="contract_status_valid"),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="contract_credit_not_negative"),
            models.CheckConstraint(condition=Q(test_clock__isnull=True) | Q(livemode=False),
                                   name="contract_test_clock_test_mode_only"),
        ]
        indexes = [
            models.Index(fields=["organization", "customer"]),
            # The renewal run reads only renewing contracts on the real clock, by due day.
            models.Index(fields=["next_billing_date"], name="contract_renewal_due",
                         condition=Q(status__in=["active", "past_due", "unpaid"], test_clock__isnull=True,
                                     next_billing_date__isnull=False)),
        ]

    def __str__(self):
        return f"Contract {str(self.id)[:8]} ({self.customer})"


class Phase(BaseModel):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=200, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # Started by an amendment, whose own invoice billed everything due on its first day
    # (``billing.estimates.BillingSchedule.amendment_starts``).
    opened_by_amendment = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["contract", "position"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "position"], name="phase_position_unique"),
            # Half-open [start, end): a phase superseded on the day it started (an amendment
            # effective that day) is kept on record with end == start.
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="phase_end_not_before_start",
            ),
        ]

    def __str__(self):
        return self.name or f"Phase {self.position + 1}"


class PhaseItem(models.Model):
    """A priced item of a phase.

    ``terms`` holds the agreed pricing (model, amounts, tiers, billing, cadence, timing) as
    locked at checkout, so later catalogue edits never change what a customer pays.
    ``pricing`` points at the catalogue pricing it came from (null for inline pricings).
    """

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    pricing = models.ForeignKey(Pricing, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    terms = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.product} × {self.quantity}"


class Invoice(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invoices")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    checkout_session = models.OneToOneField(
        "checkout.CheckoutSession", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )
    currency = models.CharField(max_length=3)
    period_start = models.DateField()
    period_end = models.DateField()
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    amount_due = models.DecimalField(**MONEY)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    livemode = models.BooleanField(default=False)
    billing_reason = models.CharField(max_length=16, choices=InvoiceBillingReason.choices,
                                      default=InvoiceBillingReason.CHECKOUT)
    # The day the invoice bills (a renewal: the contract's billing date it was issued for).
    invoice_date = models.DateField(null=True, blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax_reason = models.CharField(max_length=16, blank=True)
    # The part of ``tax`` contained in tax-inclusive prices (the lines add up to subtotal + this).
    tax_included = models.DecimalField(**MONEY, default=0)
    # Sequential per business entity, gapless (billing.invoice_numbers): what the customer sees.
    business_entity = models.ForeignKey(BusinessEntity, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="invoices")
    number = models.CharField(max_length=32, null=True, blank=True)
    # Pay by invoice: the day the money is due (issued + the entity's payment terms).
    due_date = models.DateField(null=True, blank=True)
    credit_applied = models.DecimalField(**MONEY, default=0)
    # Owed to the customer after this invoice (an amendment that credited more than it charged).
    credit_carried_forward = models.DecimalField(**MONEY, default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Collection of renewals: how many charges were tried, and when the next one is due
    # (None: none scheduled, e.g. paid, or waiting for the customer).
    attempt_count = models.PositiveIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    # When the first charge failed (the retry schedule counts from it).
    first_failed_at = models.DateTimeField(null=True, blank=True)
    # A contract on a test clock: its invoices are collected when the clock moves, not by the
    # real-time sweep (which skips them).
    test_clock = models.ForeignKey("TestClock", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(total=F("subtotal") + F("tax")), name="invoice_total_is_sum"),
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
            # Exactly one renewal invoice per contract and billing date, whatever retries,
            # restarts or races happen.
            models.UniqueConstraint(fields=["contract", "invoice_date"], name="invoice_one_renewal_per_date",
                                    condition=Q(billing_reason="renewal")),

            models.UniqueConstraint(fields=["business_entity", "number"], name="invoice_number_unique_per_entity"),
        ]
        indexes = [
            # The collection sweep: open invoices whose next charge is due.
            models.Index(fields=["next_payment_attempt"], name="invoice_collection_due",
                         condition=Q(status="open", next_payment_attempt__isnull=False, test_clock__isnull=True)),
        ]

    def __str__(self):
        return f"Invoice {self.number or str(self.id)[:8]} {self.total} {self.currency}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    # The estimate line's kind (billing.estimates.LineKind): charge, usage, credit, one_time,
    # trial or discount.
    kind = models.CharField(max_length=16, blank=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    pricing_model = models.CharField(max_length=16, choices=PricingModel.choices, blank=True)
    quantity = models.DecimalField(max_digits=19, decimal_places=4)
    unit_amount = models.DecimalField(**MONEY, null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    proration = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class InvoiceNumberCounter(models.Model):
    """The last invoice number a business entity issued. Taken with one UPDATE in the invoice's
    own transaction (billing.invoice_numbers), so the row stays locked until that commits: two
    invoices never share a number and a rolled-back one gives its number back (no gaps)."""

    business_entity = models.OneToOneField(BusinessEntity, on_delete=models.CASCADE, primary_key=True,
                                           related_name="+")
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.business_entity_id}: {self.last_number}"


class Coupon(BaseModel):
    """A reduction merchants give: a percentage or a fixed amount in one currency, for the first
    invoice, the first ``duration_in_periods`` invoices or for ever. Redeemable within
    ``valid_from``…``valid_until``, at most ``max_redemptions`` times, for ``plans`` only when
    any are listed. Counted once per completed checkout (``CouponRedemption``)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="coupons")
    livemode = models.BooleanField(default=False)
    name = models.CharField(max_length=100, help_text="Shown to the customer, e.g. \"Spring sale\".")
    percent_off = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    amount_off = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, validators=[currency_validator],
                                help_text="The currency of amount_off (sessions in other currencies cannot use it).")
    duration = models.CharField(max_length=16, choices=DiscountDuration.choices, default=DiscountDuration.ONCE)
    duration_in_periods = models.PositiveIntegerField(
        null=True, blank=True, help_text="Repeating: how many invoices (billing periods) are discounted.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    plans = models.ManyToManyField(Plan, blank=True, related_name="+",
                                   help_text="Only these plans (none selected: every plan).")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(percent_off__isnull=False, amount_off__isnull=True, percent_off__gt=0,
                             percent_off__lte=100)
                           | Q(percent_off__isnull=True, amount_off__isnull=False, amount_off__gt=0)
                           & ~Q(currency="")),
                name="coupon_percent_or_amount",
            ),
            models.CheckConstraint(
                condition=(Q(duration=DiscountDuration.REPEATING, duration_in_periods__gte=1)
                           | (Q(duration__in=[DiscountDuration.ONCE, DiscountDuration.FOREVER])
                              & Q(duration_in_periods__isnull=True))),
                name="coupon_periods_iff_repeating",
            ),
        ]

    def __str__(self):
        return self.name


class PromotionCode(BaseModel):
    """A code customers type on the hosted page (``SPRING20``) that applies a coupon; it may
    have its own expiry and redemption limit, on top of the coupon's."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="promotion_codes")
    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="promotion_codes")
    code = models.CharField(max_length=50, help_text="Matched without regard to case.")
    is_active = models.BooleanField(default=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Upper("code"), "organization", name="promotion_code_unique_per_org"),
        ]

    def __str__(self):
        return self.code


class CouponRedemption(models.Model):
    """One use of a coupon: made when the checkout that carried it completes, once per session."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    promotion_code = models.ForeignKey(PromotionCode, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="redemptions")
    checkout_session = models.OneToOneField("checkout.CheckoutSession", on_delete=models.PROTECT,
                                            related_name="coupon_redemption")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    redeemed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-redeemed_at"]


class Payment(BaseModel):
    """One attempt to collect money through a payment provider: a checkout session's amount
    (``checkout_session``), or an invoice's (``invoice``: renewals and their retries)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    checkout_session = models.ForeignKey("checkout.CheckoutSession", on_delete=models.PROTECT, null=True,
                                         blank=True, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    livemode = models.BooleanField(default=False)
    # The saved method charged (renewals), or saved by this payment (checkout).
    saved_payment_method = models.ForeignKey("SavedPaymentMethod", on_delete=models.PROTECT, null=True,
                                             blank=True, related_name="payments")
    # Charged without the customer present (a renewal): merchant-initiated, under the mandate.
    off_session = models.BooleanField(default=False)
    # The gateway idempotency key of this attempt, recorded before the gateway is called: a
    # retry after a lost answer sends the same key with the same parameters.
    idempotency_key = models.CharField(max_length=100, blank=True)
    # Refunded so far, pending refunds included: a refund is refused when it would exceed the
    # amount (checked and raised under the payment's row lock).
    amount_refunded = models.DecimalField(max_digits=19, decimal_places=4, default=0)
    provider = models.CharField(max_length=32, default="test")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    status = models.CharField(max_length=16, choices=PaymentAttemptStatus.choices)
    amount = models.DecimalField(max_digits=19, decimal_places=4)
    currency = models.CharField(max_length=3)
    card_last4 = models.CharField(max_length=4, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    # What the provider was asked to charge (Stripe: the PaymentMethod id made by Stripe.js),
    # recorded with the idempotency key before the call: a retry sends both again unchanged.
    payment_method_reference = models.CharField(max_length=255, blank=True)
    # Stripe: the PaymentIntent's client secret, handed to the customer's browser to complete
    # 3-D Secure; meant for that browser, never logged.
    client_secret = models.CharField(max_length=255, blank=True, editable=False)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    # A failed invoice attempt: when the retry it scheduled is due (none: no more retries, or
    # the customer must act on the hosted invoice page).
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Moved from the checkout app: the table keeps its name.
        db_table = "checkout_payment"
        ordering = ["-created_at"]
        constraints = [
            # At most one charge that is in flight or went through, per session.
            models.UniqueConstraint(
                fields=["checkout_session"],
                condition=Q(status__in=[PaymentAttemptStatus.PENDING, PaymentAttemptStatus.SUCCEEDED]),
                name="one_live_payment_per_session",
            ),
            # And per invoice: a renewal is never charged twice, whatever runs at once.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=[PaymentAttemptStatus.PENDING, PaymentAttemptStatus.SUCCEEDED]),
                name="one_live_payment_per_invoice",
            ),
            models.CheckConstraint(condition=Q(checkout_session__isnull=False) | Q(invoice__isnull=False),
                                   name="payment_for_session_or_invoice"),
            models.CheckConstraint(condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                                   name="payment_refunds_within_amount"),
        ]

    def __str__(self):
        """What admin's lists, confirmation pages and the audit log name it by: "$49.00 by card
        •••• 4242, succeeded"."""
        how = {PaymentMethod.CARD: "by card", PaymentMethod.INVOICE: "by invoice"}.get(self.method, "nothing due")
        card = f" •••• {self.card_last4}" if self.card_last4 else ""
        return f"{format_money(self.amount, self.currency)} {how}{card}, {self.status}"


class PaymentSettings(BaseModel):
    """How one organization takes card payments in one mode (test or live).

    ``test``: the built-in test provider (test mode only). ``stripe``: Stripe, with the
    organization's own keys; the secret key and the webhook signing secret are stored
    encrypted (core.secrets) and never shown again once saved.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="payment_settings")
    livemode = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, choices=PaymentProviderName.choices, default=PaymentProviderName.TEST)
    stripe_publishable_key = models.CharField(max_length=255, blank=True)
    stripe_secret_key_encrypted = models.TextField(blank=True, editable=False)
    stripe_webhook_secret_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        db_table = "checkout_paymentsettings"
        verbose_name = verbose_name_plural = "payment settings"
        constraints = [
            models.UniqueConstraint(fields=["organization", "livemode"], name="payment_settings_one_per_mode"),
            models.CheckConstraint(condition=Q(provider__in=PaymentProviderName.values),
                                   name="payment_settings_provider_valid"),
            models.CheckConstraint(condition=Q(livemode=False) | ~Q(provider=PaymentProviderName.TEST),
                                   name="payment_settings_no_test_provider_live"),
        ]

    def __str__(self):
        return f"{self.organization} · {'live' if self.livemode else 'test'} · {self.provider}"

    def __repr__(self):  # never the secrets, not even encrypted
        return f"<PaymentSettings {self.pk} {self.provider} livemode={self.livemode}>"


class SavedPaymentMethod(BaseModel):
    """A card saved for charges made without the customer present (renewals), with the
    customer's agreement to them (the mandate, which card networks require for
    merchant-initiated charges: what was shown, when, from where).

    ``provider_reference``: Stripe's PaymentMethod id (``pm_…``), or the test provider's
    (``pm_test_<behaviour>_…``: it behaves like the test card it was saved from). Card numbers
    are never stored; brand, last four digits and expiry are what the customer recognises.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="saved_payment_methods")
    livemode = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, choices=PaymentProviderName.choices)
    provider_reference = models.CharField(max_length=100)
    # The provider's customer the method is attached to (Stripe: ``cus_…``).
    provider_customer = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=SavedPaymentMethodStatus.choices,
                              default=SavedPaymentMethodStatus.ACTIVE)
    # The customer's default in this mode is their active method with the latest
    # ``default_since`` (set when saved as the default, or made it later): renewals of contracts
    # without their own method use it. A timestamp, not a flag, so saving a new default is one
    # INSERT (no other row to unset) and two at once cannot leave two defaults.
    default_since = models.DateTimeField(null=True, blank=True)
    # The mandate: the exact text shown next to the button, when it was accepted, and from where.
    mandate_text = models.TextField(blank=True)
    mandate_accepted_at = models.DateTimeField(null=True, blank=True)
    mandate_ip_address = models.GenericIPAddressField(null=True, blank=True)
    mandate_user_agent = models.CharField(max_length=300, blank=True)
    checkout_session = models.ForeignKey("checkout.CheckoutSession", on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="+")
    detached_at = models.DateTimeField(null=True, blank=True)
    # When the provider confirmed the detach (Stripe: the PaymentMethod left its Customer). Null on
    # a detached method: still to tell the provider (``saved_payment_methods_provider_detach_due``).
    provider_detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "livemode", "provider", "provider_reference"],
                                    name="saved_payment_method_unique"),
        ]
        indexes = [models.Index(fields=["customer", "livemode", "-default_since"], name="saved_pm_customer")]

    def __str__(self):
        return f"{self.brand or 'card'} •••• {self.last4}" if self.last4 else self.provider_reference


class ProviderCustomer(BaseModel):
    """The payment provider's record of one of our customers (Stripe: a Customer ``cus_…``),
    created once per customer, mode and provider, so saved methods attach to it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    livemode = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, choices=PaymentProviderName.choices)
    provider_reference = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "livemode", "provider"], name="provider_customer_once"),
        ]


class TestClock(BaseModel):
    """Test mode's clock (as Stripe's test clocks): contracts on it renew when it is advanced,
    so a merchant can run a year of renewals in a minute. Live contracts never use one."""

    __test__ = False  # not a pytest test class

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="test_clocks")
    # The customer whose test-mode contracts follow the clock (one clock per customer).
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="test_clock")
    name = models.CharField(max_length=100, blank=True)
    frozen_time = models.DateTimeField()
    status = models.CharField(max_length=16, choices=TestClockStatus.choices, default=TestClockStatus.READY)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name or f"Test clock {str(self.id)[:8]}"


class BillingSettings(BaseModel):
    """An organization's renewal collection policy (dunning): when failed charges are retried,
    and what happens to the contract after the last retry fails."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="billing_settings")
    # Days after the first failure at which each retry is made (default: 1, 3, 5, 7).
    retry_schedule_days = models.JSONField(default=list, blank=True)
    # After the last retry: cancel the contract, or leave it running as unpaid.
    final_action = models.CharField(max_length=16, default="cancel",
                                    choices=[("cancel", "Cancel the contract"), ("unpaid", "Mark it unpaid")])

    class Meta:
        verbose_name = verbose_name_plural = "billing settings"


class Refund(BaseModel):
    """Money given back on a payment, in full or in part, through its provider: from the API or
    admin (``source`` api/admin), or made in the provider's own dashboard and reported back
    (``provider``). ``idempotency_key`` goes to the provider, so a retry never refunds twice."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    livemode = models.BooleanField(default=False)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=RefundReason.choices, default=RefundReason.REQUESTED_BY_CUSTOMER)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    source = models.CharField(max_length=16, default="api")
    provider_reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # Who asked, for the audit trail (an admin user's name, "api", or the provider).
    requested_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(fields=["payment", "provider_reference"], condition=~Q(provider_reference=""),
                                    name="refund_provider_reference_once"),
        ]

    def __str__(self):
        return f"Refund {self.amount} {self.currency} ({self.status})"


class CreditNote(BaseModel):
    """A document reducing what an invoice charged: made with every refund of its payment."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="credit_note")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=RefundReason.choices)

    class Meta:
        ordering = ["-created_at"]


class Dispute(BaseModel):
    """A chargeback (or inquiry) the customer's bank opened on a payment, as the provider
    reports it (Stripe's ``charge.dispute.*`` events)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    livemode = models.BooleanField(default=False)
    provider_reference = models.CharField(max_length=100)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, choices=DisputeStatus.choices)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "provider_reference"], name="dispute_once"),
        ]
