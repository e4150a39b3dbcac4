"""Writes of contracts and invoices, made exactly from what a checkout session locked.

Contracts are built from the session's ``quote`` (``billing.estimates.Quote``) and the
first invoice from its ``estimates["current_invoice"]``, never re-priced: the customer is
billed what they were shown, even if the catalogue changed in between.
"""

import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.errors import AmendmentNotApplicable, ContractChanged, EstimateInconsistent, PromotionCodeUsedUp
from core.errors import Conflict

from .enums import CollectionMethod, ContractStatus, InvoiceBillingReason, InvoiceStatus
from .estimates import BillingSchedule, Quote, contract_billing_date_next, phase_in_force
from .invoice_numbers import invoice_numbers_take
from .models import (
    Contract,
    Coupon,
    CouponRedemption,
    Invoice,
    InvoiceLine,
    Phase,
    PhaseItem,
    PromotionCode,
    TestClock,
)
from .pricing import period_containing


# The writes below are atomic on their own; inside a caller's transaction (a checkout's
# confirm) they add no savepoint: an error in one undoes the caller's whole transaction,
# which is what every caller wants, and the confirm's statement budget has no room for
# two statements per call.
def _atomic(function):
    return transaction.atomic(savepoint=False)(function)


def _phase_items(phase: Phase, quote_phase) -> list[PhaseItem]:
    return [
        PhaseItem(
            phase=phase,
            product_id=item.product_id,
            pricing_id=item.pricing_id,
            quantity=item.quantity,
            terms=item.terms.to_json(),
            position=position,
        )
        for position, item in enumerate(quote_phase.items)
    ]


@_atomic
def contract_renewal_start(quote: Quote, first_invoice: dict) -> dict:
    """Where a new contract's renewals start after its checkout invoice ``first_invoice`` (the
    locked estimate's JSON): the rate it was taxed at (locked for every renewal), whether that
    invoice used the discount, the credit it left, and the first renewal's date (the next
    invoice the checkout showed). Contract columns, written with the contract itself."""
    tax_rate = first_invoice.get("tax_rate")
    tax_rate = None if tax_rate is None else Decimal(tax_rate)
    charges = sum((Decimal(line["amount"]) for line in first_invoice.get("line_items") or ()
                   if line.get("kind") != "discount"), Decimal(0))
    tax_reason = first_invoice.get("tax_reason") or ""
    schedule = BillingSchedule.from_quote(quote, tax_rate=tax_rate, tax_reason=tax_reason)
    first_day = _date(first_invoice.get("invoice_date")) or quote.start_date
    return {
        "tax_rate": tax_rate,
        "tax_reason": tax_reason,
        "discount_invoices": 1 if charges > 0 else 0,
        "credit_balance": Decimal(first_invoice.get("credit_carried_forward") or 0),
        "next_billing_date": contract_billing_date_next(schedule, after=first_day),
    }


def contract_create_from_quote(
    *, organization_id, customer_id, business_entity_id, quote: Quote, livemode: bool = False,
    collection_method: str = CollectionMethod.CHARGE_AUTOMATICALLY, test_clock_id=...,
    first_invoice: dict | None = None, default_payment_method_id=None,
) -> Contract:
    """A new contract with one ``Phase`` per quote phase; each item keeps its locked terms.
    The contract's plan is its first phase's (none for a product-based contract). A test-mode
    contract of a customer on a test clock follows that clock (``test_clock_id``: the
    customer's, when the caller has read it already; else looked up). With ``first_invoice``
    (the checkout's locked estimate) its renewals start where that invoice leaves them
    (``contract_renewal_start``), in the same INSERT."""
    if livemode:
        clock_id = None
    elif test_clock_id is not ...:
        clock_id = test_clock_id
    else:
        clock_id = TestClock.objects.filter(customer_id=customer_id).values_list("id", flat=True).first()
    contract = Contract.objects.create(
        test_clock_id=clock_id,
        collection_method=collection_method,
        organization_id=organization_id,
        customer_id=customer_id,
        business_entity_id=business_entity_id,
        plan_id=quote.phases[0].plan_id,
        currency=quote.currency,
        start_date=quote.start_date,
        end_date=quote.end_date,
        status=ContractStatus.ACTIVE,
        livemode=livemode,
        trial_end=quote.trial_end,
        discount=None if quote.discount is None else quote.discount.to_json(),
        default_payment_method_id=default_payment_method_id,
        **(contract_renewal_start(quote, first_invoice) if first_invoice is not None else {}),
    )
    phases = Phase.objects.bulk_create(
        Phase(
            contract=contract,
            name=quote_phase.name,
            plan_id=quote_phase.plan_id,
            start_date=quote_phase.start_date,
            end_date=quote_phase.end_date,
            position=position,
        )
        for position, quote_phase in enumerate(quote.phases)
    )
    PhaseItem.objects.bulk_create(
        item for phase, quote_phase in zip(phases, quote.phases, strict=True) for item in _phase_items(phase, quote_phase)
    )
    return contract


def contract_lock_for_amendment(*, organization_id, contract_id, expected_version: int | None,
                                expected_phase_id=None, on: date) -> tuple[Contract, list[Phase], int]:
    """Lock the contract (``SELECT … FOR UPDATE``; callers that also lock a checkout session
    lock it first) and check it is still what an amendment was priced against: the same
    ``version`` and, on ``on``, the same phase in force. Returns the contract, its phases in
    order and the index of the phase in force. Must run inside a transaction."""
    contract = (
        Contract.objects.select_for_update()
        .filter(pk=contract_id, organization_id=organization_id)
        .first()
    )
    if contract is None:
        raise AmendmentNotApplicable("The contract no longer exists.")
    if contract.status != ContractStatus.ACTIVE:
        raise AmendmentNotApplicable("The contract has ended and cannot be amended.")
    phases = list(contract.phases.order_by("position"))
    index = phase_in_force(phases, on)
    if expected_version is not None and contract.version != expected_version:
        raise ContractChanged()
    if expected_phase_id is not None and (index is None or str(phases[index].pk) != str(expected_phase_id)):
        raise ContractChanged()
    return contract, phases, index


@transaction.atomic
def contract_version_bump(*, contract_id) -> None:
    """Record a change to a contract's terms made outside ``contract_amend_from_quote`` (ops
    editing phases in admin), so sessions priced before it can no longer be confirmed."""
    Contract.objects.filter(pk=contract_id).update(version=F("version") + 1)


@_atomic
def contract_amend_from_quote(*, organization_id, contract_id, quote: Quote, expected_version: int | None = None,
                              expected_phase_id=None) -> tuple[Contract, Phase]:
    """Apply a plan switch or quantity update: the phase in force on the change date
    (``quote.start_date``) ends that day and the quote's phase starts it; the contract takes
    the quote phase's plan (a plan switch's new plan; a quantity update keeps the same one).

    History is never rewritten: past phases keep their items and dates. The phase in force
    only gets its ``end_date``; if it started on the change date itself it ends the day it
    started (a zero-length phase: superseded before it ran, still on record). Phases that
    were scheduled to start after the change date never took effect and are replaced by
    the amendment, which runs to the contract's end (as the estimate priced it).

    ``expected_version`` / ``expected_phase_id``: what the quote was priced against; a
    contract that has changed since raises ``ContractChanged`` and nothing is written.
    """
    if len(quote.phases) != 1:
        raise AmendmentNotApplicable("An amendment quote has exactly one phase.")
    change_date: date = quote.start_date
    contract, phases, index = contract_lock_for_amendment(
        organization_id=organization_id, contract_id=contract_id, expected_version=expected_version,
        expected_phase_id=expected_phase_id, on=change_date,
    )
    if change_date < contract.start_date or (contract.end_date is not None and change_date >= contract.end_date):
        raise AmendmentNotApplicable("The change date falls outside the contract.")
    if index is None:
        raise AmendmentNotApplicable("No phase of the contract is in force on the change date.")
    in_force = phases[index]
    contract.phases.filter(start_date__gt=change_date).delete()
    Phase.objects.filter(pk=in_force.pk).update(end_date=change_date)
    next_position = max(phase.position for phase in phases if phase.start_date <= change_date) + 1
    quote_phase = quote.phases[0]
    new_phase = Phase.objects.create(
        contract=contract,
        name=quote_phase.name,
        plan_id=quote_phase.plan_id,
        start_date=change_date,
        end_date=quote_phase.end_date,
        position=next_position,
        opened_by_amendment=True,
    )
    PhaseItem.objects.bulk_create(_phase_items(new_phase, quote_phase))
    contract.version += 1
    update_fields = ["version", "updated_at"]
    if quote_phase.plan_id and str(quote_phase.plan_id) != str(contract.plan_id):
        contract.plan_id = quote_phase.plan_id
        update_fields.append("plan")
    if quote.discount is not None:
        # A discount of its own replaces the contract's, counted from this amendment's invoice.
        contract.discount = quote.discount.to_json()
        contract.discount_invoices = 0
        update_fields += ["discount", "discount_invoices"]
    contract.save(update_fields=update_fields)
    return contract, new_phase


def _money(value, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EstimateInconsistent(f"{path} is not a decimal string.")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise EstimateInconsistent(f"{path} is not a decimal string.") from None
    if not amount.is_finite():
        raise EstimateInconsistent(f"{path} is not finite.")
    return amount


def _date(value) -> date | None:
    return None if value in (None, "") else date.fromisoformat(value)


def invoice_values_from_estimate(
    *, organization_id, contract_id, customer_id, estimate: dict, checkout_session_id=None,
    status: str = InvoiceStatus.OPEN, livemode: bool = False, billing_reason: str = InvoiceBillingReason.CHECKOUT,
    business_entity_id=None,
) -> tuple[dict, list[dict]]:
    """The invoice an estimate (its JSON) described, line for line, as column values (the
    invoice's with a new ``id``; the lines' in order): amounts are copied, not recomputed, so its
    total equals the estimate's ``total`` to the cent. The estimate must add up (lines sum to the
    subtotal, subtotal + tax = total), else ``EstimateInconsistent``."""
    invoice_id = uuid.uuid4()
    try:
        currency = estimate["currency"]
        subtotal = _money(estimate["subtotal"], "subtotal")
        tax = _money(estimate["tax"], "tax")
        total = _money(estimate["total"], "total")
        tax_included = _money(estimate.get("tax_included") or "0", "tax_included")
        lines = [
            {
                "invoice_id": invoice_id,
                "kind": str(line.get("kind") or "")[:16],
                "product_id": line.get("product_id"),
                "name": line["name"][:200],
                "description": line.get("description") or "",
                "pricing_model": line.get("pricing_model") or "",
                "quantity": Decimal(line["quantity"]),
                "unit_amount": None if line.get("unit_amount") is None
                else _money(line["unit_amount"], f"line_items.{i}.unit_amount"),
                "amount": _money(line["amount"], f"line_items.{i}.amount"),
                "period_start": _date(line.get("period_start")),
                "period_end": _date(line.get("period_end")),
                "proration": bool(line.get("proration")),
                "position": i,
            }
            for i, line in enumerate(estimate["line_items"])
        ]
        period_start = _date(estimate["period_start"])
        invoice = {
            "id": invoice_id,
            "organization_id": organization_id,
            "contract_id": contract_id,
            "customer_id": customer_id,
            "checkout_session_id": checkout_session_id,
            "currency": currency,
            "period_start": period_start,
            "period_end": _date(estimate["period_end"]),
            "subtotal": subtotal,
            "tax": tax,
            "total": total,
            "tax_rate": None if estimate.get("tax_rate") is None else Decimal(estimate["tax_rate"]),
            "tax_reason": str(estimate.get("tax_reason") or "")[:16],
            "tax_included": tax_included,
            "business_entity_id": business_entity_id,
            "credit_applied": _money(estimate.get("credit_applied") or "0", "credit_applied"),
            "credit_carried_forward": _money(estimate.get("credit_carried_forward") or "0", "credit_carried_forward"),
            "amount_due": _money(estimate.get("amount_due", estimate["total"]), "amount_due"),
            "status": status,
            "livemode": livemode,
            "billing_reason": billing_reason,
            "invoice_date": _date(estimate.get("invoice_date")) or period_start,
        }
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise EstimateInconsistent(f"The locked estimate is malformed ({error!r}).") from error
    if sum((line["amount"] for line in lines), Decimal(0)) != subtotal + tax_included:
        raise EstimateInconsistent("The estimate's lines do not add up to its subtotal (and the tax in its prices).")
    if subtotal + tax != total:
        raise EstimateInconsistent("The estimate's subtotal and tax do not add up to its total.")
    return invoice, lines


@_atomic
def invoice_create_from_estimate(*, payment_terms_days: int | None = None, **kwargs) -> Invoice:
    """``invoice_values_from_estimate``, saved: the invoice and its lines, with the next number
    of the contract's business entity (``business_entity_id``: the contract's, when the caller
    knows it; else read). ``payment_terms_days``: an invoice the customer pays by transfer is
    due that many days after its date."""
    if kwargs.get("business_entity_id") is None:
        kwargs["business_entity_id"] = Contract.objects.values_list("business_entity_id", flat=True).get(
            pk=kwargs["contract_id"])
    values, lines = invoice_values_from_estimate(**kwargs)
    invoice = Invoice(**values)
    invoice.number = invoice_numbers_take(business_entity_id=invoice.business_entity_id)[0]
    if payment_terms_days is not None:
        invoice.due_date = (invoice.invoice_date or timezone.localdate()) + timedelta(days=payment_terms_days)
    if invoice.status == InvoiceStatus.PAID:
        invoice.paid_at = timezone.now()
    invoice.save(force_insert=True)
    InvoiceLine.objects.bulk_create(InvoiceLine(**line) for line in lines)
    return invoice


@_atomic
def coupon_redeem(*, coupon_id, promotion_code_id=None, checkout_session_id, contract_id, customer_id,
                  enforce_limit: bool = True) -> CouponRedemption:
    """Count one use of a coupon (and of the promotion code it came through) for a completing
    checkout. Exactly once under concurrency: each count is a conditional UPDATE
    (``times_redeemed < max_redemptions``) that row-locks the coupon, so two checkouts racing
    for the last use queue on that lock and the second finds none left
    (``PromotionCodeUsedUp``); and ``CouponRedemption`` is unique per session.

    ``enforce_limit=False``: a card payment that settled later was accepted, at the discounted
    price, while uses were left; it is counted even if the limit was reached meanwhile."""

    def count(model, pk, noun):
        rows = model.objects.filter(pk=pk)
        if enforce_limit:
            rows = rows.filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
        if not rows.update(times_redeemed=F("times_redeemed") + 1):
            raise PromotionCodeUsedUp(
                f"This {noun} has just been used for the last time. Remove it to continue at the full price.",
                field="promotion_code")

    if promotion_code_id is not None:
        count(PromotionCode, promotion_code_id, "code")
    count(Coupon, coupon_id, "code" if promotion_code_id is not None else "discount")
    return CouponRedemption.objects.create(
        coupon_id=coupon_id, promotion_code_id=promotion_code_id, checkout_session_id=checkout_session_id,
        contract_id=contract_id, customer_id=customer_id)


# --- ops: cancel at period end ----------------------------------------------------------------


@transaction.atomic
def contract_cancel_at_period_end(*, organization_id, contract_id, today: date | None = None) -> Contract:
    """End the contract when its current billing period ends (the longest cadence of the phase
    in force, so no prepaid period is cut short): ``end_date`` becomes that period's end (the
    first day not covered), and the version moves on so sessions priced before are refused.
    Refused (409 ``contract_not_cancellable``) for an ended contract, one with nothing
    recurring, or one that already ends by then."""
    from billing.selectors import contract_snapshot_get  # selectors import this module

    today = today or timezone.localdate()
    contract = Contract.objects.select_for_update().filter(pk=contract_id, organization_id=organization_id).first()
    if contract is None or contract.status != ContractStatus.ACTIVE:
        raise Conflict("The contract has ended already.", code="contract_not_cancellable")
    on = max(today, contract.start_date)
    snapshot = contract_snapshot_get(organization_id=organization_id, contract_id=contract_id, on=on,
                                     with_plan_items=False)
    months = max((item.terms.months or 0 for item in (snapshot.phase.items if snapshot.phase else ())), default=0)
    if not months:
        raise Conflict("The contract bills nothing recurring, so it has no period to end with.",
                       code="contract_not_cancellable")
    _start, period_end = period_containing(snapshot.billing_anchor, months, on)
    if contract.end_date is not None and contract.end_date <= period_end:
        raise Conflict(f"The contract already ends on {contract.end_date}.", code="contract_not_cancellable")
    contract.end_date = period_end
    contract.version = F("version") + 1
    contract.save(update_fields=["end_date", "version", "updated_at"])
    contract.refresh_from_db(fields=["version"])
    return contract
