"""The renewal run and collection on PostgreSQL: invoices equal the estimates shown, exactly one per
contract and date under races, saved cards charged off-session with the invoice as idempotency
key, dunning on the organization's schedule, test clocks."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing.collection import invoices_collect_due, payments_reconcile_pending
from billing.enums import BillingEventType, ContractStatus, InvoiceBillingReason, InvoiceStatus
from billing.errors import TestClockInvalid
from billing.estimates import Discount
from billing.models import BillingSettings, Contract, Invoice, Payment
from billing.renewals import contracts_renew_due
from billing.test_clocks import test_clock_advance, test_clock_create
from tests.billing.factories import ProductFactory

from .renewal_helpers import EventLog, monthly_item, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    log = EventLog()
    yield log
    log.close()


def _lines(invoice: Invoice) -> list:
    return [(line.name, line.amount, str(line.period_start), str(line.period_end))
            for line in invoice.lines.order_by("position")]


def _shown_lines(estimate: dict) -> list:
    return [(line["name"], Decimal(line["amount"]), line["period_start"], line["period_end"])
            for line in estimate["line_items"]]


def test_first_renewal_bills_the_next_invoice_the_checkout_showed(customer, events):
    product = ProductFactory(organization=customer.organization)
    sold = sell(customer, items=[monthly_item(product, "49.00"), monthly_item(
        ProductFactory(organization=customer.organization), "0.10", model="per_unit", timing="in_arrears",
        quantity=1234)], tax_rate=Decimal("8.25"),
        discount=Discount("Launch", "repeating", percent_off=Decimal("15"), duration_in_periods=2))
    shown = sold.estimates.next_invoice.to_json()
    assert sold.contract.next_billing_date == date(2027, 2, 28)

    run = contracts_renew_due(today=date(2027, 2, 28))

    assert (run.contracts, run.invoices) == (1, 1)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason=InvoiceBillingReason.RENEWAL)
    assert invoice.invoice_date == date(2027, 2, 28)
    assert (str(invoice.subtotal), str(invoice.tax), str(invoice.total), str(invoice.amount_due)) == (
        f"{Decimal(shown['subtotal']):.4f}", f"{Decimal(shown['tax']):.4f}", f"{Decimal(shown['total']):.4f}",
        f"{Decimal(shown['amount_due']):.4f}")
    assert _lines(invoice) == _shown_lines(shown)
    assert invoice.status == InvoiceStatus.OPEN and invoice.next_payment_attempt is not None
    sold.contract.refresh_from_db()
    assert sold.contract.next_billing_date == date(2027, 3, 31)
    assert sold.contract.discount_invoices == 2
    assert events.types() == ["payment_method.attached", "invoice.created"]
    assert events[-1]["object"]["total"] == shown["total"]


def test_a_second_run_the_same_day_issues_nothing(customer):
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    again = contracts_renew_due(today=date(2027, 2, 28))
    assert (again.contracts, again.invoices) == (0, 0)
    assert Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").count() == 1


def test_a_run_that_fell_behind_issues_every_missed_date_in_order(customer):
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 5, 1))
    dates = list(Invoice.objects.filter(contract=sold.contract, billing_reason="renewal")
                 .order_by("invoice_date").values_list("invoice_date", flat=True))
    assert dates == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_the_collection_charges_the_saved_card_off_session_with_the_invoice_as_key(customer, events):
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")

    claimed = invoices_collect_due(now=datetime(2027, 2, 28, 6, tzinfo=UTC), inline=True)

    assert claimed == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.attempt_count == 1
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.off_session, payment.amount, payment.saved_payment_method_id) == (
        "succeeded", True, Decimal("49.0000"), sold.method.pk)
    assert payment.idempotency_key == f"invoice-{invoice.pk}-1"
    assert events.types()[-1] == "invoice.paid"
    assert invoices_collect_due(now=datetime(2027, 3, 1, tzinfo=UTC), inline=True) == 0


def test_a_failed_renewal_is_retried_on_the_schedule_then_the_contract_is_cancelled(customer, events):
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    first = datetime(2027, 2, 28, 6, tzinfo=UTC)

    invoices_collect_due(now=first, inline=True)
    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert sold.contract.status == ContractStatus.PAST_DUE
    assert invoice.next_payment_attempt == first + timedelta(days=1)
    assert events.types()[-2:] == ["invoice.payment_failed", "contract.past_due"]
    assert events[-2]["data"]["next_payment_attempt"] == "2027-03-01T06:00:00Z"

    for days in (1, 3, 5, 7):
        assert invoices_collect_due(now=first + timedelta(days=days) - timedelta(seconds=1), inline=True) == 0
        assert invoices_collect_due(now=first + timedelta(days=days), inline=True) == 1

    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert invoice.attempt_count == 5
    assert Payment.objects.filter(invoice=invoice, status="failed").count() == 5
    assert (invoice.status, sold.contract.status, sold.contract.next_billing_date) == (
        InvoiceStatus.UNCOLLECTIBLE, ContractStatus.CANCELLED, None)
    assert events.types()[-1] == "contract.cancelled"
    assert [e["data"].get("last_retry") for e in events if e["type"] == "invoice.payment_failed"] == [
        False, False, False, True, None]


def test_the_organizations_schedule_and_unpaid_policy_apply(customer):
    BillingSettings.objects.create(organization=customer.organization, retry_schedule_days=[2], final_action="unpaid")
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    first = datetime(2027, 2, 28, tzinfo=UTC)
    invoices_collect_due(now=first, inline=True)
    assert Invoice.objects.get(contract=sold.contract, billing_reason="renewal").next_payment_attempt == (
        first + timedelta(days=2))
    invoices_collect_due(now=first + timedelta(days=2), inline=True)
    sold.contract.refresh_from_db()
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert (sold.contract.status, invoice.status, invoice.next_payment_attempt) == (
        ContractStatus.UNPAID, InvoiceStatus.OPEN, None)
    # an unpaid contract still renews (the customer may come back and pay)
    assert sold.contract.next_billing_date == date(2027, 3, 31)


def test_a_bank_asking_for_authentication_is_not_retried_blindly(customer, events):
    sold = sell(customer, behaviour="authentication_required")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, None)
    assert Payment.objects.get(invoice=invoice).failure_code == "authentication_required"
    assert "invoice.payment_action_required" in events.types()
    sold.contract.refresh_from_db()
    assert sold.contract.status == ContractStatus.PAST_DUE


def test_no_saved_card_starts_dunning_without_calling_a_provider(customer):
    sold = sell(customer, behaviour=None)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    payment = Payment.objects.get(invoice__contract=sold.contract)
    assert (payment.status, payment.failure_code, payment.provider) == ("failed", "payment_method_missing", "")


def test_a_lost_answer_is_reconciled_with_the_same_key(customer):
    """A worker that recorded the attempt and died before sending it: the reconcile pass sends
    it (same key), once."""
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC))  # queued, never sent
    payment = Payment.objects.get(invoice__contract=sold.contract)
    assert payment.status == "pending"
    assert payments_reconcile_pending(now=payment.created_at + timedelta(seconds=30)) == 0
    assert payments_reconcile_pending(now=payment.created_at + timedelta(seconds=61)) == 1
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Payment.objects.filter(invoice__contract=sold.contract).count() == 1


def test_trials_end_into_their_first_paid_invoice(customer):
    sold = sell(customer, trial_end=date(2027, 2, 14))
    assert sold.estimates.current_invoice.total == 0
    assert sold.contract.next_billing_date == date(2027, 2, 14)
    contracts_renew_due(today=date(2027, 2, 14))
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert invoice.total == Decimal(sold.estimates.next_invoice.to_json()["total"]) == Decimal("49.00")
    assert (invoice.period_start, invoice.period_end) == (date(2027, 2, 14), date(2027, 3, 14))


def test_contracts_with_an_end_date_stop_billing(customer):
    sold = sell(customer, start=date(2027, 1, 1), end=date(2027, 3, 15))
    contracts_renew_due(today=date(2027, 6, 1))
    invoices = Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").order_by("invoice_date")
    assert [(i.invoice_date, i.total) for i in invoices] == [
        (date(2027, 2, 1), Decimal("49.0000")), (date(2027, 3, 1), Decimal("22.1300"))]  # 14 of 31 days
    sold.contract.refresh_from_db()
    assert (sold.contract.next_billing_date, sold.contract.status) == (None, ContractStatus.ENDED)


def test_test_clocks_renew_a_year_at_the_estimates_shown_at_each_step(customer, events):
    """A year on a test clock: 12 renewals, each equal to the upcoming-invoice estimate made just
    before it, each paid by the saved card, off-session."""
    from billing.estimates import contract_invoice
    from billing.selectors import billing_schedules_get

    sold = sell(customer, start=date(2027, 1, 31), tax_rate=Decimal("19"),
                discount=Discount("Half off", "repeating", percent_off=Decimal("50"), duration_in_periods=3))
    clock = test_clock_create(organization_id=customer.organization_id, customer_id=customer.pk,
                              frozen_time=datetime(2027, 1, 31, 12, tzinfo=UTC))
    sold.contract.refresh_from_db()
    assert sold.contract.test_clock_id == clock.pk
    assert contracts_renew_due(today=date(2028, 1, 1)).invoices == 0  # the beat leaves clock contracts alone

    expected = []
    for _month in range(12):
        contract = Contract.objects.get(pk=sold.contract.pk)
        upcoming = contract_invoice(billing_schedules_get([contract])[contract.pk], day=contract.next_billing_date,
                                    discount_invoices=contract.discount_invoices, credit=contract.credit_balance)
        expected.append((upcoming.invoice_date, upcoming.total))
        test_clock_advance(organization_id=customer.organization_id, clock_id=clock.pk,
                           frozen_time=datetime.combine(upcoming.invoice_date, datetime.min.time(), UTC)
                           + timedelta(hours=1))

    renewals = Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").order_by("invoice_date")
    assert [(i.invoice_date, i.total) for i in renewals] == expected
    assert [d for d, _t in expected][:3] == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert [t for _d, t in expected][:4] == [Decimal("29.16"), Decimal("29.16"), Decimal("58.31"), Decimal("58.31")]
    assert all(i.status == InvoiceStatus.PAID for i in renewals)
    assert Payment.objects.filter(invoice__in=renewals, status="succeeded", off_session=True).count() == 12
    assert events.types().count(BillingEventType.INVOICE_PAID) == 12


def test_test_clocks_only_move_forward_and_by_two_years_at_most(customer):
    clock = test_clock_create(organization_id=customer.organization_id, customer_id=customer.pk,
                              frozen_time=datetime(2027, 1, 1, tzinfo=UTC))
    for when in (datetime(2026, 12, 31, tzinfo=UTC), datetime(2029, 2, 1, tzinfo=UTC)):
        with pytest.raises(TestClockInvalid):
            test_clock_advance(organization_id=customer.organization_id, clock_id=clock.pk, frozen_time=when)


def test_a_test_clock_runs_dunning_in_order(customer):
    sold = sell(customer, behaviour="charges_fail")
    clock = test_clock_create(organization_id=customer.organization_id, customer_id=customer.pk,
                              frozen_time=datetime(2027, 1, 31, 12, tzinfo=UTC))
    test_clock_advance(organization_id=customer.organization_id, clock_id=clock.pk,
                       frozen_time=datetime(2027, 3, 15, tzinfo=UTC))
    sold.contract.refresh_from_db()
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    times = list(Payment.objects.filter(invoice=invoice).order_by("created_at").values_list("idempotency_key", flat=True))
    assert times == [f"invoice-{invoice.pk}-{n}" for n in range(1, 6)]
    assert (sold.contract.status, invoice.status) == (ContractStatus.CANCELLED, InvoiceStatus.UNCOLLECTIBLE)
    # cancelled on 7 March (first failure on 28 Feb + 7 days): nothing billed on 31 March
    assert Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_issue_one_invoice_per_contract_and_date(customer):
    sold = [sell(customer, behaviour=None) for _ in range(30)]
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            contracts_renew_due(today=date(2027, 3, 31), batch_size=7)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    per_contract = {s.contract.pk: Invoice.objects.filter(contract=s.contract, billing_reason="renewal").count()
                    for s in sold}
    assert set(per_contract.values()) == {2}


@pytest.mark.django_db(transaction=True)
def test_two_collection_sweeps_at_once_charge_each_invoice_once(customer):
    for _ in range(12):
        sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True, batch_size=5)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    renewals = Invoice.objects.filter(billing_reason="renewal")
    assert renewals.count() == 12 and all(i.status == "paid" for i in renewals)
    assert Payment.objects.filter(invoice__in=renewals).count() == 12
