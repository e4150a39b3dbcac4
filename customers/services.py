"""Writes of customers.

Guest checkout creates the ``Customer`` when the session is confirmed, not before
(``customer_get_or_create_for_guest``).

A guest email that matches an existing customer of the organization (emails are unique
per organization, case-insensitively): the existing customer is reused and the contract
is attached to it; their stored details are *not* changed. Reasons:
- the merchant identifies customers by email, so a second record for the same address
  would split one customer's contracts and invoices across two rows;
- overwriting the stored name, address or tax ids with what an anonymous visitor typed
  would let anyone who knows an address edit someone else's record;
- the visitor learns nothing about the existing customer (the page shows only what they
  typed), so reuse leaks no data.
What the guest typed stays on the session (``customer_details``) for the merchant to
review, and the completed event says ``customer_matched_existing: true``.
"""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from customers.errors import CustomerDetailsInvalid, CustomerEmailTaken
from customers.models import Customer

CUSTOMER_FIELDS = ("customer_name", "email", "phone_number", "external_id", "address", "ship_to_address",
                   "tax_info", "custom_data")


def customer_find_by_email(*, organization_id, email: str) -> Customer | None:
    """Case-insensitive, using the ``lower(email)`` unique index."""
    if not email:
        return None
    return (
        Customer.objects.alias(email_lower=Lower("email"))
        .filter(organization_id=organization_id, email_lower=email.strip().lower())
        .first()
    )


def _fields_from_details(details: dict) -> dict:
    data = {key: details[key] for key in CUSTOMER_FIELDS if details.get(key) not in (None, "")}
    if not str(data.get("customer_name") or "").strip():
        raise CustomerDetailsInvalid("The customer's name is required.", field="customer.customer_name")
    if "email" in data:
        data["email"] = data["email"].strip()
    return data


def _customer_insert(*, organization_id, business_entity_id, data: dict) -> Customer | None:
    """Insert a customer; None when the email is taken (a concurrent insert of the same
    email lost to the unique index: only this savepoint rolls back)."""
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organization_id=organization_id, business_entity_id=business_entity_id, **data
            )
    except IntegrityError:
        if customer_find_by_email(organization_id=organization_id, email=data.get("email", "")):
            return None
        raise


@transaction.atomic
def customer_create(*, organization_id, business_entity_id=None, details: dict) -> Customer:
    """Create a customer from ``details`` (the API's customer shape). Refuses a taken email."""
    data = _fields_from_details(details)
    if customer_find_by_email(organization_id=organization_id, email=data.get("email", "")):
        raise CustomerEmailTaken(field="customer.email")
    customer = _customer_insert(organization_id=organization_id, business_entity_id=business_entity_id, data=data)
    if customer is None:
        raise CustomerEmailTaken(field="customer.email")
    return customer


@transaction.atomic
def customer_get_or_create_for_guest(*, organization_id, business_entity_id, details: dict) -> tuple[Customer, bool]:
    """The customer for a confirmed guest session: (customer, created).

    An existing customer with the same email (any case) is reused unchanged; see the
    module docstring for why.
    """
    email = (details.get("email") or "").strip()
    existing = customer_find_by_email(organization_id=organization_id, email=email)
    if existing is not None:
        return existing, False
    data = _fields_from_details(details)
    customer = _customer_insert(organization_id=organization_id, business_entity_id=business_entity_id, data=data)
    if customer is None:
        # Another session created this email between our lookup and insert.
        return customer_find_by_email(organization_id=organization_id, email=email), False
    return customer, True
