"""The renewal engine (``contract_invoice``) bills what the checkout showed, to the minor unit.

Three checks on generated contracts:
- the first renewal equals the ``next_invoice`` the checkout session showed (every pricing model,
  cadence, currency, trials, discounts with durations, start dates on the 29th–31st and in leap
  years);
- after an amendment, the next renewal equals the amendment session's ``next_invoice``;
- a run of renewals equals an independent, naive reckoning of the same contract (each item's
  periods counted from the anchor with ``add_months``, prorated at the contract's end, the
  discount counted invoice by invoice), so the engine is not only consistent with itself.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing.estimates import (
    BillingSchedule,
    Discount,
    Quote,
    QuotePhase,
    contract_billing_date_next,
    contract_invoice,
    estimate_amendment,
    estimate_new_contract,
)
from billing.pricing import add_months
from core.money import quantum

from .test_properties import CURRENCIES, discounts, quote_items, quotes, tax_rates

# Start dates the month arithmetic finds hard: month ends (29th–31st) and leap days.
hard_dates = st.one_of(
    st.builds(date, st.integers(2023, 2030), st.sampled_from([1, 3, 5, 7, 8, 10, 12]), st.integers(29, 31)),
    st.builds(date, st.sampled_from([2024, 2028]), st.just(2), st.integers(27, 29)),
)


def _follows(estimates, schedule: BillingSchedule):
    """The renewal on the next invoice's date, as the run would issue it after the checkout."""
    current, shown = estimates.current_invoice, estimates.next_invoice
    first = schedule.start_date
    assert contract_billing_date_next(schedule, after=first) == (shown.invoice_date if shown else None)
    if shown is None:
        return None, None
    issued = contract_invoice(schedule, day=shown.invoice_date,
                              discount_invoices=1 if current.bills_anything else 0,
                              credit=current.credit_carried_forward)
    return shown, issued


@settings(max_examples=400, deadline=None)
@given(quotes(extras=True), tax_rates)
def test_first_renewal_equals_the_next_invoice_the_checkout_showed(quote, tax_rate):
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    shown, issued = _follows(estimates, BillingSchedule.from_quote(quote, tax_rate=tax_rate))
    if shown is not None:
        assert issued.to_json() == shown.to_json()


@settings(max_examples=200, deadline=None)
@given(hard_dates, quote_items(billing="recurring"), st.sampled_from(CURRENCIES), tax_rates,
       st.one_of(st.none(), discounts()))
def test_first_renewal_equals_the_estimate_from_month_ends_and_leap_days(start, items, currency, tax_rate,
                                                                          discount):
    quote = Quote(currency, start, None, (QuotePhase("Main", start, None, tuple(items)),), discount=discount)
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    shown, issued = _follows(estimates, BillingSchedule.from_quote(quote, tax_rate=tax_rate))
    assert shown is not None
    assert issued.to_json() == shown.to_json()


@st.composite
def amended_contracts(draw):
    start = draw(hard_dates | st.dates(min_value=date(2022, 1, 1), max_value=date(2030, 12, 31)))
    change = start + timedelta(days=draw(st.integers(0, 500)))
    end = draw(st.one_of(st.none(), st.integers(1, 400).map(lambda n: change + timedelta(days=n))))
    return start, change, end


@settings(max_examples=300, deadline=None)
@given(quote_items(billing="recurring"), quote_items(billing="recurring"), amended_contracts(),
       st.sampled_from(CURRENCIES), tax_rates)
def test_renewal_after_an_amendment_equals_the_amendments_next_invoice(current, new, dates_, currency, tax_rate):
    start, change, end = dates_
    estimates = estimate_amendment(currency=currency, current_items=current, new_items=new,
                                   contract_start=start, contract_end=end, change_date=change, tax_rate=tax_rate)
    phases = (QuotePhase("Before", start, change, tuple(current)), QuotePhase("After", change, end, tuple(new)))
    if change == start:  # superseded the day it started: on record, never billed
        phases = phases[1:]
    schedule = BillingSchedule(currency, start, end, phases, amendment_starts=frozenset({change}), tax_rate=tax_rate)
    shown = estimates.next_invoice
    assert contract_billing_date_next(schedule, after=change) == (shown.invoice_date if shown else None)
    if shown is not None:
        issued = contract_invoice(schedule, day=shown.invoice_date,
                                  credit=estimates.current_invoice.credit_carried_forward)
        assert issued.to_json() == shown.to_json()


@settings(max_examples=200, deadline=None)
@given(quote_items(billing="recurring"), amended_contracts(), st.sampled_from(CURRENCIES))
def test_an_amendment_that_changes_nothing_leaves_every_renewal_as_it_was(items, dates_, currency):
    """Credit + charge of an unchanged amendment is zero, and the renewals around it bill exactly
    what the unamended contract bills: nothing is billed twice or dropped at the change. (An
    arrears period the change falls in is billed as two lines, each rounded: at most one minor
    unit per extra line.)"""
    start, change, end = dates_
    plain = BillingSchedule(currency, start, end, (QuotePhase("Main", start, end, tuple(items)),))
    phases = (QuotePhase("Before", start, change, tuple(items)), QuotePhase("After", change, end, tuple(items)))
    amended = BillingSchedule(currency, start, end, phases[1:] if change == start else phases,
                              amendment_starts=frozenset({change}))
    day = start
    for _ in range(16):
        day = contract_billing_date_next(plain, after=day)
        if day is None:
            break
        assert contract_billing_date_next(amended, after=day - timedelta(days=1)) == day
        before, after = (contract_invoice(s, day=day) for s in (plain, amended))
        split = len(after.line_items) - len(before.line_items)
        assert split >= 0
        assert abs(after.total - before.total) <= split * quantum(currency), day


# --- an independent reckoning --------------------------------------------------------------------


def _naive_lines(items, anchor: date, end: date | None, horizon: date) -> dict[date, list[D]]:
    """Every charge each recurring item makes up to ``horizon``, by billing date: period k is
    [anchor + k·m, anchor + (k+1)·m) by ``add_months`` from the anchor (never chained), prepaid on
    its first day, postpaid on its last (or the contract's end); cut short by the end, prorated by
    days and rounded half-up per line."""
    by_day: dict[date, list] = defaultdict(list)
    for item in items:
        months = item.terms.months
        full = item.terms.amount(item.quantity)
        k = 0
        while True:
            start, stop = add_months(anchor, k * months), add_months(anchor, (k + 1) * months)
            if start > horizon or (end is not None and start >= end):
                break
            until = stop if end is None or stop <= end else end
            exact = full * (until - start).days / (stop - start).days if until != stop else full
            billed_on = start if item.terms.timing == "in_advance" else until
            by_day[billed_on].append(exact)
            k += 1
    return by_day


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2022, 1, 1), max_value=date(2030, 12, 31)) | hard_dates,
       quote_items(billing="recurring"), st.sampled_from(CURRENCIES), tax_rates,
       st.one_of(st.none(), discounts()), st.one_of(st.none(), st.integers(40, 900)))
def test_a_year_of_renewals_equals_a_naive_reckoning(start, items, currency, tax_rate, discount, length):
    end = None if length is None else start + timedelta(days=length)
    quote = Quote(currency, start, end, (QuotePhase("Main", start, end, tuple(items)),), discount=discount)
    schedule = BillingSchedule.from_quote(quote, tax_rate=tax_rate)
    horizon = add_months(start, 13)
    expected = _naive_lines(items, start, end, horizon)
    q = quantum(currency)

    used = 0  # invoices that have used the discount
    day = start - timedelta(days=1)
    issued = 0
    while (day := contract_billing_date_next(schedule, after=day)) is not None and day <= horizon:
        invoice = contract_invoice(schedule, day=day, discount_invoices=used)
        charges = sum((x.quantize(q, ROUND_HALF_UP) for x in expected.pop(day, [])), D(0))
        assert sum((li.amount for li in invoice.line_items if li.kind != "discount"), D(0)) == charges, day
        off = D(0)
        if charges > 0 and discount is not None and discount.applies_to(used + 1):
            off = discount.reduction(charges, currency)
        assert invoice.subtotal == charges - off
        assert invoice.tax == ((charges - off) * tax_rate / 100 if tax_rate else D(0)).quantize(q, ROUND_HALF_UP)
        used += invoice.bills_anything
        issued += 1
    assume(issued)
    # nothing the naive reckoning bills before the horizon was left out
    assert not [d for d in expected if d <= horizon and d >= start and any(expected[d])], expected


def test_a_monthly_flat_fee_from_31_january_renews_on_month_ends():
    from billing.estimates import QuoteItem
    from billing.pricing import PriceTerms

    item = QuoteItem("p", "Seat", "", 1, PriceTerms("flat_fee", "recurring", "P1M", "in_advance", unit_amount=D("49")))
    schedule = BillingSchedule("EUR", date(2027, 1, 31), None,
                               (QuotePhase("Main", date(2027, 1, 31), None, (item,)),),
                               discount=Discount("Launch", "repeating", percent_off=D(50), duration_in_periods=2))
    day, seen = date(2027, 1, 31), []
    used = 1  # the checkout invoice used the discount once
    for _ in range(4):
        day = contract_billing_date_next(schedule, after=day)
        invoice = contract_invoice(schedule, day=day, discount_invoices=used)
        used += invoice.bills_anything
        seen.append((day, str(invoice.total)))
    assert seen == [(date(2027, 2, 28), "24.50"), (date(2027, 3, 31), "49.00"),
                    (date(2027, 4, 30), "49.00"), (date(2027, 5, 31), "49.00")]
