"""Invariants of the pricing engine, checked on generated plans, dates and currencies."""

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing.estimates import (
    MAX_TRIAL_DAYS,
    Discount,
    Quote,
    QuoteItem,
    QuotePhase,
    estimate_amendment,
    estimate_new_contract,
)
from billing.pricing import PriceTerms, Tier, add_months, days_in_month, period_containing
from core.money import minor_units

CURRENCIES = ["USD", "EUR", "JPY", "KWD", "BHD"]
CADENCES = ["P1M", "P3M", "P6M", "P1Y", "P18M", "P2Y"]

amounts = st.decimals(
    min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False
)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))


@st.composite
def tiers(draw):
    bounds = sorted(draw(st.sets(st.integers(1, 1_000), min_size=0, max_size=4)))
    return tuple(Tier(up_to, draw(amounts), draw(amounts)) for up_to in [*bounds, None])


@st.composite
def price_terms(draw, billing=None, timing=None):
    model = draw(st.sampled_from(["flat_fee", "per_unit", "tiered", "volume", "package"]))
    billing = billing or draw(st.sampled_from(["recurring", "recurring", "one_time"]))
    cadence = draw(st.sampled_from(CADENCES)) if billing == "recurring" else None
    timing = timing or draw(st.sampled_from(["in_advance", "in_arrears"]))
    if model in ("tiered", "volume"):
        return PriceTerms(model, billing, cadence, timing, tiers=draw(tiers()))
    size = draw(st.integers(1, 50)) if model == "package" else None
    return PriceTerms(model, billing, cadence, timing, unit_amount=draw(amounts), package_size=size)


@st.composite
def quote_items(draw, billing=None, timing=None, min_size=1):
    count = draw(st.integers(min_size, 6))
    return [
        QuoteItem(
            f"p{i}",
            f"Product {i}",
            "",
            draw(st.integers(0, 2_000)),
            draw(price_terms(billing, timing)),
        )
        for i in range(count)
    ]


@st.composite
def discounts(draw):
    duration = draw(st.sampled_from(["once", "repeating", "forever"]))
    periods = draw(st.integers(1, 4)) if duration == "repeating" else None
    if draw(st.booleans()):
        percent = draw(st.decimals(min_value=D("0.01"), max_value=100, places=2))
        return Discount("Percent", duration, percent_off=percent, duration_in_periods=periods)
    return Discount("Amount", duration, amount_off=draw(st.decimals(min_value=D("0.01"), max_value=2_000, places=4)),
                    duration_in_periods=periods)


@st.composite
def quotes(draw, extras=False):
    """A one-phase quote; with ``extras``, maybe a free trial and maybe a discount."""
    start = draw(dates)
    end = draw(st.one_of(st.none(), st.integers(2, 800).map(lambda n: start + timedelta(days=n))))
    items = draw(quote_items())
    trial_end = discount = None
    if extras:
        longest = MAX_TRIAL_DAYS if end is None else min(MAX_TRIAL_DAYS, (end - start).days - 1)
        trial_end = draw(st.one_of(st.none(), st.integers(1, longest).map(lambda n: start + timedelta(days=n))))
        discount = draw(st.one_of(st.none(), discounts()))
    return Quote(
        draw(st.sampled_from(CURRENCIES)),
        start,
        end,
        (QuotePhase("Main", start, end, tuple(items)),),
        trial_end=trial_end,
        discount=discount,
    )


tax_rates = st.one_of(st.none(), st.decimals(min_value=0, max_value=30, places=2))


def _invoices(estimates):
    return [inv for inv in (estimates.current_invoice, estimates.next_invoice) if inv is not None]


def _half_unit(currency):
    return D(1).scaleb(-minor_units(currency)) / 2


@settings(max_examples=400, deadline=None)
@given(quotes(extras=True), tax_rates)
def test_lines_sum_to_totals_exactly(quote, tax_rate):
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    wire = estimates.to_json()
    json.dumps(wire)  # plain JSON: strings, ints, bools, None; no Decimal or date leaks out
    places = minor_units(quote.currency)
    for invoice, data in zip(_invoices(estimates), (wire["current_invoice"], wire["next_invoice"]), strict=False):
        assert invoice.subtotal == sum(line.amount for line in invoice.line_items)
        assert invoice.total == invoice.subtotal + invoice.tax
        assert invoice.amount_due == max(invoice.total - invoice.credit_applied, 0)
        # the strings say the same, in the currency's exact precision
        assert D(data["subtotal"]) == sum(D(line["amount"]) for line in data["line_items"])
        assert D(data["total"]) == D(data["subtotal"]) + D(data["tax"])
        for text in (
            data["subtotal"],
            data["tax"],
            data["total"],
            data["amount_due"],
            *(line["amount"] for line in data["line_items"]),
        ):
            assert (len(text.partition(".")[2]) if "." in text else 0) == places
    assert estimates.current_invoice.amount_due == max(estimates.current_invoice.total, 0)


@settings(max_examples=300, deadline=None)
@given(quotes(extras=True), tax_rates)
def test_rounding_never_drifts_more_than_half_a_minor_unit_per_line(quote, tax_rate):
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    half = _half_unit(quote.currency)
    for invoice in _invoices(estimates):
        for line in invoice.line_items:
            assert abs(line.amount - line.exact_amount) <= half
        exact = sum((line.exact_amount for line in invoice.line_items), D(0))
        assert abs(invoice.subtotal - exact) <= half * len(invoice.line_items)


@settings(max_examples=300, deadline=None)
@given(quotes())
def test_proration_never_exceeds_a_full_period(quote):
    estimates = estimate_new_contract(quote=quote, tax_rate=None)
    for invoice in _invoices(estimates):
        for line in invoice.line_items:
            if line.days is None:
                continue
            assert 0 < line.days <= line.period_days
            assert line.proration == (line.days < line.period_days)
            assert abs(line.exact_amount) <= line.full_amount
            assert (
                abs(line.amount) <= abs(line.full_amount.quantize(line.amount, ROUND_HALF_UP))
                or line.full_amount == 0
            )


@st.composite
def amendments(draw):
    start = draw(dates)
    change = start + timedelta(days=draw(st.integers(0, 900)))
    end = draw(st.one_of(st.none(), st.integers(1, 400).map(lambda n: change + timedelta(days=n))))
    return start, change, end


@settings(max_examples=300, deadline=None)
@given(quote_items(billing="recurring"), amendments(), st.sampled_from(CURRENCIES), tax_rates)
def test_unchanged_amendment_credit_equals_its_charge(items, dates_, currency, tax_rate):
    start, change, end = dates_
    estimates = estimate_amendment(
        currency=currency,
        current_items=items,
        new_items=items,
        contract_start=start,
        contract_end=end,
        change_date=change,
        tax_rate=tax_rate,
    )
    invoice = estimates.current_invoice
    assert invoice.subtotal == invoice.tax == invoice.total == 0
    credits = sorted(
        (line.product_id, -line.amount) for line in invoice.line_items if line.kind == "credit"
    )
    charges = sorted(
        (line.product_id, line.amount) for line in invoice.line_items if line.kind == "charge"
    )
    assert credits == charges
    assert len(credits) == sum(1 for i in items if i.terms.timing == "in_advance")


@settings(max_examples=200, deadline=None)
@given(
    quote_items(billing="recurring"),
    quote_items(billing="recurring"),
    amendments(),
    st.sampled_from(CURRENCIES),
)
def test_amendment_lines_sum_and_stay_within_their_periods(current, new_items, dates_, currency):
    start, change, end = dates_
    estimates = estimate_amendment(
        currency=currency,
        current_items=current,
        new_items=new_items,
        contract_start=start,
        contract_end=end,
        change_date=change,
        tax_rate=None,
    )
    half = _half_unit(currency)
    for invoice in _invoices(estimates):
        assert invoice.subtotal == sum(line.amount for line in invoice.line_items)
        for line in invoice.line_items:
            assert abs(line.amount - line.exact_amount) <= half
            assert 0 < line.days <= line.period_days
            assert line.period_start < line.period_end
    if estimates.next_invoice is not None:
        assert estimates.next_invoice.invoice_date > change
        assert end is None or estimates.next_invoice.invoice_date <= end


@settings(max_examples=200, deadline=None)
@given(price_terms(), st.integers(0, 3_000), st.integers(0, 3_000))
def test_amount_never_decreases_with_quantity_except_volume(terms, a, b):
    # Volume pricing may drop at a tier edge (20 × 4 + 10 = 90 > 21 × 3 = 63): that is the model.
    assume(terms.pricing_model != "volume")
    low, high = sorted((a, b))
    assert terms.amount(low) <= terms.amount(high)


@given(tiers(), st.sampled_from(["tiered", "volume"]), st.integers(0, 3_000))
def test_tier_breakdown_covers_the_quantity_and_sums_to_the_amount(tiers_, model, quantity):
    # amount() has its own fast path for these models; the page's breakdown must agree.
    terms = PriceTerms(model, tiers=tiers_)
    charges = terms.tier_charges(quantity)
    assert sum((c.amount for c in charges), D(0)) == terms.amount(quantity)
    assert sum(c.quantity for c in charges) == quantity
    assert all(c.last - c.first + 1 == c.quantity for c in charges)
    assert all(a.last + 1 == b.first for a, b in zip(charges, charges[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(price_terms())
def test_terms_json_round_trip(terms):
    assert PriceTerms.from_json(terms.to_json()) == terms


@settings(max_examples=500, deadline=None)
@given(dates, st.sampled_from([1, 3, 6, 12, 18, 24]), st.integers(0, 3_000))
def test_period_containing_is_contiguous_and_keeps_the_anchor_day(anchor, months, offset):
    day = anchor + timedelta(days=offset)
    start, end = period_containing(anchor, months, day)
    assert start <= day < end
    assert (
        period_containing(anchor, months, end)[0] == end
    )  # the next period starts where this one ends
    for boundary in (start, end):
        assert boundary.day == min(anchor.day, days_in_month(boundary.year, boundary.month))
    assert 28 * months <= (end - start).days <= 31 * months + 1


@settings(max_examples=300, deadline=None)
@given(dates, st.integers(-60, 60))
def test_add_months_clamps_to_month_end(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, days_in_month(moved.year, moved.month))
    assume(day.day <= 28)
    assert moved.day == day.day


@settings(max_examples=300, deadline=None)
@given(quotes(extras=True), tax_rates)
def test_trials_bill_nothing_now_and_discounts_never_go_below_zero(quote, tax_rate):
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    current = estimates.current_invoice
    if quote.trial_end is not None:
        assert current.total == current.amount_due == 0
        assert {line.kind for line in current.line_items} <= {"trial"}
        assert estimates.next_invoice is None or estimates.next_invoice.invoice_date >= quote.trial_end
    for invoice in _invoices(estimates):
        discount_lines = [line for line in invoice.line_items if line.kind == "discount"]
        assert len(discount_lines) <= 1
        charges = sum((line.amount for line in invoice.line_items if line.kind != "discount"), D(0))
        if discount_lines:
            assert quote.discount is not None
            assert -charges <= discount_lines[0].amount < 0  # never more than the charges
        assert invoice.subtotal >= 0 or not discount_lines
    if quote.discount is not None and quote.discount.duration == "forever":
        # every invoice that charges anything is discounted by exactly the rounded reduction
        for invoice in _invoices(estimates):
            charges = sum((line.amount for line in invoice.line_items if line.kind != "discount"), D(0))
            taken = sum((line.amount for line in invoice.line_items if line.kind == "discount"), D(0))
            expected = quote.discount.reduction(charges, quote.currency) if charges > 0 else 0
            assert -taken == expected
