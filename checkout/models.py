from django.db import models
from django.db.models import Q

from billing.enums import PaymentMethod
from billing.models import Contract, Coupon, Plan, PromotionCode
from core.models import BaseModel, BusinessEntity, Organization
from customers.models import Customer

from .enums import (
    WEBHOOK_EVENT_CHOICES,
    CancellationReason,
    CheckoutType,
    DeliveryStatus,
    IdempotencyStatus,
    PageLocale,
    PaymentMethodCollection,
    PaymentStatus,
    SessionStatus,
)
from .urlrules import URL_MAX


class CheckoutSession(BaseModel):
    """A short-lived, priced offer, completed on the hosted page.

    ``quote``: the resolved configuration the estimate was computed from (phases, items,
    quantities and pricing terms), locked with ``estimates`` so confirming bills exactly
    what the customer was shown.
    """

    # Indexed through the session_org_* composites (each leads with it). Every index here
    # costs every expiry (a status change updates them all), so none is redundant.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="checkout_sessions", db_index=False
    )
    checkout_type = models.CharField(max_length=20, choices=CheckoutType.choices)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    payment_status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.NOT_STARTED
    )
    livemode = models.BooleanField(default=False)
    # The hosted page is found by this, never by the id (unique: see Meta.constraints; a
    # unique=True CharField would add a second, LIKE-only index).
    token = models.CharField(max_length=64, editable=False)

    # Not indexed (nor business_entity below): nothing reads sessions by plan, contract or
    # business entity, and each index would cost every create and every expiry. The price:
    # deleting a Plan / Contract / BusinessEntity (a rare ops action) runs its PROTECT
    # check as a scan of the sessions table instead of an index probe.
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="checkout_sessions",
        db_index=False,
    )
    # Indexed through session_org_customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="checkout_sessions",
        db_index=False,
    )
    business_entity = models.ForeignKey(
        BusinessEntity, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Amendments: the contract's version and the phase in force they were priced against.
    # Confirming after the contract moved on is refused (billing.errors.ContractChanged).
    contract_version = models.PositiveIntegerField(null=True, blank=True)
    contract_phase_id = models.UUIDField(null=True, blank=True)
    guest_checkout = models.BooleanField(default=False)
    customer_details = models.JSONField(null=True, blank=True)

    currency = models.CharField(max_length=3)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    product_overrides = models.JSONField(default=list, blank=True)
    # Plan-based new contracts: the plans the customer may switch between on the hosted page
    # (``plan_choices`` in the API), each as priced when the session was (re-)locked:
    # {"plan_id", "name", "months", "period_amount"} (``billing.intervals``), so the page shows
    # the intervals and the yearly saving from the row alone. Empty: no choice offered.
    plan_choices = models.JSONField(default=list, blank=True)
    contract_spec = models.JSONField(null=True, blank=True)
    quote = models.JSONField(default=dict, blank=True)
    estimates = models.JSONField(default=dict, blank=True)

    success_url = models.CharField(max_length=URL_MAX, blank=True)
    cancel_url = models.CharField(max_length=URL_MAX, blank=True)
    pending_url = models.CharField(max_length=URL_MAX, blank=True)
    attribution = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The merchant's own reference for the checkout (their cart or order id), shown back as is.
    client_reference_id = models.CharField(max_length=500, blank=True, default="")
    trace_id = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    # BaseModel indexes created_at on its own; listing reads it through session_org_created
    # (organization first), so the single-column index only cost writes.
    created_at = models.DateTimeField(auto_now_add=True)

    # Discounts: a coupon the merchant gave at creation or a promotion code the customer
    # entered on the page (``allow_promotion_codes``). The discount's terms are locked in
    # ``quote["discount"]`` with the estimates; these say which rows to count a redemption on.
    allow_promotion_codes = models.BooleanField(default=False)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               db_index=False)
    promotion_code = models.ForeignKey(PromotionCode, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", db_index=False)

    # Consent: the business entity's terms URL when the customer must accept it to confirm
    # (empty: no consent collected), and when they did.
    terms_url = models.CharField(max_length=URL_MAX, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)

    # Recovery (after_expiration.recovery.enabled): when the session expires it gets a
    # recovery_url (set by the expiry, in the same statement) that opens a new session with
    # the same terms, priced that day; that session points back here through recovered_from.
    recovery_enabled = models.BooleanField(default=False)
    recovery_url = models.CharField(max_length=URL_MAX, blank=True)
    recovered_from = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="recoveries", db_index=False)

    # Whether a card is collected (and saved for the renewals) when nothing is due today.
    payment_method_collection = models.CharField(max_length=16, choices=PaymentMethodCollection.choices,
                                                 default=PaymentMethodCollection.ALWAYS)
    # The hosted page's language (checkout.i18n): "auto" follows the browser's Accept-Language.
    locale = models.CharField(max_length=8, choices=PageLocale.choices, default=PageLocale.AUTO)
    # The language the customer confirmed in (the page's, "auto" resolved); the receipt email is
    # written in it. Empty for a confirm through the API: the locale decides, else English.
    customer_language = models.CharField(max_length=8, blank=True, default="")

    # The customer's receipt (or invoice) email: pending from completion (when they have an
    # email address) until the worker sent it.
    receipt_pending = models.BooleanField(default=False)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)
    cancellation_reason = models.CharField(max_length=32, choices=CancellationReason.choices, blank=True)
    cancellation_detail = models.CharField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    # Copies of attribution and estimates values, written with them by the create and update
    # services (checkout.services.create.reporting_columns), so the conversion dashboard and
    # the metrics read everything they count from the ``session_dashboard`` index alone, never
    # the wide rows. Plain columns, not GeneratedFields: adding a stored generated column
    # rewrites the table under an exclusive lock (63 s at 1M sessions, measured), adding a
    # nullable one does not. Truncated: utm values may be 500 characters, a B-tree entry must
    # stay under ~2.7 kB.
    utm_source = models.CharField(max_length=100, null=True, blank=True, editable=False)
    utm_campaign = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # What the customer pays at checkout (the locked current invoice's total, tax included): the
    # completed sessions' sum is the revenue booked (their first invoices equal it to the cent).
    amount_total = models.DecimalField(max_digits=19, decimal_places=4, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="session_token_unique"),
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="session_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values), name="session_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(checkout_type__in=CheckoutType.values), name="session_checkout_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="session_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(guest_checkout=True) | Q(customer__isnull=False),
                name="session_customer_or_guest",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="session_org_created"),
            models.Index(fields=["organization", "status", "-created_at"], name="session_org_status"),
            models.Index(fields=["organization", "customer"], name="session_org_customer"),
            # The expiry sweep reads only open sessions by due time.
            models.Index(
                fields=["expires_at"], condition=Q(status=SessionStatus.OPEN), name="session_open_expires_at"
            ),
            # Recovery finds the session an expired one was recovered into; only those are indexed.
            models.Index(fields=["recovered_from"], condition=Q(recovered_from__isnull=False),
                         name="session_recovered_from"),
            # The receipt sweep reads only sessions whose email is still to send.
            models.Index(fields=["completed_at"], condition=Q(receipt_pending=True), name="session_receipt_pending"),
            # The conversion dashboard and the metrics' recent-sessions gauge: a range of
            # created_at in one mode, answered by an index-only scan (everything they count or
            # sum is included). Costs every create and status change one more index entry.
            models.Index(
                fields=["livemode", "created_at"],
                include=["status", "expires_at", "organization", "plan", "currency", "amount_total",
                         "utm_source", "utm_campaign"],
                name="session_dashboard",
            ),
        ]

    def __str__(self):
        return f"cs {self.id} ({self.status})"


class IdempotencyRecord(models.Model):
    """One per (organization, mode, key): the request's fingerprint and its stored response.
    Test and live keys have separate namespaces, as their sessions do: test traffic never
    answers, or blocks, a live request."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    livemode = models.BooleanField(default=False)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    checkout_session = models.ForeignKey(
        CheckoutSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "livemode", "key"], name="idempotency_key_unique_per_mode"),
        ]

    @classmethod
    def claim_held(cls, record_id, claimed_at) -> models.QuerySet:
        """The claim's row while its holder still holds it: in progress, and not taken over
        (a takeover moves ``created_at``) since ``claimed_at``."""
        return cls.objects.filter(pk=record_id, status=IdempotencyStatus.IN_PROGRESS, created_at=claimed_at)


# The payload a bulk write (the expiry sweep) leaves for the outbox pass to complete
# (``checkout.sessions.events.event_payloads_complete``). Never mutate it.
EVENT_PAYLOAD_PENDING: dict = {}


class Event(BaseModel):
    """Outbox: written in the same transaction as the state change it reports."""

    # Indexed through event_list (it leads with the organization).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # Not indexed alone: the outbox reads undispatched events through the partial
    # event_undispatched, the events API through event_list.
    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed through event_sequence_unique (it leads with the session). None: an event about
    # a billing object (an invoice, a contract, a payment, a saved method).
    checkout_session = models.ForeignKey(
        CheckoutSession, on_delete=models.CASCADE, related_name="events", db_index=False, null=True, blank=True
    )
    # What a billing event is about: its ``data.object``'s type and id (a session's events say
    # ``checkout_session`` and leave the id to ``checkout_session``). A session's events are
    # numbered per session, any other object's per object, and each is delivered to an endpoint
    # only after the earlier ones of the same session or object.
    # A database default too: the session writers that insert events in SQL leave it out.
    object_type = models.CharField(max_length=32, default="checkout_session", db_default="checkout_session")
    object_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=64, choices=WEBHOOK_EVENT_CHOICES)
    # The session's mode: the event goes only to endpoints of the same mode.
    livemode = models.BooleanField(default=False)
    sequence = models.PositiveIntegerField()
    payload = models.JSONField(default=dict)
    # Set once deliveries for every subscribed endpoint have been created.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["checkout_session", "sequence"], name="event_sequence_unique"),
            models.UniqueConstraint(fields=["object_id", "sequence"], condition=Q(checkout_session__isnull=True),
                                    name="event_object_sequence_unique"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"
            ),
            # The events API's list, newest first (checkout.selectors.event_list); it also serves
            # an Organization's CASCADE.
            models.Index(fields=["organization", "livemode", "-created_at", "-id"], name="event_list"),
            # Retention (checkout.services.retention) walks dispatched events oldest first.
            models.Index(
                fields=["created_at"], condition=Q(dispatched_at__isnull=False), name="event_dispatched_created"
            ),
        ]

    def __str__(self):
        about = "session" if self.checkout_session_id else self.object_type.replace("_", " ")
        return f"{self.type} #{self.sequence} of {about} {str(self.checkout_session_id or self.object_id)[:8]}…"


class WebhookEndpoint(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=URL_MAX)
    description = models.CharField(max_length=200, blank=True)
    # Needed in clear to sign deliveries; shown to the merchant only once.
    secret = models.CharField(max_length=100, editable=False)
    # After a roll, deliveries are also signed with the secret before it, until this time.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    enabled_events = models.JSONField(default=list, help_text="Event types; empty = all.")
    is_active = models.BooleanField(default=True)
    # Test-mode endpoints receive test sessions' events only, live ones live events only; a
    # key of one mode cannot see or change the other's endpoints.
    livemode = models.BooleanField(default=False)
    # Health: set by the first failed attempt after a success, cleared by the next success.
    # Failing for ENDPOINT_DISABLE_AFTER, the endpoint is paused (is_active) and says why.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.url


class WebhookDelivery(BaseModel):
    # Indexed through delivery_created (with the status, for the metrics' outcome counts).
    created_at = models.DateTimeField(auto_now_add=True)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status=DeliveryStatus.PENDING), name="delivery_due"
            ),
            # Metrics: deliveries of the last 24 hours by outcome (index-only), and the oldest
            # pending one (the first entry of a small partial index).
            models.Index(fields=["created_at"], include=["status"], name="delivery_created"),
            models.Index(
                fields=["created_at"], condition=Q(status=DeliveryStatus.PENDING), name="delivery_pending_created"
            ),
        ]

    def __str__(self):  # admin titles: what it is, not "WebhookDelivery object (…)"
        attempts = f"{self.attempt_count} attempt{'' if self.attempt_count == 1 else 's'}"
        return f"Delivery of {self.event.type} to {self.endpoint.url} ({attempts})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(auto_now_add=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self):
        outcome = self.response_status or self.error or "no answer"
        return f"Attempt at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {outcome}"


class PageView(models.Model):
    """The first time a session's hosted page was opened (issue #29: the funnel's "page opened"
    and "expired without a page view"). One row per session, written once per worker process
    at most (checkout.activity.page_view_record); never updates the session row, so the page
    cache (keyed by ``updated_at``) and the session's indexes are untouched."""

    checkout_session = models.OneToOneField(CheckoutSession, on_delete=models.CASCADE, primary_key=True,
                                            related_name="page_view")
    opened_at = models.DateTimeField()

    def __str__(self):
        return f"page of {self.checkout_session_id} opened {self.opened_at:%Y-%m-%d %H:%M:%S}"


class HostedInvoice(BaseModel):
    """The hosted invoice page of one invoice that a renewal could not collect: its unguessable
    link (``/invoice/<token>``), e-mailed to the customer, where they pay it now (the saved card,
    another card, or completing 3-D Secure). Made with the first dunning email."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="hosted_page")
    livemode = models.BooleanField(default=False)
    token = models.CharField(max_length=64, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token"], name="hosted_invoice_token_unique")]

    def __str__(self):
        return f"Hosted page of invoice {self.invoice_id}"


class InvoiceEmailStep(models.TextChoices):
    """The dunning emails: at the first failure, and when the last retry is scheduled."""

    FIRST_FAILURE = "first_failure", "First failure"
    LAST_RETRY = "last_retry", "Before the last retry"


class InvoiceEmail(BaseModel):
    """One dunning email of an invoice, once per step (the unique constraint): recorded in the
    transaction that failed the charge, sent by the worker after it committed (pending until
    then; the sweep sends those whose task was lost), in the customer's language."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="emails")
    step = models.CharField(max_length=16, choices=InvoiceEmailStep.choices)
    pending = models.BooleanField(default=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Where it went and in which language (the customer's, from their checkout).
    to = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["invoice", "step"], name="invoice_email_once_per_step")]
        indexes = [models.Index(fields=["created_at"], condition=Q(pending=True), name="invoice_email_pending")]
