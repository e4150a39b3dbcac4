"""The renewal run: every renewing contract issues its next invoice on its billing date.

Each invoice is priced by ``billing.estimates.contract_invoice``, the engine that priced the
checkout, so a renewal bills the ``next_invoice`` the customer was shown, to the minor unit.

Exactly one invoice per contract and billing date, whatever retries, restarts or races happen:
- the run takes due contracts in batches, ``SELECT … FOR UPDATE SKIP LOCKED`` on the partial
  index ``contract_renewal_due``: two runs at once take different contracts, and a contract that
  an amendment is confirming (it holds the contract's lock) is simply taken by the next run;
- the invoice and the contract's cursor (``next_billing_date``, the discount count, the credit)
  are written in one transaction, so a run killed mid-batch leaves the batch as it was and the
  next run does it again;
- ``invoice_one_renewal_per_date`` (unique on contract and date for renewals) refuses a second.

Issuing never calls a payment provider. An invoice with money due on a contract that charges
automatically gets ``next_payment_attempt = now`` and the collection sweep
(``billing.collection``) charges it, outside every lock.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from django.db import transaction
from django.utils import timezone

from core.models import BusinessEntity

from . import fastsql
from .enums import (
    RENEWING_STATUSES,
    BillingEventType,
    CollectionMethod,
    ContractStatus,
    InvoiceBillingReason,
    InvoiceStatus,
)
from .estimates import contract_billing_date_next, contract_invoice
from .invoice_numbers import invoice_numbers_take
from .models import Contract, Invoice, InvoiceLine, TestClock
from .representation import invoice_json
from .selectors import billing_schedules_get
from .services import invoice_values_from_estimate
from .signals import billing_events_send

logger = logging.getLogger(__name__)

RENEWAL_BATCH = 200


@dataclass(frozen=True)
class RenewalRun:
    contracts: int
    invoices: int


def contract_today(contract: Contract, clock: TestClock | None = None) -> date:
    """The day it is for the contract: its test clock's, else the real one."""
    if contract.test_clock_id is not None:
        clock = clock or TestClock.objects.get(pk=contract.test_clock_id)
        return timezone.localdate(clock.frozen_time)
    return timezone.localdate()


@transaction.atomic
def contract_billing_resume(*, contract_id, invoice: Invoice) -> Contract:
    """Move a contract's renewals on after an amendment (its invoice ``invoice``): the cursor
    goes to the new schedule, the first billing date after the change, or, when regular invoices
    up to the change are still to be issued, the first of those (they bill the contract as it was
    before the change); the invoice counts against the discount and leaves its credit. (A new
    contract starts its renewals with its first invoice: ``contract_create_from_quote``.)"""
    contract = Contract.objects.select_for_update().get(pk=contract_id)
    schedule = billing_schedules_get([contract])[contract.pk]
    changed = invoice.invoice_date or invoice.period_start
    pending = contract.next_billing_date
    after = pending - timedelta(days=1) if pending is not None and pending <= changed else changed
    contract.discount_invoices += _bills_anything(invoice)
    contract.credit_balance = invoice.credit_carried_forward
    contract.next_billing_date = contract_billing_date_next(schedule, after=after)
    contract.save(update_fields=["discount_invoices", "credit_balance", "next_billing_date", "updated_at"])
    return contract


def _bills_anything(invoice: Invoice) -> bool:
    return sum((line.amount for line in invoice.lines.all() if line.kind != "discount"), 0) > 0


def contracts_renew_due(*, today: date | None = None, batch_size: int = RENEWAL_BATCH,
                        max_batches: int | None = None) -> RenewalRun:
    """The beat task's service: issue every invoice due on or before ``today`` (default: the
    real date) for contracts on the real clock, batch by batch, each batch one transaction.
    Returns how many contracts and invoices it handled."""
    today = today or timezone.localdate()
    contracts = invoices = batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            due = list(
                Contract.objects.filter(status__in=RENEWING_STATUSES, test_clock__isnull=True,
                                        next_billing_date__lte=today)
                .order_by("next_billing_date", "id")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            if not due:
                break
            invoices += len(_renew_locked(due, today=today, now=timezone.now()))
        contracts += len(due)
        batches += 1
    if contracts:
        logger.info("renewal run: %s contracts, %s invoices", contracts, invoices)
    return RenewalRun(contracts, invoices)


@transaction.atomic
def contracts_renew(*, contract_ids, today: date, now: datetime) -> list[dict]:
    """Issue what is due on or before ``today`` for these contracts (a test clock's, or the
    amendment confirm catching up before it changes a contract), waiting for their locks."""
    contracts = list(Contract.objects.filter(pk__in=list(contract_ids), status__in=RENEWING_STATUSES,
                                             next_billing_date__lte=today)
                     .order_by("id").select_for_update())
    return _renew_locked(contracts, today=today, now=now) if contracts else []


def _renew_locked(contracts: list[Contract], *, today: date, now: datetime) -> list[dict]:
    """The invoices ``contracts`` (locked by the caller) issue up to ``today``: priced from
    their schedules in memory, then written with a fixed number of statements for the whole
    batch (a COPY each for invoices and lines, one UPDATE for the cursors). Returns the invoices'
    column values."""
    schedules = billing_schedules_get(contracts)
    invoices: list[dict] = []
    lines: list[dict] = []
    for contract in contracts:
        schedule = schedules[contract.pk]
        day = contract.next_billing_date
        while day is not None and day <= today:
            estimate = contract_invoice(schedule, day=day, discount_invoices=contract.discount_invoices,
                                        credit=contract.credit_balance)
            if estimate.line_items:
                invoice, invoice_lines = _renewal_invoice(contract, estimate, now)
                invoices.append(invoice)
                lines.extend(invoice_lines)
                contract.discount_invoices += estimate.bills_anything
                contract.credit_balance = estimate.credit_carried_forward
            day = contract_billing_date_next(schedule, after=day)
        contract.next_billing_date = day
        if day is None and contract.end_date is not None and contract.end_date <= today:
            contract.status = ContractStatus.ENDED
        contract.updated_at = now
    _number(invoices, contracts)
    fastsql.rows_insert(Invoice, invoices)
    fastsql.rows_insert(InvoiceLine, lines)
    fastsql.contract_cursors_update([tuple(getattr(c, name) for name in fastsql.CURSOR_COLUMNS) for c in contracts])
    _announce(invoices, lines)
    return invoices


def _number(invoices: list[dict], contracts: list[Contract]) -> None:
    """Number the batch's invoices: one block of numbers per business entity (one statement
    each, in the batch's transaction, so a batch that rolls back gives them all back), handed
    out in the order the invoices were issued. Invoices sent to the customer (pay by invoice)
    get their due date from the entity's payment terms."""
    by_entity: dict = {}
    for values in invoices:
        by_entity.setdefault(values["business_entity_id"], []).append(values)
    for entity_id in sorted(by_entity, key=str):  # one order everywhere: no deadlock between runs
        batch = by_entity[entity_id]
        for values, number in zip(batch, invoice_numbers_take(business_entity_id=entity_id, count=len(batch)),
                                  strict=True):
            values["number"] = number
    sent = {c.pk for c in contracts if c.collection_method == CollectionMethod.SEND_INVOICE}
    if not sent:
        return
    terms = dict(BusinessEntity.objects.filter(pk__in={c.business_entity_id for c in contracts if c.pk in sent})
                 .values_list("id", "payment_terms_days"))
    for values in invoices:
        if values["contract_id"] in sent:
            values["due_date"] = values["invoice_date"] + timedelta(days=terms[values["business_entity_id"]])


def _renewal_invoice(contract: Contract, estimate, now: datetime) -> tuple[dict, list[dict]]:
    due = estimate.amount_due > 0
    invoice, lines = invoice_values_from_estimate(
        organization_id=contract.organization_id, contract_id=contract.pk, customer_id=contract.customer_id,
        estimate=estimate.to_json(), status=InvoiceStatus.OPEN if due else InvoiceStatus.PAID,
        livemode=contract.livemode, billing_reason=InvoiceBillingReason.RENEWAL,
        business_entity_id=contract.business_entity_id,
    )
    invoice.update(test_clock_id=contract.test_clock_id, created_at=now, updated_at=now,
                   paid_at=None if due else now,
                   next_payment_attempt=now if due and contract.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
                   else None)
    return invoice, lines


def _announce(invoices: list[dict], lines: list[dict]) -> None:
    by_invoice: dict = {}
    for line in lines:
        by_invoice.setdefault(line["invoice_id"], []).append(SimpleNamespace(**line))
    events = []
    for values in invoices:
        invoice = SimpleNamespace(**{**_INVOICE_DEFAULTS, **values})
        body = invoice_json(invoice, by_invoice.get(invoice.id, []))
        common = {"organization_id": invoice.organization_id, "livemode": invoice.livemode, "object": body}
        events.append({"type": BillingEventType.INVOICE_CREATED, **common})
        if invoice.status == InvoiceStatus.PAID:
            events.append({"type": BillingEventType.INVOICE_PAID, **common})
    billing_events_send(events)


# What a fresh renewal invoice's fields hold when ``invoice_values_from_estimate`` leaves them out.
_INVOICE_DEFAULTS = {"attempt_count": 0, "first_failed_at": None, "due_date": None}
