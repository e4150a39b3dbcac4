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
    """The customer's fields from confirmed guest details (the confirm service has already
    required a name)."""
    data = {key: details[key] for key in CUSTOMER_FIELDS if details.get(key) not in (None, "")}
    if "email" in data:
        data["email"] = data["email"].strip()
    return data


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
    try:
        with transaction.atomic():  # savepoint: only this insert rolls back if it loses
            return Customer.objects.create(
                organization_id=organization_id, business_entity_id=business_entity_id,
                **_fields_from_details(details),
            ), True
    except IntegrityError:
        # Another session created this email between our lookup and insert.
        winner = customer_find_by_email(organization_id=organization_id, email=email)
        if winner is None:
            raise
        return winner, False


# --- ops: erasure ---------------------------------------------------------------------------

ANONYMISED_NAME = "Anonymised customer"


@transaction.atomic
def customer_anonymise(*, organization_id, customer_id) -> Customer:
    """GDPR erasure without losing history: the customer's personal fields are replaced (name
    by ``ANONYMISED_NAME``, email, phone, ids, addresses, tax ids and custom data emptied), and
    so are the details typed into its checkout sessions; the customer row, its contracts,
    invoices and sessions stay, so the books still add up. Refused (409
    ``customer_in_checkout``) while one of its sessions is open or processing a payment: cancel
    or let it finish first. Idempotent."""
    from checkout.enums import SessionStatus
    from checkout.models import CheckoutSession
    from core.errors import Conflict

    customer = Customer.objects.select_for_update().get(pk=customer_id, organization_id=organization_id)
    sessions = CheckoutSession.objects.filter(organization_id=organization_id, customer_id=customer.pk)
    if sessions.filter(status__in=[SessionStatus.OPEN, SessionStatus.PROCESSING]).exists():
        raise Conflict("The customer has a checkout session in progress: cancel it or let it finish first.",
                       code="customer_in_checkout")
    customer.customer_name = ANONYMISED_NAME
    customer.email = None
    customer.phone_number = ""
    customer.external_id = None
    customer.address, customer.ship_to_address = {}, {}
    customer.tax_info, customer.custom_data = [], {}
    customer.save()
    sessions.exclude(customer_details=None).update(customer_details={"anonymised": True})
    return customer
