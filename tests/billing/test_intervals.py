"""billing.intervals: a plan's period price and what a longer interval saves a year."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.estimates import QuoteItem
from billing.intervals import PeriodPrice, Saving, interval_months, period_price, saving, yearly_cost
from billing.pricing import PriceTerms


def item(amount: str, cadence: str | None = "P1M", *, quantity=1, model="per_unit", billing="recurring"):
    terms = PriceTerms(pricing_model=model, billing=billing, cadence=cadence, unit_amount=Decimal(amount))
    return QuoteItem(product_id="p", name="n", description="", quantity=quantity, terms=terms)


def test_period_price_sums_the_recurring_lines_rounded_each_and_leaves_one_time_fees_out():
    items = [item("0.005", quantity=1), item("0.005", quantity=1), item("199", None, billing="one_time"),
             item("12.00", quantity=3)]
    # 0.005 → 0.01 per line (half up), twice, + 36.00; the one-time 199 is not a period's price.
    assert period_price(items, "USD") == PeriodPrice(months=1, amount=Decimal("36.02"))


def test_no_single_interval_no_period_price():
    assert interval_months([item("1", "P1M"), item("1", "P1Y")]) is None
    assert interval_months([item("199", None, billing="one_time")]) is None
    assert period_price([item("1", "P1M"), item("1", "P1Y")], "USD") is None
    assert interval_months([item("1", "P1Y"), item("1", "P12M")]) == 12


@pytest.mark.parametrize(("shorter", "longer", "currency", "expected"), [
    # 85.00 a month is 1020.00 a year; 850.00 a year saves 170.00, 16.67 % → 16 (never overstated).
    (PeriodPrice(1, Decimal("85.00")), PeriodPrice(12, Decimal("850.00")), "USD", Saving(Decimal("170.00"), 16)),
    # Two months free: 10 × 9.99 = 99.90 a year against 119.88.
    (PeriodPrice(1, Decimal("9.99")), PeriodPrice(12, Decimal("99.90")), "USD", Saving(Decimal("19.98"), 16)),
    # Quarterly against yearly: 4 × 30.00 = 120.00 vs 100.00.
    (PeriodPrice(3, Decimal("30.00")), PeriodPrice(12, Decimal("100.00")), "USD", Saving(Decimal("20.00"), 16)),
    # JPY has no minor unit: 980 × 12 = 11760 vs 9800.
    (PeriodPrice(1, Decimal("980")), PeriodPrice(12, Decimal("9800")), "JPY", Saving(Decimal("1960"), 16)),
    # KWD has three: 1.255 × 12 = 15.060 vs 12.550.
    (PeriodPrice(1, Decimal("1.255")), PeriodPrice(12, Decimal("12.550")), "KWD", Saving(Decimal("2.510"), 16)),
    # Half off.
    (PeriodPrice(1, Decimal("10.00")), PeriodPrice(12, Decimal("60.00")), "USD", Saving(Decimal("60.00"), 50)),
])
def test_saving_a_year_to_the_minor_unit(shorter, longer, currency, expected):
    assert saving(shorter, longer, currency) == expected


@pytest.mark.parametrize("yearly", ["120.00", "130.00"])
def test_no_saving_when_the_yearly_plan_costs_as_much_or_more_per_month(yearly):
    assert saving(PeriodPrice(1, Decimal("10.00")), PeriodPrice(12, Decimal(yearly)), "USD") is None


def test_a_free_shorter_plan_saves_nothing():
    assert saving(PeriodPrice(1, Decimal("0")), PeriodPrice(12, Decimal("0")), "USD") is None


def test_yearly_cost_of_a_two_year_plan_is_half_of_it():
    assert yearly_cost(PeriodPrice(24, Decimal("100.01")), "USD") == Decimal("50.01")  # 50.005 half up


cents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(monthly=cents, yearly=cents)
def test_the_saving_is_the_difference_of_the_yearly_costs_and_under_100_percent(monthly, yearly):
    result = saving(PeriodPrice(1, monthly), PeriodPrice(12, yearly), "USD")
    if yearly >= monthly * 12:
        assert result is None
    else:
        assert result.amount == monthly * 12 - yearly
        assert 0 <= result.percent < 100
        assert result.percent <= result.amount * 100 / (monthly * 12)
