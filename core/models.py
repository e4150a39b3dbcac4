import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


class BaseModel(models.Model):
    """UUID primary key and timestamps for everything a merchant can see."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organization(BaseModel):
    """The tenant: one merchant."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiKey(BaseModel):
    """A secret API key, stored as a lookup prefix plus a SHA-256 hash.

    The full key is shown once, when created (core.services.api_key_create).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    livemode = models.BooleanField(default=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class BusinessEntity(BaseModel):
    """The merchant's legal entity that bills."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="business_entities"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    address = models.JSONField(default=dict, blank=True)
    default_currency = models.CharField(max_length=3, default="USD")
    # Manual tax rate in percent (e.g. 8.2500 for 8.25 %); null = no tax.
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    allow_invoice_payment = models.BooleanField(
        default=False, help_text="Customers may choose to be invoiced instead of paying by card."
    )
    is_default = models.BooleanField(default=False)
    # Checkout sessions that collect consent link to these terms; the URL the customer accepted
    # and when are stored on the contract.
    terms_url = models.URLField(max_length=2083, blank=True, verbose_name="terms of service URL")
    # Invoices (billing.invoice_numbers, billing.tax): the entity's own VAT/tax number, printed
    # on every invoice; the prefix of its sequential invoice numbers (INV-000001); how many days
    # a customer paying by invoice has; and where they pay (account holder, IBAN, BIC…).
    tax_id = models.CharField(max_length=64, blank=True, verbose_name="tax ID",
                              help_text="The entity's VAT or tax number, printed on its invoices.")
    invoice_prefix = models.CharField(
        max_length=16, default="INV-", validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9/_-]*$")],
        help_text="Put before each invoice number (INV- gives INV-000001). Letters, digits, - / _.")
    payment_terms_days = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(365)], verbose_name="payment terms (days)",
        help_text="Net terms of pay-by-invoice: the invoice is due this many days after it is issued.")
    bank_details = models.TextField(
        blank=True, help_text="How a customer paying by invoice pays: account holder, IBAN, BIC, bank.")

    class Meta:
        verbose_name_plural = "business entities"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="one_default_business_entity_per_org",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__isnull=True) | Q(tax_rate__gte=0, tax_rate__lte=100),
                name="business_entity_tax_rate_0_100",
            ),
            models.CheckConstraint(
                condition=Q(default_currency=Upper("default_currency")),
                name="business_entity_currency_upper",
            ),
        ]

    def __str__(self):
        return self.name


class AuditEntry(models.Model):
    """One thing a person did in admin (core.audit): who, when, to which object, what changed.
    Written beside Django's own LogEntry and kept when the user is deleted (``username`` stays);
    nobody edits or deletes these rows in admin."""

    class Action(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"
        LOGGED_IN = "logged_in", "Logged in"
        LOGGED_OUT = "logged_out", "Logged out"
        LOGIN_FAILED = "login_failed", "Login failed"

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    # {"field": [before, after]} for edits made through an admin form (secrets masked).
    changes = models.JSONField(default=dict, blank=True)
    address = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at"], name="audit_at"),
            models.Index(fields=["content_type", "object_id"], name="audit_object"),
        ]

    def __str__(self):
        who = self.username or "someone"
        what = f" {self.object_repr}" if self.object_repr else ""
        return f"{who} {self.get_action_display().lower()}{what} at {self.at:%Y-%m-%d %H:%M:%S} UTC"
