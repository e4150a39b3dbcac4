"""Reads for billing's merchant API: each scoped to one organization and mode (another
tenant's or mode's id is "not found", never a 403 that would confirm it exists), each loading
what its JSON needs in a fixed number of queries.

Lists page newest first as the session list does (``core.pagination.keyset_page``: ``cursor``,
``starting_after`` or ``ending_before``).
"""

from django.db.models import Prefetch, Q, QuerySet

from checkout.errors import ContractNotFound, CustomerNotFound
from core.pagination import Page, keyset_page
from customers.models import Customer

from ..enums import SavedPaymentMethodStatus
from ..errors import InvoiceNotFound, PaymentNotFound, TestClockNotFound
from ..models import Contract, CreditNote, Invoice, Payment, Refund, SavedPaymentMethod, TestClock


def customer_get(*, organization_id, customer_id) -> Customer:
    customer = Customer.objects.filter(pk=customer_id, organization_id=organization_id).only("id").first()
    if customer is None:
        raise CustomerNotFound()
    return customer


# --- payment methods ---------------------------------------------------------------------------


def customer_default_method_ids(*, customer_ids, livemode: bool) -> dict:
    """{customer id: id of their default method in this mode} (their active method made default
    last), for many customers in one query."""
    defaults: dict = {}
    rows = (SavedPaymentMethod.objects.filter(customer_id__in=set(customer_ids), livemode=livemode,
                                              status=SavedPaymentMethodStatus.ACTIVE, default_since__isnull=False)
            .order_by("customer_id", "-default_since").values_list("customer_id", "id"))
    for customer_id, method_id in rows:
        defaults.setdefault(customer_id, method_id)
    return defaults


def customer_payment_methods_list(*, organization_id, livemode: bool, customer_id, limit: int = 20,
                                  **page) -> tuple[Page, object]:
    """One page of a customer's active saved methods in one mode, and the id of their default."""
    customer = customer_get(organization_id=organization_id, customer_id=customer_id)
    qs = SavedPaymentMethod.objects.filter(organization_id=organization_id, livemode=livemode,
                                           customer_id=customer.pk, status=SavedPaymentMethodStatus.ACTIVE)
    found = keyset_page(qs, scope=qs, limit=limit, **page)
    default_id = customer_default_method_ids(customer_ids=[customer.pk], livemode=livemode).get(customer.pk)
    return found, default_id


# --- contracts ---------------------------------------------------------------------------------


def _contracts(organization_id, livemode: bool) -> QuerySet:
    return Contract.objects.filter(organization_id=organization_id, livemode=livemode).select_related(
        "default_payment_method")


def contract_get(*, organization_id, livemode: bool, contract_id) -> Contract:
    contract = _contracts(organization_id, livemode).filter(pk=contract_id).first()
    if contract is None:
        raise ContractNotFound()
    return contract


def contracts_list(*, organization_id, livemode: bool, customer_id=None, status: str | None = None,
                   limit: int = 20, **page) -> Page:
    qs = scope = _contracts(organization_id, livemode)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return keyset_page(qs, scope=scope, limit=limit, **page)


def contracts_payment_methods(contracts: list[Contract], *, livemode: bool) -> dict:
    """{contract id: the saved method its renewals are charged to (its own, else its customer's
    default in the mode), or None}: one query for all the customers' defaults."""
    needing = [c.customer_id for c in contracts if c.default_payment_method_id is None]
    defaults = customer_default_method_ids(customer_ids=needing, livemode=livemode) if needing else {}
    methods = {m.pk: m for m in SavedPaymentMethod.objects.filter(pk__in=set(defaults.values()))} if defaults else {}
    return {c.pk: c.default_payment_method if c.default_payment_method_id is not None
            else methods.get(defaults.get(c.customer_id)) for c in contracts}


# --- invoices, payments, refunds ---------------------------------------------------------------


def _invoices(organization_id, livemode: bool) -> QuerySet:
    return Invoice.objects.filter(organization_id=organization_id, livemode=livemode).prefetch_related(
        "lines", Prefetch("credit_notes", queryset=CreditNote.objects.order_by("created_at", "id")))


def invoices_with_attempts(invoices: list[Invoice]) -> list[Invoice]:
    """Each invoice with ``attempts``: every payment made to collect it, oldest first (a
    renewal's charges and retries name the invoice; a checkout's charge names its session), in
    one query for all of them."""
    by_session = {i.checkout_session_id: i for i in invoices if i.checkout_session_id is not None}
    by_id = {i.pk: i for i in invoices}
    for invoice in invoices:
        invoice.attempts = []
    if not invoices:
        return invoices
    payments = Payment.objects.filter(
        Q(invoice_id__in=by_id) | Q(invoice__isnull=True, checkout_session_id__in=by_session)).order_by(
        "created_at", "id")
    for payment in payments:
        owner = by_id.get(payment.invoice_id) or by_session.get(payment.checkout_session_id)
        if owner is not None:
            owner.attempts.append(payment)
    return invoices


def invoice_get(*, organization_id, livemode: bool, invoice_id) -> Invoice:
    invoice = _invoices(organization_id, livemode).filter(pk=invoice_id).first()
    if invoice is None:
        raise InvoiceNotFound()
    return invoices_with_attempts([invoice])[0]


def invoices_list(*, organization_id, livemode: bool, customer_id=None, contract_id=None,
                  status: str | None = None, limit: int = 20, **page) -> Page:
    qs = scope = _invoices(organization_id, livemode)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    if status:
        qs = qs.filter(status=status)
    found = keyset_page(qs, scope=scope, limit=limit, **page)
    invoices_with_attempts(found.items)
    return found


def payment_get(*, organization_id, livemode: bool, payment_id) -> Payment:
    payment = Payment.objects.filter(pk=payment_id, organization_id=organization_id, livemode=livemode).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_refunds_list(*, organization_id, livemode: bool, payment_id, limit: int = 20, **page) -> Page:
    payment = payment_get(organization_id=organization_id, livemode=livemode, payment_id=payment_id)
    refunds = Refund.objects.filter(payment_id=payment.pk)
    return keyset_page(refunds, scope=refunds, limit=limit, **page)


# --- test clocks -------------------------------------------------------------------------------


def test_clock_get(*, organization_id, clock_id) -> TestClock:
    clock = TestClock.objects.filter(pk=clock_id, organization_id=organization_id).first()
    if clock is None:
        raise TestClockNotFound()
    return clock


test_clock_get.__test__ = False
