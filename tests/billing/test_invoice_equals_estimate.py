"""The first invoice bills exactly the estimate the customer was shown, to the cent: generated
quotes (every pricing model, currency, free trials and discounts), their estimate stored as a
session stores it (JSON), then the invoice made from it in PostgreSQL."""

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

from billing.estimates import estimate_new_contract
from billing.services import invoice_create_from_estimate
from tests.billing.factories import ContractFactory, ProductFactory

from .test_properties import quotes, tax_rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(db):
    contract = ContractFactory()
    contract.products = {f"p{i}": str(ProductFactory(organization=contract.organization).pk) for i in range(6)}
    return contract


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quote=quotes(extras=True), tax_rate=tax_rates)
def test_first_invoice_equals_the_locked_current_estimate(contract, quote, tax_rate):
    locked = json.loads(json.dumps(estimate_new_contract(quote=quote, tax_rate=tax_rate).to_json()))
    estimate = locked["current_invoice"]
    for line in estimate["line_items"]:
        if line["product_id"] is not None:
            line["product_id"] = contract.products[line["product_id"]]

    invoice = invoice_create_from_estimate(organization_id=contract.organization_id, contract_id=contract.pk,
                                           customer_id=contract.customer_id, estimate=estimate)

    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_due) == tuple(
        Decimal(estimate[key]) for key in ("subtotal", "tax", "total", "amount_due"))
    assert [(line.name, line.amount, str(line.product_id) if line.product_id else None)
            for line in invoice.lines.order_by("position")] == [
        (line["name"], Decimal(line["amount"]), line["product_id"]) for line in estimate["line_items"]]
    if quote.trial_end is not None:
        assert invoice.total == 0
    if any(line["kind"] == "discount" for line in estimate["line_items"]):
        assert invoice.lines.filter(product__isnull=True, amount__lt=0).count() == 1
