"""The pricing engine. Invoice estimates: what a new contract or an amendment bills now, and what it bills next.

Pure: dataclasses in (a ``Quote``, or the current and new items of a contract), dataclasses out
(``Estimates``); no ORM, no request. ``billing.selectors`` loads the snapshots this runs on.

How billing is scheduled
- Every recurring item bills periods of its cadence counted from a *billing anchor*
  (``pricing.period_containing``). The anchor is the contract's start date and stays so across
  phases, as long as a phase brings no cadence the previous phase did not have; a phase that
  does (monthly → annual) restarts the anchor on its own start date, as Stripe resets the
  billing cycle anchor when the interval changes (``billing_anchors``).
- A phase's items are billed over the part of each period the phase covers; a period cut short
  by a phase boundary or by the contract's end is prorated by days:
  ``amount × days_billed / days_in_that_period``.
- In advance (prepaid): billed on the first day of that (possibly partial) period.
  In arrears (postpaid): billed when the period closes (its end, or the contract's end, or an
  anchor reset), for the days the phase covered.
- One-time items are billed on the day their phase starts, whatever their ``timing``.
- Dates are half-open: ``period_end`` is the first day *after* the period (like Stripe's
  ``period.end``), so ``[15 Jan, 15 Feb)`` is one month. The contract's ``end_date`` is
  exclusive the same way: service stops on that day.

An invoice estimate is everything billed on one date. ``current_invoice`` is the invoice on
the start (or change) date, ``next_invoice`` the next date anything is billed, or None.

Rounding: each line is rounded half-up to the currency's minor units (babel), then lines are
summed; tax is the rounded ``subtotal × rate / 100``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.money import quantize, quantum, to_str

from ..errors import InvalidDates
from ..pricing import (
    IN_ADVANCE,
    TIERED,
    VOLUME,
    ZERO,
    PriceTerms,
    add_months,
    period_containing,
    prorate,
)
from ..tax import tax_amounts, tax_note_for
from .describe import _describe, _discount_description, _render
from .quote import ContractSnapshot, Discount, LineKind, Quote, QuoteItem, QuotePhase

ONE_DAY = timedelta(days=1)


# --- estimates --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of an invoice estimate, with what the hosted page needs to explain it.

    ``amount`` is rounded to the currency (negative for credits), ``exact_amount`` is before
    rounding. Recurring lines carry ``days`` billed out of ``period_days`` of the full period
    ``full_amount`` is for. ``proration`` is true for credits and for lines that bill part of a
    period. A discount line has no product and no terms (``product_id`` "", ``terms`` None),
    but its ``discount``.
    """

    kind: str
    product_id: str
    name: str
    quantity: int
    terms: PriceTerms | None
    currency: str
    amount: Decimal
    exact_amount: Decimal
    full_amount: Decimal
    period_start: date
    period_end: date
    proration: bool
    days: int | None = None
    period_days: int | None = None
    discount: Discount | None = None

    @property
    def pricing_model(self) -> str | None:
        return None if self.terms is None else self.terms.pricing_model

    @property
    def unit_amount(self) -> Decimal | None:
        """The price of one unit (package: of one package), None when no single price applies."""
        terms = self.terms
        if terms is None:
            return None
        if terms.pricing_model == TIERED:
            return None
        if terms.pricing_model == VOLUME:
            return terms.volume_tier(self.quantity).unit_amount if self.quantity > 0 else None
        return terms.unit_amount

    @property
    def description(self) -> str:
        if self.terms is None:
            return _discount_description(self.discount, self.currency)
        return _describe(self, _render(self.terms, self.quantity, self.currency))

    def to_json(self, _memo: dict | None = None) -> dict:
        """The wire shape; ``_memo`` shares the per-item rendering between invoices of one call."""
        currency = self.currency
        terms = self.terms
        if terms is None:
            return self._discount_json()
        key = (id(terms), self.quantity)
        rendering = None if _memo is None else _memo.get(key)
        if rendering is None:
            rendering = _render(terms, self.quantity, currency)
            if _memo is not None:
                _memo[key] = rendering
        return {
            "kind": str(self.kind),
            "product_id": self.product_id,
            "name": self.name,
            "description": _describe(self, rendering),
            "pricing_model": terms.pricing_model,
            "quantity": self.quantity,
            "unit_amount": rendering.unit_amount,
            "amount": to_str(self.amount, currency),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "proration": self.proration,
            "cadence": terms.cadence,
            "proration_detail": {
                "days": self.days,
                "period_days": self.period_days,
                "full_period_amount": to_str(self.full_amount, currency),
            }
            if self.proration and self.days is not None
            else None,
            "tiers": None if rendering.tiers is None else [dict(tier) for tier in rendering.tiers],
        }

    def _discount_json(self) -> dict:
        discount = self.discount
        return {
            "kind": str(self.kind),
            "product_id": None,
            "name": self.name,
            "description": self.description,
            "pricing_model": None,
            "quantity": 1,
            "unit_amount": None,
            "amount": to_str(self.amount, self.currency),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "proration": False,
            "cadence": None,
            "proration_detail": None,
            "tiers": None,
            "discount": None if discount is None else discount.to_json(),
        }


@dataclass(frozen=True, slots=True)
class InvoiceEstimate:
    """Everything billed on ``invoice_date``.

    ``period_start``/``period_end`` span the service periods of its lines. ``total`` =
    ``subtotal + tax`` and may be negative (an amendment crediting more than it charges):
    ``amount_due`` is then 0 and the excess is ``credit_carried_forward`` to the customer's
    balance, never paid out; the next invoice applies it (``credit_applied``) before its
    ``amount_due``. So ``amount_due = max(total − credit_applied, 0)``, which is
    ``max(total, 0)`` for the current invoice.
    """

    currency: str
    invoice_date: date
    period_start: date
    period_end: date
    line_items: tuple[LineItem, ...]
    subtotal: Decimal
    tax_rate: Decimal | None
    tax: Decimal
    total: Decimal
    credit_applied: Decimal
    amount_due: Decimal
    credit_carried_forward: Decimal
    # The part of ``tax`` inside tax-inclusive prices: the lines add up to subtotal + this.
    tax_included: Decimal = ZERO
    # Why ``tax_rate`` (billing.tax.TaxReason; "" for the entity's flat rate), and what the
    # invoice must say about it (the reverse-charge mention).
    tax_reason: str = ""

    @property
    def tax_note(self) -> str:
        return tax_note_for(self.tax_reason)

    @property
    def bills_anything(self) -> bool:
        """Net charges above zero: this invoice uses a discount's duration up by one."""
        return sum((line.amount for line in self.line_items if line.kind != LineKind.DISCOUNT), ZERO) > 0

    def to_json(self, _memo: dict | None = None) -> dict:
        c = self.currency
        memo = {} if _memo is None else _memo
        return {
            "currency": c,
            "invoice_date": self.invoice_date.isoformat(),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "line_items": [line.to_json(memo) for line in self.line_items],
            "subtotal": to_str(self.subtotal, c),
            "tax_rate": None if self.tax_rate is None else format(self.tax_rate.normalize(), "f"),
            "tax": to_str(self.tax, c),
            "total": to_str(self.total, c),
            "credit_applied": to_str(self.credit_applied, c),
            "amount_due": to_str(self.amount_due, c),
            "credit_carried_forward": to_str(self.credit_carried_forward, c),
            "tax_included": to_str(self.tax_included, c),
            "tax_reason": self.tax_reason,
            "tax_note": self.tax_note,
        }


@dataclass(frozen=True, slots=True)
class Estimates:
    current_invoice: InvoiceEstimate
    next_invoice: InvoiceEstimate | None

    def to_json(self) -> dict:
        """The PRODUCT.md wire shape (``{"current_invoice": {…}, "next_invoice": {…} | null}``)."""
        memo: dict = {}
        return {
            "current_invoice": self.current_invoice.to_json(memo),
            "next_invoice": None if self.next_invoice is None else self.next_invoice.to_json(memo),
        }


def estimate_new_contract(*, quote: Quote, tax_rate: Decimal | None, tax_reason: str = "") -> Estimates:
    """``_estimate_new_contract``, each invoice marked with why it is taxed at ``tax_rate``
    (``billing.tax.tax_decide``'s reason: the note a reverse-charge invoice carries)."""
    estimates = _estimate_new_contract(quote=quote, tax_rate=tax_rate)
    return _with_tax_reason(estimates, tax_reason)


def _with_tax_reason(estimates: Estimates, reason: str) -> Estimates:
    if not reason:
        return estimates
    following = estimates.next_invoice
    return Estimates(replace(estimates.current_invoice, tax_reason=reason),
                     None if following is None else replace(following, tax_reason=reason))


def _estimate_new_contract(*, quote: Quote, tax_rate: Decimal | None) -> Estimates:
    """Current invoice: one-time fees and the first (prepaid) period of every recurring item
    in advance, on the start date. Next invoice: the next date anything is billed, typically the
    second prepaid period plus the first period of items billed in arrears; None when the
    contract ends before anything more is billed.
    """
    pricer = _Pricer(quote.currency)
    if quote.trial_end is not None:
        return _estimates_after_trial(pricer, quote, tax_rate)
    spans = _spans(quote.phases, billing_anchors(quote.phases), quote.end_date)
    return _estimates(pricer, spans, quote.start_date, [], tax_rate, discount=quote.discount)


def _estimates_after_trial(pricer: "_Pricer", quote: Quote, tax_rate) -> Estimates:
    """A free trial until ``quote.trial_end``: the current invoice (on the start date) bills
    nothing, with a zero line per recurring item so the customer sees what the trial covers.
    The contract is then billed as if it started on ``trial_end`` (Stripe's model: the billing
    anchor is the trial's end; one-time fees and arrears usage start then too), and the next
    invoice is its first paid one, with the discount's first use."""
    paid = _phases_from(quote.phases, quote.trial_end)
    spans = _spans(paid, billing_anchors(paid), quote.end_date)
    trial = [
        pricer.trial_line(item, quote.start_date, quote.trial_end)
        for item in quote.phases[0].items
        if item.terms.months
    ]
    current = _invoice(pricer.currency, quote.start_date, trial, tax_rate, ZERO)
    paid_day = _next_billing_date(pricer, spans, quote.trial_end - ONE_DAY)
    if paid_day is None:
        return Estimates(current, None)
    lines, _billed = _discounted(pricer, _lines_on(pricer, spans, paid_day), quote.discount, 1)
    return Estimates(current, _invoice(pricer.currency, paid_day, lines, tax_rate, ZERO))


def _phases_from(phases: Sequence[QuotePhase], day: date) -> tuple[QuotePhase, ...]:
    """The phases as they run from ``day`` on: ended ones dropped, the one in force cut to
    start on ``day``."""
    out = []
    for phase in phases:
        if phase.end_date is not None and phase.end_date <= day:
            continue
        if phase.start_date < day:
            phase = QuotePhase(phase.name, day, phase.end_date, phase.items, plan_id=phase.plan_id)
        out.append(phase)
    return tuple(out)


def estimate_amendment(
    *,
    currency: str,
    current_items: Sequence[QuoteItem],
    new_items: Sequence[QuoteItem],
    contract_start: date,
    contract_end: date | None,
    change_date: date,
    tax_rate: Decimal | None,
    billing_anchor: date | None = None,
    current_phase_start: date | None = None,
    discount: Discount | None = None,
    discount_invoices: int = 0,
    credit: Decimal = ZERO,
) -> Estimates:
    """A plan switch or quantity update taking effect on ``change_date``.

    Current invoice (on ``change_date``): for every prepaid recurring item of the current
    configuration, a credit for the unused days of the period it was billed for; for the new
    configuration, a charge for the rest of the period, both ``amount × days / period_days``;
    one-time items of products the contract did not have yet. Periods are counted from
    ``billing_anchor`` (default: the contract's start). A change on a period's first day credits
    the whole period (its regular invoice has been issued that morning) and charges a whole one.

    Cadence change: when the new configuration brings a cadence the current one does not have
    (monthly → annual), the billing anchor moves to ``change_date`` like Stripe's interval
    change: the old configuration is credited for its unused days, the new one is charged a
    full first period from ``change_date``, and arrears items of the old one are settled now.
    Otherwise arrears items keep billing on the regular date: the next invoice carries the old
    configuration's days before the change and the new one's after it.

    Next invoice: the first full period on the new configuration (plus arrears), or None.
    An amendment that changes nothing nets to zero, line by line.

    ``discount`` has been used by ``discount_invoices`` invoices already (a contract's ongoing
    discount); ``credit`` is what the customer is owed, applied before anything is due.
    """
    _check_amendment_dates(
        contract_start, contract_end, change_date, billing_anchor, current_phase_start
    )
    current_items, new_items = tuple(current_items), tuple(new_items)
    anchor = billing_anchor or contract_start
    reset = not _cadences(new_items) <= _cadences(current_items)
    new_anchor = change_date if reset else anchor
    held = {item.product_id for item in current_items}
    new_items = tuple(i for i in new_items if i.terms.months or i.product_id not in held)
    old = _Span(
        start=current_phase_start or contract_start,
        end=change_date,
        anchor=anchor,
        cycle_end=change_date if reset else contract_end,
        items=tuple(i for i in current_items if i.terms.months and i.terms.timing != IN_ADVANCE),
    )
    new = _Span(
        start=change_date,
        end=contract_end,
        anchor=new_anchor,
        cycle_end=contract_end,
        items=new_items,
    )
    pricer = _Pricer(currency)
    credits = [
        _credit_line(pricer, item, anchor, change_date, contract_end)
        for item in current_items
        if item.terms.months and item.terms.timing == IN_ADVANCE
    ]
    if reset:
        credits += _settled_arrears(pricer, old, change_date)
    # The old configuration bills nothing more on the change date itself: its prepaid period
    # is credited above, and its regular invoice of that day (if the change falls on a period
    # boundary) has already been issued.
    return _estimates(pricer, [old, new], change_date, credits, tax_rate, current_spans=[new],
                      discount=discount, discount_invoices=discount_invoices, credit=credit)


def estimate_contract_change(
    *, contract: ContractSnapshot, new_items: Sequence[QuoteItem], change_date: date,
    discount: Discount | None = None,
) -> Estimates:
    """``estimate_amendment`` for a loaded contract (its phase in force, anchor and tax rate)."""
    if contract.phase is None:
        raise InvalidDates("The contract has no phase in force on that date.", field="start_date")
    # Without a discount of its own, the change keeps the contract's (as Stripe keeps a
    # subscription's on a plan switch), counting the invoices that have used it.
    ongoing = discount is None and contract.discount is not None
    return _with_tax_reason(estimate_amendment(
        currency=contract.currency,
        current_items=contract.phase.items,
        new_items=new_items,
        contract_start=contract.start_date,
        contract_end=contract.end_date,
        change_date=change_date,
        tax_rate=contract.tax_rate,
        billing_anchor=contract.billing_anchor,
        current_phase_start=contract.phase.start_date,
        discount=contract.discount if ongoing else discount,
        discount_invoices=contract.discount_invoices if ongoing else 0,
        credit=contract.credit_balance,
    ), contract.tax_reason)


# --- renewals: the invoice a contract issues on a date ------------------------------------------


@dataclass(frozen=True, slots=True)
class BillingSchedule:
    """A contract as the renewal run bills it (``billing.selectors.billing_schedule_get``).

    ``phases`` are the contract's phases in order, contiguous from ``start_date``, as locked at
    checkout and by each amendment (zero-length ones, superseded the day they started, left
    out); ``amendment_starts``, the days an amendment opened a phase (its own invoice billed
    that day). ``trial_end``, ``discount`` and ``tax_rate`` are the contract's, locked when it
    was sold; ``discount_invoices`` counts the invoices that used the discount so far.
    """

    currency: str
    start_date: date
    end_date: date | None
    phases: tuple[QuotePhase, ...]
    amendment_starts: frozenset[date] = frozenset()
    trial_end: date | None = None
    discount: Discount | None = None
    tax_rate: Decimal | None = None
    tax_reason: str = ""

    @classmethod
    def from_quote(cls, quote: Quote, *, tax_rate: Decimal | None, tax_reason: str = "") -> "BillingSchedule":
        """The schedule of the contract a new-contract quote makes."""
        return cls(quote.currency, quote.start_date, quote.end_date, quote.phases,
                   trial_end=quote.trial_end, discount=quote.discount, tax_rate=tax_rate, tax_reason=tax_reason)


def _schedule_spans(schedule: BillingSchedule) -> "list[_Span]":
    phases = schedule.phases
    if schedule.trial_end is not None:
        phases = _phases_from(phases, schedule.trial_end)
    spans = _spans(phases, billing_anchors(phases), schedule.end_date)
    starts = schedule.amendment_starts
    if not starts:
        return spans
    return [
        _Span(span.start, span.end, span.anchor, span.cycle_end, span.items,
              opened_by_amendment=span.start in starts,
              amended_at=span.end if i + 1 < len(spans) and spans[i + 1].start in starts else None,
              contract_end=schedule.end_date)
        for i, span in enumerate(spans)
    ]


def contract_billing_date_next(schedule: BillingSchedule, *, after: date) -> date | None:
    """The first day after ``after`` on which the contract issues an invoice; None when it bills
    nothing more (it ends, or only one-time items were sold)."""
    return _next_billing_date(_Pricer(schedule.currency), _schedule_spans(schedule), after)


def contract_invoice(schedule: BillingSchedule, *, day: date, discount_invoices: int = 0,
                     credit: Decimal = ZERO) -> InvoiceEstimate:
    """Everything the contract bills on ``day``, priced by the engine that priced the checkout:
    prepaid periods starting that day, arrears periods closing that day, discounted when it is
    within the discount's duration (``discount_invoices`` invoices have used it), less the
    customer's ``credit`` (from amendments that credited more than they charged).

    For a contract sold at checkout this is, to the minor unit, the ``next_invoice`` its session
    showed (and, after an amendment, the amendment's ``next_invoice``): the same lines, the
    same rounding, the same discount and credit. May have no lines (nothing due that day)."""
    pricer = _Pricer(schedule.currency)
    lines = _lines_on(pricer, _schedule_spans(schedule), day)
    lines, _billed = _discounted(pricer, lines, schedule.discount, discount_invoices + 1)
    invoice = _invoice(pricer.currency, day, lines, schedule.tax_rate, credit)
    return replace(invoice, tax_reason=schedule.tax_reason) if schedule.tax_reason else invoice


# How far ahead a contract or a change may start: further out, prices and plans are likely
# to change before it begins; a merchant opens the session nearer the date.
MAX_START_DAYS_AHEAD = 365


def start_date_problem(items: Iterable[QuoteItem], start: date, today: date) -> str | None:
    """Why ``start`` is outside the window a session may price, or None.

    The window: from one billing period back (the longest recurring cadence among ``items``,
    a month when none recurs) to ``MAX_START_DAYS_AHEAD`` days ahead. A start whose whole
    first period has already ended would bill closed periods as if they were today's."""
    if start > today + timedelta(days=MAX_START_DAYS_AHEAD):
        return "too_late"
    months = max(_cadences(items), default=1)
    if add_months(start, months) <= today:
        return "too_early"
    return None


def phase_in_force(phases: Sequence, on: date) -> int | None:
    """The index of the phase in force ``on`` among ``phases`` (in order, each with
    ``start_date`` and a half-open ``end_date``): the one whose [start, end) holds ``on``; the
    first for a contract that has not started yet; None once every phase has ended. The one
    definition, for pricing an amendment and for applying it."""
    if not phases:
        return None
    if on < phases[0].start_date:
        return 0
    for index, phase in enumerate(phases):
        if phase.start_date <= on and (phase.end_date is None or on < phase.end_date):
            return index
    return None


def billing_anchors(phases: Sequence[QuotePhase]) -> list[date]:
    """The date each phase's periods are counted from.

    The first phase's start; a later phase keeps its predecessor's anchor unless it brings a
    recurring cadence the predecessor did not have, then it restarts on its own start date.
    """
    anchors: list[date] = []
    previous: frozenset[int] = frozenset()
    for i, phase in enumerate(phases):
        cadences = _cadences(phase.items)
        anchors.append(anchors[-1] if i and cadences <= previous else phase.start_date)
        previous = cadences
    return anchors


# --- schedule internals -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    """A phase as billing sees it: ``end`` clipped to the contract's end; ``cycle_end`` is where
    its periods stop being counted from ``anchor`` (next anchor reset or contract end).

    Renewals only (``BillingSchedule``): ``opened_by_amendment``, the phase was started by an
    amendment, whose own invoice billed everything due on its first day; ``amended_at``, the
    phase was ended on that day by an amendment, which credited the unused part of the prepaid
    periods running then: so its prepaid items bill every period that begins by that day in
    full (up to ``contract_end``), and its arrears cut short on that day were settled by the
    amendment's invoice, unless the day closes their period anyway.
    """

    start: date
    end: date | None
    anchor: date
    cycle_end: date | None
    items: tuple[QuoteItem, ...]
    opened_by_amendment: bool = False
    amended_at: date | None = None
    contract_end: date | None = None


def _cadences(items: Iterable[QuoteItem]) -> frozenset[int]:
    return frozenset(item.terms.months for item in items if item.terms.months)


def _spans(
    phases: Sequence[QuotePhase], anchors: list[date], contract_end: date | None
) -> list[_Span]:
    spans = []
    for i, phase in enumerate(phases):
        later_reset = next(
            (phases[j].start_date for j in range(i + 1, len(phases)) if anchors[j] != anchors[i]),
            None,
        )
        end = phase.end_date or contract_end
        if contract_end is not None and end is not None and end > contract_end:
            end = contract_end
        spans.append(
            _Span(phase.start_date, end, anchors[i], later_reset or contract_end, phase.items)
        )
    return spans


class _Pricer:
    """Per-call memo: each item's full-period amount and each period, computed once."""

    __slots__ = ("amounts", "currency", "periods", "quantum")

    def __init__(self, currency: str):
        self.currency = currency
        self.quantum = quantum(currency)
        self.amounts: dict[int, Decimal] = {}
        self.periods: dict[tuple, tuple[date, date]] = {}

    def period(self, anchor: date, months: int, day: date) -> tuple[date, date]:
        key = (anchor, months, day)
        found = self.periods.get(key)
        if found is None:
            found = self.periods[key] = period_containing(anchor, months, day)
        return found

    def full_amount(self, item: QuoteItem) -> Decimal:
        key = id(item)
        found = self.amounts.get(key)
        if found is None:
            found = self.amounts[key] = item.terms.amount(item.quantity)
        return found

    def trial_line(self, item: QuoteItem, start: date, end: date) -> LineItem:
        """``item`` during a free trial ``[start, end)``: nothing to pay."""
        zero = ZERO.quantize(self.quantum)
        return LineItem(LineKind.TRIAL, item.product_id, item.name, item.quantity, item.terms,
                        self.currency, zero, ZERO, self.full_amount(item), start, end, False)

    def line(self, kind, item, start, end, period_start=None, period_end=None) -> LineItem:
        """``item`` billed for ``[start, end)`` of the period ``[period_start, period_end)``
        (one-time lines have no period), prorated by days and rounded half-up."""
        full = self.full_amount(item)
        if period_start is None:
            return LineItem(
                kind,
                item.product_id,
                item.name,
                item.quantity,
                item.terms,
                self.currency,
                full.quantize(self.quantum, ROUND_HALF_UP),
                full,
                full,
                start,
                end,
                False,
            )
        days = (end - start).days
        period_days = (period_end - period_start).days
        exact = prorate(full, days, period_days)
        if kind == LineKind.CREDIT:
            exact = -exact
        return LineItem(
            kind,
            item.product_id,
            item.name,
            item.quantity,
            item.terms,
            self.currency,
            exact.quantize(self.quantum, ROUND_HALF_UP),
            exact,
            full,
            start,
            end,
            kind == LineKind.CREDIT or days != period_days,
            days,
            period_days,
        )


def _estimates(pricer: _Pricer, spans, day, extra_lines, tax_rate, current_spans=None,
               discount: Discount | None = None, discount_invoices: int = 0, credit: Decimal = ZERO) -> Estimates:
    """The invoice on ``day`` (``extra_lines`` plus what ``current_spans`` bill that day) and the
    next one (what any span bills on the next billing date), each with ``discount`` where it
    applies (``discount_invoices`` invoices have used it before) and ``credit`` applied."""
    lines = extra_lines + _lines_on(pricer, spans if current_spans is None else current_spans, day)
    nth = discount_invoices + 1
    lines, billed = _discounted(pricer, lines, discount, nth)
    current = _invoice(pricer.currency, day, lines, tax_rate, credit)
    next_day = _next_billing_date(pricer, spans, day)
    if next_day is None:
        return Estimates(current, None)
    next_lines, _billed = _discounted(pricer, _lines_on(pricer, spans, next_day), discount, nth + 1 if billed else nth)
    following = _invoice(
        pricer.currency,
        next_day,
        next_lines,
        tax_rate,
        current.credit_carried_forward,
    )
    return Estimates(current, following)


def _discounted(pricer: _Pricer, lines: list, discount: Discount | None, nth: int) -> tuple[list, bool]:
    """``lines`` with the discount's line added when the invoice is the ``nth`` that bills
    anything and the discount applies to it; and whether this invoice bills anything (net
    charges above zero: a trial's zero invoice or an amendment that credits more than it
    charges does not use a discount up)."""
    charges = sum((line.amount for line in lines), ZERO)
    if charges <= 0:
        return lines, False
    if discount is None or not discount.applies_to(nth):
        return lines, True
    off = discount.reduction(charges, pricer.currency)
    if not off:  # rounds to nothing in this currency (0.004 off in USD, 0.4 in JPY)
        return lines, True
    line = LineItem(
        LineKind.DISCOUNT, "", discount.name, 1, None, pricer.currency, -off, -off, -off,
        min(line.period_start for line in lines), max(line.period_end for line in lines), False,
        discount=discount,
    )
    return [*lines, line], True


def _lines_on(pricer: _Pricer, spans: Sequence[_Span], day: date) -> list[LineItem]:
    lines = []
    for span in spans:
        if span.end is not None and span.end <= span.start:
            continue
        for item in span.items:
            line = _line_on(pricer, span, item, day)
            if line is not None:
                lines.append(line)
    return lines


def _line_on(pricer: _Pricer, span: _Span, item: QuoteItem, day: date) -> LineItem | None:
    """The line ``item`` bills on ``day`` within ``span``, if any."""
    if span.opened_by_amendment and day == span.start:
        return None  # the amendment's own invoice billed its first day
    months = item.terms.months
    if not months:
        return pricer.line(LineKind.ONE_TIME, item, day, day) if day == span.start else None
    end = span.end
    if item.terms.timing == IN_ADVANCE and span.amended_at is not None:
        if day < span.start or day > span.amended_at:
            return None
        start, stop = pricer.period(span.anchor, months, day)
        if day != start and day != span.start:
            return None
        until = span.contract_end
        return pricer.line(
            LineKind.CHARGE, item, day, stop if until is None or stop < until else until, start, stop
        )
    if item.terms.timing == IN_ADVANCE:
        if day < span.start or (end is not None and day >= end):
            return None
        start, stop = pricer.period(span.anchor, months, day)
        if day != start and day != span.start:
            return None
        return pricer.line(
            LineKind.CHARGE, item, day, stop if end is None or stop < end else end, start, stop
        )
    if day <= span.start:
        return None
    start, stop = pricer.period(span.anchor, months, day - ONE_DAY)
    bill = stop if span.cycle_end is None or stop < span.cycle_end else span.cycle_end
    seg_start = max(span.start, start)
    seg_end = stop if end is None or stop < end else end
    if bill != day or seg_start >= seg_end:
        return None
    if span.amended_at == day and stop != day:
        return None  # settled by the amendment's invoice (``_settled_arrears``)
    return pricer.line(LineKind.USAGE, item, seg_start, seg_end, start, stop)


def _next_event(pricer: _Pricer, span: _Span, item: QuoteItem, after: date) -> date | None:
    """The first date after ``after`` on which ``item`` bills anything within ``span``."""
    if span.opened_by_amendment and after < span.start:
        # Its first day was billed by the amendment: what follows is the same as from that day.
        return _next_event(pricer, span, item, span.start)
    months = item.terms.months
    end = span.end
    if not months:
        return span.start if span.start > after else None
    if item.terms.timing == IN_ADVANCE and span.amended_at is not None:
        if span.start > after:
            return span.start
        stop = pricer.period(span.anchor, months, after)[1]
        return stop if stop <= span.amended_at else None
    if item.terms.timing == IN_ADVANCE:
        if span.start > after:
            return span.start
        if end is not None and after >= end:
            return None
        stop = pricer.period(span.anchor, months, after)[1]
        return stop if end is None or stop < end else None
    day = max(after, span.start)
    if end is not None and day >= end:
        day = end - ONE_DAY
    stop = pricer.period(span.anchor, months, day)[1]
    bill = stop if span.cycle_end is None or stop < span.cycle_end else span.cycle_end
    if span.amended_at is not None and bill == span.amended_at and stop != bill:
        return None  # settled by the amendment's invoice
    return bill if bill > after else None


def _next_billing_date(pricer: _Pricer, spans: Sequence[_Span], after: date) -> date | None:
    best = None
    for span in spans:
        if span.end is not None and span.end <= span.start:
            continue
        for item in span.items:
            when = _next_event(pricer, span, item, after)
            if when is not None and (best is None or when < best):
                best = when
    return best


def _credit_line(pricer: _Pricer, item, anchor, change_date, contract_end) -> LineItem:
    """The unused part, from ``change_date``, of the prepaid period that contains it."""
    start, stop = pricer.period(anchor, item.terms.months, change_date)
    paid_until = stop if contract_end is None or stop < contract_end else contract_end
    return pricer.line(LineKind.CREDIT, item, change_date, paid_until, start, stop)


def _settled_arrears(pricer: _Pricer, old: _Span, change_date: date) -> list[LineItem]:
    """On an anchor reset, arrears items of the old configuration are billed up to the change,
    unless the change falls on a period boundary (the regular invoice billed them)."""
    lines = []
    for item in old.items:
        start, stop = pricer.period(old.anchor, item.terms.months, change_date - ONE_DAY)
        seg_start = max(old.start, start)
        if stop != change_date and seg_start < change_date:
            lines.append(pricer.line(LineKind.USAGE, item, seg_start, change_date, start, stop))
    return lines


def _tax_split(lines) -> tuple[Decimal, Decimal]:
    """(exclusive, inclusive): the lines' amounts by their prices' tax behaviour. A discount
    line (no terms) reduces both in proportion to the charges it discounts."""
    exclusive = inclusive = charges = discount = ZERO
    for line in lines:
        if line.terms is None:
            discount += line.amount
            continue
        charges += line.amount
        if line.terms.tax_inclusive:
            inclusive += line.amount
        else:
            exclusive += line.amount
    if discount:
        off_inclusive = discount * inclusive / charges if charges else ZERO
        inclusive += off_inclusive
        exclusive += discount - off_inclusive
    return exclusive, inclusive


def _invoice(currency, day, lines, tax_rate, credit_before) -> InvoiceEstimate:
    exclusive, inclusive = _tax_split(lines)
    if inclusive:
        amounts = tax_amounts(exclusive=exclusive, inclusive=inclusive, rate=tax_rate, currency=currency)
        subtotal, tax, included = amounts.subtotal, amounts.tax, amounts.included
    else:  # the common case, kept to its two roundings
        subtotal = quantize(exclusive, currency)
        tax = quantize(subtotal * tax_rate / 100 if tax_rate else ZERO, currency)
        included = ZERO
    total = subtotal + tax
    payable = total if total > 0 else ZERO
    applied = min(payable, credit_before)
    carried = credit_before - applied + (-total if total < 0 else ZERO)
    return InvoiceEstimate(
        currency=currency,
        invoice_date=day,
        period_start=min((line.period_start for line in lines), default=day),
        period_end=max((line.period_end for line in lines), default=day),
        line_items=tuple(lines),
        subtotal=subtotal,
        tax_rate=tax_rate,
        tax=tax,
        total=total,
        credit_applied=quantize(applied, currency),
        amount_due=quantize(payable - applied, currency),
        credit_carried_forward=quantize(carried, currency),
        tax_included=quantize(included, currency),
    )


def _check_amendment_dates(
    contract_start, contract_end, change_date, billing_anchor, phase_start
) -> None:
    if contract_end is not None and contract_end <= contract_start:
        raise InvalidDates("The contract must end after it starts.", field="end_date")
    if change_date < contract_start or (contract_end is not None and change_date >= contract_end):
        raise InvalidDates(
            "The change must take effect while the contract runs.", field="start_date"
        )
    for value in (billing_anchor, phase_start):
        if value is not None and not contract_start <= value <= change_date:
            raise InvalidDates(
                "The current phase must start before the change.", field="start_date"
            )
