"""The pricing engine's discounts and free trials: table-driven, on hand-checked numbers."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing.errors import InvalidDates, InvalidQuote
from billing.estimates import (
    Discount,
    Quote,
    QuoteItem,
    QuotePhase,
    estimate_amendment,
    estimate_new_contract,
)
from billing.pricing import PriceTerms

START = date(2026, 1, 15)
SEATS = QuoteItem("seats", "Seats", "", 3, PriceTerms("per_unit", unit_amount=D("12.00")))
PLATFORM = QuoteItem("platform", "Platform", "", 1, PriceTerms("flat_fee", unit_amount=D("49.00")))
SETUP = QuoteItem("setup", "Onboarding", "", 1,
                  PriceTerms("flat_fee", billing="one_time", cadence=None, unit_amount=D("99.00")))
CALLS = QuoteItem("calls", "API calls", "", 1500, PriceTerms("per_unit", timing="in_arrears", unit_amount=D("0.01")))


def quote(*items, trial_end=None, discount=None, end=None, currency="USD"):
    items = items or (SEATS, PLATFORM, SETUP)
    return Quote(currency, START, end, (QuotePhase("Pro", START, end, items),), trial_end=trial_end,
                 discount=discount)


def lines(invoice):
    return [(line.kind, line.product_id, str(line.amount)) for line in invoice.line_items]


PCT20_ONCE = Discount("Spring", "once", percent_off=D("20"), promotion_code="SPRING")


def test_percent_off_once_discounts_the_first_invoice_only():
    estimates = estimate_new_contract(quote=quote(discount=PCT20_ONCE), tax_rate=D("8.25"))
    current = estimates.current_invoice
    # 36 + 49 + 99 = 184.00; 20 % = 36.80 off → 147.20; tax 8.25 % on that = 12.14
    assert lines(current)[-1] == ("discount", "", "-36.80")
    assert (current.subtotal, current.tax, current.total, current.amount_due) == (
        D("147.20"), D("12.14"), D("159.34"), D("159.34"))
    assert [kind for kind, *_ in lines(estimates.next_invoice)] == ["charge", "charge"]
    assert estimates.next_invoice.subtotal == D("85.00")


@pytest.mark.parametrize(("discount", "next_subtotal"), [
    (Discount("Two months", "repeating", percent_off=D("10"), duration_in_periods=2), D("76.50")),
    (Discount("One month", "repeating", percent_off=D("10"), duration_in_periods=1), D("85.00")),
    (Discount("Forever", "forever", percent_off=D("10")), D("76.50")),
])
def test_repeating_and_forever_reach_the_next_invoice_as_their_duration_says(discount, next_subtotal):
    estimates = estimate_new_contract(quote=quote(discount=discount), tax_rate=None)
    assert estimates.current_invoice.subtotal == D("165.60")  # 184.00 − 18.40
    assert estimates.next_invoice.subtotal == next_subtotal


def test_fixed_amount_never_takes_an_invoice_below_zero():
    big = Discount("Welcome", "forever", amount_off=D("500"))
    estimates = estimate_new_contract(quote=quote(discount=big), tax_rate=D("10"))
    assert lines(estimates.current_invoice)[-1] == ("discount", "", "-184.00")
    assert estimates.current_invoice.total == estimates.current_invoice.amount_due == D("0.00")
    assert estimates.next_invoice.total == D("0.00")


def test_fixed_amount_rounds_to_the_currency():
    yen = Discount("Yen off", "once", amount_off=D("100.4"))
    item = QuoteItem("p", "Plan", "", 1, PriceTerms("flat_fee", unit_amount=D("1000")))
    estimates = estimate_new_contract(quote=quote(item, discount=yen, currency="JPY"), tax_rate=None)
    assert estimates.current_invoice.total == D("900")


def test_a_trial_bills_nothing_today_and_the_first_paid_period_starts_when_it_ends():
    trial_end = date(2026, 1, 29)
    estimates = estimate_new_contract(quote=quote(SEATS, PLATFORM, SETUP, CALLS, trial_end=trial_end),
                                      tax_rate=D("8.25"))
    current = estimates.current_invoice
    assert (current.total, current.amount_due) == (D("0.00"), D("0.00"))
    # Each recurring item is listed, free, for the trial; the one-time fee waits for the first payment.
    assert lines(current) == [("trial", "seats", "0.00"), ("trial", "platform", "0.00"), ("trial", "calls", "0.00")]
    assert all((line.period_start, line.period_end) == (START, trial_end) for line in current.line_items)
    paid = estimates.next_invoice
    assert paid.invoice_date == trial_end
    # Periods count from the trial's end: [29 Jan, 28 Feb), a full month, not prorated.
    assert lines(paid) == [("charge", "seats", "36.00"), ("charge", "platform", "49.00"),
                           ("one_time", "setup", "99.00")]
    assert (paid.period_start, paid.period_end) == (trial_end, date(2026, 2, 28))
    assert paid.total == D("199.18")  # 184.00 + 15.18 tax


def test_a_once_discount_is_kept_for_the_first_paid_invoice_after_a_trial():
    estimates = estimate_new_contract(quote=quote(trial_end=date(2026, 2, 15), discount=PCT20_ONCE), tax_rate=None)
    assert [line.kind for line in estimates.current_invoice.line_items] == ["trial", "trial"]
    assert estimates.next_invoice.subtotal == D("147.20")
    assert lines(estimates.next_invoice)[-1] == ("discount", "", "-36.80")


def test_only_arrears_items_first_pay_when_the_first_period_after_the_trial_closes():
    estimates = estimate_new_contract(quote=quote(CALLS, trial_end=date(2026, 2, 1)), tax_rate=None)
    assert estimates.next_invoice.invoice_date == date(2026, 3, 1)
    assert lines(estimates.next_invoice) == [("usage", "calls", "15.00")]


@pytest.mark.parametrize(("trial_end", "end"), [
    (START, None),  # not after the start
    (date(2028, 1, 16), None),  # longer than 730 days
    (date(2026, 3, 1), date(2026, 3, 1)),  # not before the contract ends
])
def test_trial_dates_are_checked(trial_end, end):
    with pytest.raises(InvalidDates) as caught:
        quote(trial_end=trial_end, end=end)
    assert "trial_end" in caught.value.fields


@pytest.mark.parametrize("kwargs", [
    {"duration": "once"},  # neither amount
    {"duration": "once", "percent_off": D("10"), "amount_off": D("1")},
    {"duration": "once", "percent_off": D("101")},
    {"duration": "once", "amount_off": D("0")},
    {"duration": "repeating", "percent_off": D("10")},  # no periods
    {"duration": "once", "percent_off": D("10"), "duration_in_periods": 2},
    {"duration": "weekly", "percent_off": D("10")},
])
def test_discount_terms_are_checked(kwargs):
    with pytest.raises(InvalidQuote):
        Discount("x", **kwargs)


def test_quote_json_round_trips_trial_and_discount_and_stays_as_before_without():
    with_both = quote(trial_end=date(2026, 2, 1),
                      discount=Discount("X", "repeating", amount_off=D("5.5"), duration_in_periods=3,
                                        coupon_id="c", promotion_code="X5"))
    assert Quote.from_json(with_both.to_json()) == with_both
    assert set(quote().to_json()) == {"currency", "start_date", "end_date", "phases"}


def test_an_amendment_discount_comes_off_its_net_charge():
    more_seats = SEATS.replace(quantity=5)
    estimates = estimate_amendment(
        currency="USD", current_items=[SEATS], new_items=[more_seats], contract_start=START, contract_end=None,
        change_date=date(2026, 2, 15), tax_rate=None, discount=Discount("Half", "once", percent_off=D("50")))
    # credit −36.00 + charge 60.00 = 24.00 net; half off = −12.00
    assert lines(estimates.current_invoice) == [("credit", "seats", "-36.00"), ("charge", "seats", "60.00"),
                                                ("discount", "", "-12.00")]
    assert estimates.next_invoice.subtotal == D("60.00")


def test_discount_line_wire_shape():
    wire = estimate_new_contract(quote=quote(discount=PCT20_ONCE), tax_rate=None).to_json()
    line = wire["current_invoice"]["line_items"][-1]
    assert line["kind"] == "discount" and line["product_id"] is None and line["amount"] == "-36.80"
    assert line["description"] == "20% off the first invoice (code SPRING)"
    assert line["discount"]["percent_off"] == "20" and line["discount"]["promotion_code"] == "SPRING"
