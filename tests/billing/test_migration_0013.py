"""Migration 0013 numbers the invoices issued before numbering existed: each gets its contract's
business entity and that entity's next number in the order the invoices were issued, and each
entity's counter starts after its last one, so the next invoice continues the sequence."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.db import connection, transaction

from billing.invoice_numbers import invoice_numbers_take
from billing.models import Invoice, InvoiceNumberCounter
from tests.billing.renewal_helpers import sell
from tests.core.factories import BusinessEntityFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("billing.migrations.0013_invoices_tax")


def test_invoices_issued_before_numbering_are_numbered_in_issue_order(organization):
    first = CustomerFactory(organization=organization,
                            business_entity=BusinessEntityFactory(organization=organization, invoice_prefix="A-"))
    second = CustomerFactory(organization=organization, business_entity=BusinessEntityFactory(
        organization=organization, is_default=False, invoice_prefix="B-"))
    for customer, start in ((first, date(2027, 1, 5)), (second, date(2027, 1, 6)), (first, date(2027, 1, 7))):
        sell(customer, start=start)
    # As the AddField operations leave them.
    Invoice.objects.update(number=None, business_entity=None)
    InvoiceNumberCounter.objects.all().delete()

    with connection.schema_editor() as schema_editor:
        migration.number_existing_invoices(apps, schema_editor)

    rows = list(Invoice.objects.order_by("created_at").values_list("contract__customer", "business_entity", "number"))
    assert rows == [(first.pk, first.business_entity_id, "A-000001"),
                    (second.pk, second.business_entity_id, "B-000001"),
                    (first.pk, first.business_entity_id, "A-000002")]
    with transaction.atomic():
        assert invoice_numbers_take(business_entity_id=first.business_entity_id) == ["A-000003"]
