"""Migration 0009 starts existing contracts renewing where their checkout left them: the
invoice learns its mode, date and line kinds from its session, and the contract its tax rate,
discount count and next billing date (the date its session showed for the next invoice)."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from billing.models import Contract, Invoice, InvoiceLine
from checkout.services.confirm import checkout_session_confirm
from tests.checkout.pages.helpers import card, priced_session

pytestmark = pytest.mark.django_db
migration = importlib.import_module("billing.migrations.0009_renewals")


def test_contracts_sold_before_renewals_existed_renew_on_the_date_their_page_showed():
    session = priced_session(start=datetime.date(2026, 1, 31), tax_rate=Decimal("8.25"))
    checkout_session_confirm(session_id=session.pk, card=card())
    session.refresh_from_db()
    shown = session.estimates["next_invoice"]
    contract = Contract.objects.get(pk=session.contract_id)
    # As the AddField operations leave them.
    Contract.objects.update(next_billing_date=None, tax_rate=None, discount_invoices=0)
    Invoice.objects.update(livemode=True, invoice_date=None, tax_rate=None)
    InvoiceLine.objects.update(kind="")

    with connection.schema_editor() as schema_editor:
        migration.backfill(apps, schema_editor)

    contract.refresh_from_db()
    invoice = Invoice.objects.get(contract=contract)
    assert contract.next_billing_date == datetime.date.fromisoformat(shown["invoice_date"]) == datetime.date(2026, 2, 28)
    assert str(contract.tax_rate.normalize()) == session.estimates["current_invoice"]["tax_rate"]
    assert contract.discount_invoices == 1
    assert (invoice.livemode, invoice.invoice_date, invoice.billing_reason) == (
        False, datetime.date(2026, 1, 31), "checkout")
    assert list(invoice.lines.order_by("position").values_list("kind", flat=True)) == [
        line["kind"] for line in session.estimates["current_invoice"]["line_items"]]
