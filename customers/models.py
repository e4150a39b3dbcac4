from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from core.models import BaseModel, BusinessEntity, Organization


class Customer(BaseModel):
    """An end customer of a merchant.

    ``address`` / ``ship_to_address``: ``{line1, line2, line3, city, state, zip_code, country}``
    (country ISO-3166 alpha-2). ``tax_info``: ``[{"type": "eu_vat", "value": "DE123…"}]``.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    business_entity = models.ForeignKey(
        BusinessEntity, on_delete=models.PROTECT, null=True, blank=True, related_name="customers"
    )
    customer_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, null=True, blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    address = models.JSONField(default=dict, blank=True)
    ship_to_address = models.JSONField(default=dict, blank=True)
    tax_info = models.JSONField(default=list, blank=True)
    custom_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"),
                condition=Q(email__isnull=False),
                name="customer_email_unique_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_external_id_unique_per_org",
            ),
        ]
        indexes = [models.Index(fields=["organization", "customer_name"])]

    def __str__(self):
        return f"{self.customer_name} <{self.email}>" if self.email else self.customer_name
