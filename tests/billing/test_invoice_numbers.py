"""Sequential invoice numbers per business entity (billing.invoice_numbers): gapless under real
concurrency (threads, each with its own connection and transaction), rolled-back invoices give
their numbers back, each entity has its own sequence and prefix, and the renewal run numbers a
whole batch with one statement per entity."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.enums import InvoiceBillingReason, InvoiceStatus
from billing.invoice_numbers import invoice_number_format, invoice_numbers_take
from billing.models import Invoice, InvoiceNumberCounter
from billing.renewals import contracts_renew_due
from billing.services import invoice_create_from_estimate
from tests.billing.renewal_helpers import sell
from tests.core.factories import BusinessEntityFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import run_together


class Rollback(Exception):
    pass


def _customer(organization, **entity):
    entity = BusinessEntityFactory(organization=organization, **entity)
    return CustomerFactory(organization=organization, business_entity=entity)


def _issue(sold, *, fail: bool = False):
    """One invoice of ``sold``'s contract in its own transaction; ``fail``: roll it back after the
    number was taken and the invoice written."""
    with transaction.atomic():
        invoice = invoice_create_from_estimate(
            organization_id=sold.contract.organization_id, contract_id=sold.contract.pk,
            customer_id=sold.contract.customer_id, estimate=sold.estimates.current_invoice.to_json(),
            status=InvoiceStatus.PAID)
        if fail:
            raise Rollback(invoice.number)
    return invoice.number


def test_invoice_number_format_pads_and_never_truncates():
    assert invoice_number_format("INV-", 42) == "INV-000042"
    assert invoice_number_format("ACME/2027/", 1_234_567) == "ACME/2027/1234567"


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_take_refuses_outside_a_transaction(business_entity):
    with pytest.raises(RuntimeError):
        invoice_numbers_take(business_entity_id=business_entity.pk)


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_gapless_unique_numbers_and_rollbacks_give_theirs_back(organization):
    acme = _customer(organization, invoice_prefix="ACME-")
    other = _customer(organization, name="Other GmbH", is_default=False, invoice_prefix="OT-")
    sold_acme, sold_other = sell(acme), sell(other)  # each entity's first invoice: number 1

    # 24 threads at once: 16 for ACME (every fourth rolled back after writing its invoice), 8 for
    # the other entity.
    calls = [(lambda i=i: _issue(sold_acme, fail=i % 4 == 3)) for i in range(16)]
    calls += [(lambda: _issue(sold_other))] * 8
    results, errors = run_together(*calls)

    assert len(errors) == 4 and all(isinstance(e, Rollback) for e in errors), errors
    assert len(results) == 20
    acme_numbers = sorted(Invoice.objects.filter(business_entity=acme.business_entity)
                          .values_list("number", flat=True))
    other_numbers = sorted(Invoice.objects.filter(business_entity=other.business_entity)
                           .values_list("number", flat=True))
    # 1 + 12 committed for ACME, 1 + 8 for the other: no gap, no duplicate, each its own sequence.
    assert acme_numbers == [f"ACME-{n:06d}" for n in range(1, 14)]
    assert other_numbers == [f"OT-{n:06d}" for n in range(1, 10)]
    counters = dict(InvoiceNumberCounter.objects.values_list("business_entity_id", "last_number"))
    assert counters == {acme.business_entity_id: 13, other.business_entity_id: 9}
    # the numbers the rolled-back invoices had were handed out again, unless nobody came after them
    # (a rollback that held the last number leaves it for the next invoice)
    assert all(str(e) in acme_numbers or str(e) > acme_numbers[-1] for e in errors)


@pytest.mark.django_db
def test_renewal_run_numbers_a_batch_with_one_statement_per_entity(organization):
    acme = _customer(organization, invoice_prefix="ACME-")
    other = _customer(organization, name="Other GmbH", is_default=False, invoice_prefix="OT-")
    start = date(2027, 1, 31)
    for customer in (acme, acme, acme, other, other):
        sell(customer, start=start)  # INV 1-3 for ACME, 1-2 for the other, at checkout

    with CaptureQueriesContext(connection) as queries:
        run = contracts_renew_due(today=date(2027, 3, 31))  # two renewals each: Feb 28 and Mar 31

    assert run.invoices == 10
    counter_statements = [q for q in queries.captured_queries if InvoiceNumberCounter._meta.db_table in q["sql"]]
    assert len(counter_statements) == 2  # one per entity for the whole batch
    renewals = Invoice.objects.filter(billing_reason=InvoiceBillingReason.RENEWAL)
    acme_numbers = sorted(renewals.filter(business_entity=acme.business_entity).values_list("number", flat=True))
    assert acme_numbers == [f"ACME-{n:06d}" for n in range(4, 10)]
    other_numbers = sorted(renewals.filter(business_entity=other.business_entity).values_list("number", flat=True))
    assert other_numbers == [f"OT-{n:06d}" for n in range(3, 7)]
    # issued in date order: a later renewal of a contract never has a smaller number
    for contract_id in renewals.values_list("contract_id", flat=True).distinct():
        rows = list(renewals.filter(contract_id=contract_id).order_by("invoice_date").values_list("number", flat=True))
        assert rows == sorted(rows)
