"""Invoice estimates for new contracts and amendments, with hand-computed amounts (pure)."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing.errors import (
    CurrencyMismatch,
    DuplicateProductOverride,
    InvalidDates,
    InvalidQuote,
    InvalidTiers,
    ItemNotOptional,
    PricingProductMismatch,
    QuantityOutOfBounds,
    UnknownPricing,
    UnknownProduct,
    UnknownProductOverride,
)
from billing.estimates import (
    CataloguePricing,
    ContractSnapshot,
    PhaseSnapshot,
    PlanItemSnapshot,
    PlanSnapshot,
    ProductRef,
    Quote,
    QuoteItem,
    QuotePhase,
    amendment_quote,
    billing_anchors,
    estimate_amendment,
    estimate_contract_change,
    estimate_new_contract,
    quote_from_contract_spec,
    quote_from_plan,
    quote_items_for_quantity_update,
    quote_items_from_plan,
)
from billing.pricing import PriceTerms, Tier


def per_unit(amount, cadence="P1M", timing="in_advance"):
    return PriceTerms("per_unit", cadence=cadence, timing=timing, unit_amount=D(amount))


def flat(amount, cadence="P1M"):
    return PriceTerms("flat_fee", cadence=cadence, unit_amount=D(amount))


def one_time(amount):
    return PriceTerms("flat_fee", billing="one_time", cadence=None, unit_amount=D(amount))


def item(product_id, terms, quantity=1, name=None):
    return QuoteItem(product_id, name or product_id.title(), "", quantity, terms)


def quote(items, start, end=None, currency="USD"):
    return Quote(currency, start, end, (QuotePhase("Main", start, end, tuple(items)),))


def new(items, start, end=None, currency="USD", tax_rate=None):
    return estimate_new_contract(quote=quote(items, start, end, currency), tax_rate=tax_rate)


def amounts(invoice):
    return [(line.kind, line.product_id, str(line.amount)) for line in invoice.line_items]


# --- new contracts ----------------------------------------------------------------------------


def test_new_contract_monthly_bills_first_period_now_and_second_next():
    estimates = new([item("seats", per_unit("10.00"), 5)], date(2026, 1, 15))
    current, following = estimates.current_invoice, estimates.next_invoice
    assert amounts(current) == [("charge", "seats", "50.00")]  # 5 × 10
    assert (current.invoice_date, current.period_start, current.period_end) == (
        date(2026, 1, 15),
        date(2026, 1, 15),
        date(2026, 2, 15),
    )
    assert amounts(following) == [("charge", "seats", "50.00")]
    assert (following.invoice_date, following.period_end) == (date(2026, 2, 15), date(2026, 3, 15))
    assert current.line_items[0].proration is False


def test_new_contract_one_time_now_arrears_next():
    items = [
        item("seats", PriceTerms("tiered", tiers=(Tier(10, D("5.00")), Tier(None, D("4.00")))), 12),
        item("api", per_unit("3.00", timing="in_arrears"), 100),
        item("setup", one_time("99.00")),
    ]
    estimates = new(items, date(2026, 1, 31), tax_rate=D("8.25"))
    current, following = estimates.current_invoice, estimates.next_invoice
    # 10 × 5 + 2 × 4 = 58; setup 99; usage not yet
    assert amounts(current) == [("charge", "seats", "58.00"), ("one_time", "setup", "99.00")]
    assert (current.subtotal, current.tax, current.total, current.amount_due) == (
        D("157.00"),
        D("12.95"),
        D("169.95"),
        D("169.95"),
    )  # 157 × 8.25 % = 12.9525 → 12.95
    # next on 28 Feb (31 Jan + 1 month, clamped): second period of seats + first month of usage
    assert following.invoice_date == date(2026, 2, 28)
    assert amounts(following) == [("charge", "seats", "58.00"), ("usage", "api", "300.00")]
    usage = following.line_items[1]
    assert (usage.period_start, usage.period_end) == (date(2026, 1, 31), date(2026, 2, 28))
    # 358 × 8.25 % = 29.535 → 29.54 (half-up)
    assert (following.subtotal, following.tax, following.total) == (
        D("358.00"),
        D("29.54"),
        D("387.54"),
    )


def test_new_contract_anchor_31st_comes_back_in_march():
    estimates = new([item("a", per_unit("1"))], date(2026, 1, 31))
    following = estimates.next_invoice
    assert (following.line_items[0].period_start, following.line_items[0].period_end) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
    )


def test_new_contract_leap_year_next_invoice_on_29_february():
    assert new([item("a", per_unit("1"))], date(2024, 1, 31)).next_invoice.invoice_date == date(
        2024, 2, 29
    )


def test_new_contract_annual_from_29_february_renews_28_february():
    estimates = new([item("a", per_unit("120.00", cadence="P1Y"))], date(2024, 2, 29))
    assert estimates.current_invoice.period_end == date(2025, 2, 28)
    assert estimates.next_invoice.invoice_date == date(2025, 2, 28)
    assert estimates.next_invoice.subtotal == D("120.00")


@pytest.mark.parametrize(
    "cadence, next_day",
    [
        ("P3M", date(2026, 4, 15)),
        ("P6M", date(2026, 7, 15)),
        ("P18M", date(2027, 7, 15)),
        ("P2Y", date(2028, 1, 15)),
    ],
)
def test_new_contract_cadences(cadence, next_day):
    assert (
        new(
            [item("a", per_unit("1", cadence=cadence))], date(2026, 1, 15)
        ).next_invoice.invoice_date
        == next_day
    )


def test_new_contract_future_start_bills_on_the_start_date():
    estimates = new([item("a", per_unit("10"))], date(2027, 6, 1))
    assert estimates.current_invoice.invoice_date == date(2027, 6, 1)
    assert estimates.next_invoice.invoice_date == date(2027, 7, 1)


def test_new_contract_ending_inside_first_period_prorates_and_has_no_next():
    # end is exclusive: service 15 Jan – 31 Jan = 17 days of the 31-day period; 31 × 17 / 31 = 17
    estimates = new([item("a", per_unit("31.00"))], date(2026, 1, 15), end=date(2026, 2, 1))
    (line,) = estimates.current_invoice.line_items
    assert (line.amount, line.proration, line.days, line.period_days) == (D("17.00"), True, 17, 31)
    assert line.period_end == date(2026, 2, 1)
    assert estimates.next_invoice is None


def test_new_contract_ending_inside_first_period_bills_arrears_at_the_end():
    estimates = new(
        [item("a", per_unit("31.00", timing="in_arrears"))], date(2026, 1, 15), end=date(2026, 2, 1)
    )
    assert estimates.current_invoice.line_items == ()
    assert estimates.current_invoice.amount_due == D(0)
    assert estimates.next_invoice.invoice_date == date(2026, 2, 1)
    assert amounts(estimates.next_invoice) == [("usage", "a", "17.00")]  # 31 × 17 / 31


def test_new_contract_ending_inside_second_period_prorates_next():
    # second period [15 Feb, 15 Mar) is 28 days, the contract stops on 1 Mar: 50 × 14 / 28 = 25
    estimates = new([item("a", per_unit("10.00"), 5)], date(2026, 1, 15), end=date(2026, 3, 1))
    assert estimates.current_invoice.subtotal == D("50.00")
    (line,) = estimates.next_invoice.line_items
    assert (line.amount, line.proration, line.period_end) == (D("25.00"), True, date(2026, 3, 1))


def test_new_contract_one_time_only_has_no_next_invoice():
    estimates = new([item("setup", one_time("500"))], date(2026, 1, 15))
    assert estimates.current_invoice.subtotal == D("500.00")
    assert estimates.next_invoice is None


def test_new_contract_quantity_zero_line_costs_nothing():
    estimates = new([item("a", per_unit("10"), 0), item("b", flat("20"), 0)], date(2026, 1, 15))
    assert amounts(estimates.current_invoice) == [("charge", "a", "0.00"), ("charge", "b", "0.00")]


@pytest.mark.parametrize(
    "currency, amount, expected, places",
    [
        ("USD", "31.00", "17.00", 2),
        ("JPY", "1000", "548", 0),  # 1000 × 17 / 31 = 548.387… → 548
        ("KWD", "10.000", "5.484", 3),  # 10 × 17 / 31 = 5.48387… → 5.484
        ("BHD", "10.000", "5.484", 3),
        ("EUR", "10.00", "5.48", 2),  # 5.48387… → 5.48
    ],
)
def test_new_contract_rounds_to_the_currency_minor_units(currency, amount, expected, places):
    estimates = new(
        [item("a", per_unit(amount))], date(2026, 1, 15), end=date(2026, 2, 1), currency=currency
    )
    wire = estimates.to_json()["current_invoice"]
    assert wire["line_items"][0]["amount"] == expected
    assert wire["subtotal"] == expected
    assert len(wire["total"].partition(".")[2]) == places


def test_rounding_is_half_up_not_bankers():
    # 10 × 0.0125 = 0.125 → 0.13 half-up (banker's rounding would give 0.12)
    estimates = new([item("a", per_unit("0.0125"), 10)], date(2026, 1, 15))
    assert estimates.current_invoice.line_items[0].amount == D("0.13")


def test_lines_are_rounded_then_summed():
    # three lines of 1 × 0.005 → each 0.01 (half-up), subtotal 0.03 (not round(0.015) = 0.02)
    estimates = new([item(p, per_unit("0.005")) for p in ("a", "b", "c")], date(2026, 1, 15))
    assert estimates.current_invoice.subtotal == D("0.03")


def test_tax_none_and_zero_give_zero_tax():
    for rate in (None, D(0)):
        invoice = new([item("a", per_unit("10"))], date(2026, 1, 15), tax_rate=rate).current_invoice
        assert (invoice.tax, invoice.total) == (D("0.00"), D("10.00"))


# --- phases -----------------------------------------------------------------------------------


def phased(*phases, start, end=None):
    return Quote(
        "USD",
        start,
        end,
        tuple(QuotePhase(f"P{i}", s, e, tuple(items)) for i, (s, e, items) in enumerate(phases)),
    )


def test_phases_switch_on_period_boundary():
    q = phased(
        (date(2026, 1, 1), date(2026, 2, 1), [item("a", per_unit("100"))]),
        (date(2026, 2, 1), None, [item("a", per_unit("80"))]),
        start=date(2026, 1, 1),
    )
    estimates = estimate_new_contract(quote=q, tax_rate=None)
    assert amounts(estimates.current_invoice) == [("charge", "a", "100.00")]
    assert amounts(estimates.next_invoice) == [("charge", "a", "80.00")]
    assert estimates.next_invoice.line_items[0].proration is False


def test_phase_ending_mid_period_prorates_both_sides():
    # periods anchored on 15 Jan; phase 1 stops on 1 Feb: 17 of 31 days × 100 = 54.8387… → 54.84
    # phase 2 bills [1 Feb, 15 Feb) of the [15 Jan, 15 Feb) period: 14 of 31 × 200 = 90.3225… → 90.32
    q = phased(
        (date(2026, 1, 15), date(2026, 2, 1), [item("a", per_unit("100"))]),
        (date(2026, 2, 1), None, [item("a", per_unit("200"))]),
        start=date(2026, 1, 15),
    )
    estimates = estimate_new_contract(quote=q, tax_rate=None)
    assert amounts(estimates.current_invoice) == [("charge", "a", "54.84")]
    assert estimates.next_invoice.invoice_date == date(2026, 2, 1)
    assert amounts(estimates.next_invoice) == [("charge", "a", "90.32")]
    assert estimates.next_invoice.line_items[0].period_end == date(2026, 2, 15)


def test_phase_with_new_cadence_restarts_the_anchor():
    monthly = [item("a", per_unit("10"))]
    annual = [item("a", per_unit("100", cadence="P1Y"))]
    phases = [
        QuotePhase("1", date(2026, 1, 15), date(2026, 3, 1), tuple(monthly)),
        QuotePhase("2", date(2026, 3, 1), None, tuple(annual)),
    ]
    assert billing_anchors(phases) == [date(2026, 1, 15), date(2026, 3, 1)]
    estimates = estimate_new_contract(
        quote=Quote("USD", date(2026, 1, 15), None, tuple(phases)), tax_rate=None
    )
    # next: 15 Feb, phase 1's last, cut-short period [15 Feb, 1 Mar): 10 × 14 / 28 = 5
    assert estimates.next_invoice.invoice_date == date(2026, 2, 15)
    assert amounts(estimates.next_invoice) == [("charge", "a", "5.00")]


def test_phase_with_only_one_time_items_then_recurring_next_is_phase_start():
    q = phased(
        (date(2026, 1, 15), date(2026, 2, 1), [item("setup", one_time("50"))]),
        (date(2026, 2, 1), None, [item("a", per_unit("30"))]),
        start=date(2026, 1, 15),
    )
    estimates = estimate_new_contract(quote=q, tax_rate=None)
    assert amounts(estimates.current_invoice) == [("one_time", "setup", "50.00")]
    assert estimates.next_invoice.invoice_date == date(2026, 2, 1)
    # anchor restarted on 1 Feb (a cadence phase 1 did not have): a full month
    assert amounts(estimates.next_invoice) == [("charge", "a", "30.00")]


def test_arrears_across_a_phase_change_bill_at_the_period_end():
    # anchor kept (same cadence): phase 1's arrears for [15 Jan, 1 Feb) and phase 2's for
    # [1 Feb, 15 Feb) are both billed on 15 Feb; 31 × 17/31 = 17, 62 × 14/31 = 28
    q = phased(
        (date(2026, 1, 15), date(2026, 2, 1), [item("u", per_unit("31", timing="in_arrears"))]),
        (date(2026, 2, 1), None, [item("u", per_unit("62", timing="in_arrears"))]),
        start=date(2026, 1, 15),
    )
    estimates = estimate_new_contract(quote=q, tax_rate=None)
    assert estimates.current_invoice.line_items == ()
    assert estimates.next_invoice.invoice_date == date(2026, 2, 15)
    assert amounts(estimates.next_invoice) == [("usage", "u", "17.00"), ("usage", "u", "28.00")]


@pytest.mark.parametrize(
    "phases, path",
    [
        ([(date(2026, 1, 2), None)], "phases.0.start_date"),
        (
            [(date(2026, 1, 1), date(2026, 2, 1)), (date(2026, 2, 2), None)],
            "phases.1.start_date",
        ),  # gap
        ([(date(2026, 1, 1), None), (date(2026, 2, 1), None)], "phases.0.end_date"),
        ([(date(2026, 1, 1), date(2026, 1, 1))], "phases.0.end_date"),
        ([(date(2026, 1, 1), date(2026, 3, 1))], "phases.0.end_date"),  # contract is evergreen
    ],
)
def test_quote_phase_dates_must_be_contiguous(phases, path):
    with pytest.raises(InvalidDates) as raised:
        Quote("USD", date(2026, 1, 1), None, tuple(QuotePhase("x", s, e, ()) for s, e in phases))
    assert list(raised.value.fields) == [path]


def test_quote_end_before_start_is_invalid():
    with pytest.raises(InvalidDates) as raised:
        quote([], date(2026, 1, 1), date(2025, 12, 31))
    assert list(raised.value.fields) == ["end_date"]


def test_quote_unknown_currency_is_invalid():
    with pytest.raises(InvalidQuote):
        quote([], date(2026, 1, 1), currency="XYZ")


def test_quote_item_negative_quantity_is_refused():
    with pytest.raises(QuantityOutOfBounds):
        item("a", per_unit("1"), -1)


# --- amendments -------------------------------------------------------------------------------

START = date(2026, 1, 15)


def amend(current, new_items, change, end=None, tax_rate=None, start=START, **kw):
    return estimate_amendment(
        currency="USD",
        current_items=current,
        new_items=new_items,
        contract_start=start,
        contract_end=end,
        change_date=change,
        tax_rate=tax_rate,
        **kw,
    )


SEATS_5 = [item("seats", per_unit("10.00"), 5)]
SEATS_8 = [item("seats", per_unit("10.00"), 8)]
SEATS_2 = [item("seats", per_unit("10.00"), 2)]


def test_quantity_up_mid_period():
    # period [15 Feb, 15 Mar) = 28 days, change on 1 Mar → 14 unused days
    estimates = amend(SEATS_5, SEATS_8, date(2026, 3, 1))
    current = estimates.current_invoice
    assert amounts(current) == [
        ("credit", "seats", "-25.00"),  # −50 × 14 / 28
        ("charge", "seats", "40.00"),
    ]  # 80 × 14 / 28
    assert current.subtotal == D("15.00")
    credit, charge = current.line_items
    assert (credit.period_start, credit.period_end, credit.proration) == (
        date(2026, 3, 1),
        date(2026, 3, 15),
        True,
    )
    assert (charge.days, charge.period_days, charge.proration) == (14, 28, True)
    assert "Unused time" in credit.description and "prorated" in charge.description
    assert estimates.next_invoice.invoice_date == date(2026, 3, 15)
    assert amounts(estimates.next_invoice) == [("charge", "seats", "80.00")]  # first full period


def test_quantity_down_mid_period_carries_the_credit_forward():
    estimates = amend(SEATS_5, SEATS_2, date(2026, 3, 1), tax_rate=D(10))
    current = estimates.current_invoice
    # −25 + 10 = −15; tax −1.50; total −16.50: nothing due, 16.50 carried
    assert (current.subtotal, current.tax, current.total) == (D("-15.00"), D("-1.50"), D("-16.50"))
    assert (current.amount_due, current.credit_carried_forward) == (D("0.00"), D("16.50"))
    following = estimates.next_invoice
    # 20 + 2 tax = 22; 16.50 applied → 5.50 due
    assert (following.total, following.credit_applied, following.amount_due) == (
        D("22.00"),
        D("16.50"),
        D("5.50"),
    )
    assert following.credit_carried_forward == D("0.00")


BASIC = [item("plan", flat("20.00"), name="Basic")]
PRO = [item("plan", flat("50.00"), name="Pro")]


@pytest.mark.parametrize(
    "current, new_items, expected",
    [
        (
            BASIC,
            PRO,
            [("credit", "plan", "-10.00"), ("charge", "plan", "25.00")],
        ),  # upgrade: −20×½ + 50×½
        (PRO, BASIC, [("credit", "plan", "-25.00"), ("charge", "plan", "10.00")]),  # downgrade
    ],
)
def test_plan_switch_upgrade_and_downgrade(current, new_items, expected):
    assert amounts(amend(current, new_items, date(2026, 3, 1)).current_invoice) == expected


def test_plan_switch_to_other_products_credits_old_charges_new():
    new_items = [item("pro", flat("50.00"))]
    assert amounts(amend(BASIC, new_items, date(2026, 3, 1)).current_invoice) == [
        ("credit", "plan", "-10.00"),
        ("charge", "pro", "25.00"),
    ]


def test_amendment_on_the_first_day_of_a_period_credits_and_charges_whole_periods():
    # period [15 Mar, 15 Apr) = 31 days, all unused
    estimates = amend(SEATS_5, SEATS_8, date(2026, 3, 15))
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-50.00"),
        ("charge", "seats", "80.00"),
    ]
    assert estimates.current_invoice.line_items[1].proration is False
    assert estimates.next_invoice.invoice_date == date(2026, 4, 15)


def test_amendment_on_the_last_day_of_a_period_is_one_day():
    # period [15 Mar, 15 Apr) = 31 days, change on 14 Apr → 1 day: −50/31 = −1.6129 → −1.61, 80/31 = 2.5806 → 2.58
    estimates = amend(SEATS_5, SEATS_8, date(2026, 4, 14))
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-1.61"),
        ("charge", "seats", "2.58"),
    ]
    assert estimates.current_invoice.subtotal == D("0.97")
    assert estimates.next_invoice.invoice_date == date(2026, 4, 15)


@pytest.mark.parametrize(
    "start, change, credit, charge",
    [
        # 30-day period [15 Apr, 15 May), change 1 May → 14 days: 50×14/30 = 23.333…, 80×14/30 = 37.333…
        (date(2026, 1, 15), date(2026, 5, 1), "-23.33", "37.33"),
        # 29-day period [15 Feb, 15 Mar) 2024, change 1 Mar → 14 days: 50×14/29 = 24.137…, 80×14/29 = 38.620…
        (date(2024, 1, 15), date(2024, 3, 1), "-24.14", "38.62"),
        # 31-day period [15 Jan, 15 Feb), change 1 Feb → 14 days: 50×14/31 = 22.580…, 80×14/31 = 36.129…
        (date(2026, 1, 15), date(2026, 2, 1), "-22.58", "36.13"),
        # on the contract's first day: everything unused
        (date(2026, 1, 15), date(2026, 1, 15), "-50.00", "80.00"),
    ],
)
def test_amendment_prorates_by_the_real_period_length(start, change, credit, charge):
    estimates = amend(SEATS_5, SEATS_8, change, start=start)
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", credit),
        ("charge", "seats", charge),
    ]


def test_amendment_that_changes_nothing_nets_to_zero():
    current = [
        item("seats", per_unit("9.99"), 7),
        item("base", flat("49.00")),
        item("api", per_unit("0.0125", timing="in_arrears"), 1000),
    ]
    estimates = amend(current, current, date(2026, 3, 4))
    invoice = estimates.current_invoice
    assert invoice.subtotal == invoice.total == D("0.00")
    credits = {line.product_id: line.amount for line in invoice.line_items if line.kind == "credit"}
    charges = {line.product_id: line.amount for line in invoice.line_items if line.kind == "charge"}
    assert credits == {p: -a for p, a in charges.items()} and len(credits) == 2


def test_amendment_near_contract_end_prorates_to_the_end_and_has_no_next():
    # change 15 Mar, end 20 Mar: 5 of the 31-day period; 50×5/31 = 8.064… → −8.06; 80×5/31 = 12.903… → 12.90
    estimates = amend(SEATS_5, SEATS_8, date(2026, 3, 15), end=date(2026, 3, 20))
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-8.06"),
        ("charge", "seats", "12.90"),
    ]
    assert estimates.next_invoice is None


def test_amendment_cadence_change_resets_the_anchor_to_the_change_date():
    annual = [item("seats", per_unit("100.00", cadence="P1Y"), 5)]
    estimates = amend(SEATS_5, annual, date(2026, 3, 1))
    # monthly credit −50 × 14/28 = −25; annual charged in full from 1 Mar: 5 × 100 = 500
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-25.00"),
        ("charge", "seats", "500.00"),
    ]
    charge = estimates.current_invoice.line_items[1]
    assert (charge.period_start, charge.period_end, charge.proration) == (
        date(2026, 3, 1),
        date(2027, 3, 1),
        False,
    )
    assert estimates.next_invoice.invoice_date == date(2027, 3, 1)


def test_amendment_dropping_a_cadence_keeps_the_anchor():
    current = [
        item("seats", per_unit("10.00"), 5),
        item("support", per_unit("120.00", cadence="P1Y")),
    ]
    estimates = amend(current, SEATS_8, date(2026, 3, 1))
    # annual period [15 Jan 2026, 15 Jan 2027) = 365 days, 320 unused: 120 × 320/365 = 105.205… → −105.21
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-25.00"),
        ("credit", "support", "-105.21"),
        ("charge", "seats", "40.00"),
    ]
    assert estimates.next_invoice.invoice_date == date(2026, 3, 15)


def test_amendment_keeping_the_anchor_bills_arrears_on_the_regular_date():
    usage = [item("api", per_unit("1.00", timing="in_arrears"), 28)]
    more_usage = [item("api", per_unit("2.00", timing="in_arrears"), 28)]
    estimates = amend(usage, more_usage, date(2026, 3, 1))
    assert estimates.current_invoice.line_items == ()
    # on 15 Mar: old terms for [15 Feb, 1 Mar) 28 × 14/28 = 14, new for [1 Mar, 15 Mar) 56 × 14/28 = 28
    assert estimates.next_invoice.invoice_date == date(2026, 3, 15)
    assert amounts(estimates.next_invoice) == [("usage", "api", "14.00"), ("usage", "api", "28.00")]


def test_amendment_resetting_the_anchor_settles_arrears_now():
    current = [
        item("seats", per_unit("10.00"), 5),
        item("api", per_unit("1.00", timing="in_arrears"), 28),
    ]
    annual = [item("seats", per_unit("100.00", cadence="P1Y"), 5)]
    estimates = amend(current, annual, date(2026, 3, 1))
    # usage [15 Feb, 1 Mar) = 14 of 28 days × 28 = 14.00, billed with the switch
    assert ("usage", "api", "14.00") in amounts(estimates.current_invoice)
    assert estimates.next_invoice.invoice_date == date(2027, 3, 1)


def test_amendment_reset_on_a_period_boundary_does_not_bill_regular_arrears_twice():
    current = [item("api", per_unit("1.00", timing="in_arrears"), 28)]
    annual = [item("seats", per_unit("100.00", cadence="P1Y"))]
    estimates = amend(
        current, annual, date(2026, 3, 15)
    )  # 15 Mar: the usage was billed by the regular invoice
    assert amounts(estimates.current_invoice) == [("charge", "seats", "100.00")]


def test_amendment_charges_one_time_fees_only_for_new_products():
    current = [item("seats", per_unit("10.00"), 5), item("setup", one_time("99.00"))]
    new_items = current + [item("onboarding", one_time("250.00"))]
    estimates = amend(current, new_items, date(2026, 3, 1))
    assert ("one_time", "onboarding", "250.00") in amounts(estimates.current_invoice)
    assert all(line.product_id != "setup" for line in estimates.current_invoice.line_items)


@pytest.mark.parametrize("change", [date(2026, 1, 14), date(2026, 6, 1)])
def test_amendment_outside_the_contract_is_invalid(change):
    with pytest.raises(InvalidDates) as raised:
        amend(SEATS_5, SEATS_8, change, end=date(2026, 6, 1))
    assert raised.value.code == "invalid_dates"


def test_amendment_counts_periods_from_the_given_anchor():
    # a later phase reset the anchor to 1 Mar: period [1 May, 1 Jun) = 31 days, change 16 May → 16 days
    estimates = amend(
        SEATS_5,
        SEATS_8,
        date(2026, 5, 16),
        billing_anchor=date(2026, 3, 1),
        current_phase_start=date(2026, 3, 1),
    )
    # −50 × 16/31 = −25.806… → −25.81; 80 × 16/31 = 41.290… → 41.29
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-25.81"),
        ("charge", "seats", "41.29"),
    ]
    assert estimates.next_invoice.invoice_date == date(2026, 6, 1)


# --- wire shape -------------------------------------------------------------------------------

LINE_KEYS = {
    "product_id",
    "name",
    "description",
    "pricing_model",
    "quantity",
    "unit_amount",
    "amount",
    "period_start",
    "period_end",
    "proration",
}
INVOICE_KEYS = {
    "currency",
    "period_start",
    "period_end",
    "line_items",
    "subtotal",
    "tax",
    "total",
    "amount_due",
}


def test_estimates_to_json_has_the_product_shape():
    items = [
        item(
            "seats", PriceTerms("volume", tiers=(Tier(10, D("5.00")), Tier(None, D("4.00"), D(10))))
        ),
        item("setup", one_time("99")),
    ]
    wire = new(items, date(2026, 1, 15), end=date(2026, 2, 1), tax_rate=D("8.25")).to_json()
    assert set(wire) == {"current_invoice", "next_invoice"}
    assert wire["next_invoice"] is None
    invoice = wire["current_invoice"]
    assert INVOICE_KEYS <= set(invoice)
    assert (invoice["currency"], invoice["period_start"], invoice["period_end"]) == (
        "USD",
        "2026-01-15",
        "2026-02-01",
    )
    for line in invoice["line_items"]:
        assert LINE_KEYS <= set(line)
    seats, setup = invoice["line_items"]
    # volume, 1 unit in tier 1: 1 × 5.00 = 5; 17 of 31 days: 5 × 17/31 = 2.741… → 2.74
    assert seats == seats | {
        "product_id": "seats",
        "pricing_model": "volume",
        "quantity": 1,
        "unit_amount": "5.00",
        "amount": "2.74",
        "period_start": "2026-01-15",
        "period_end": "2026-02-01",
        "proration": True,
        "kind": "charge",
        "cadence": "P1M",
    }
    assert seats["proration_detail"] == {
        "days": 17,
        "period_days": 31,
        "full_period_amount": "5.00",
    }
    assert seats["tiers"][0]["unit_amount"] == "5.00"
    assert setup["amount"] == "99.00" and setup["proration"] is False and setup["tiers"] is None
    # 2.74 + 99.00 = 101.74; tax 8.25 % = 8.39355 → 8.39
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["amount_due"]) == (
        "101.74",
        "8.39",
        "110.13",
        "110.13",
    )
    assert all(isinstance(invoice[k], str) for k in ("subtotal", "tax", "total", "amount_due"))


def test_line_descriptions_explain_the_numbers():
    graduated = PriceTerms("tiered", tiers=(Tier(10, D("5.00")), Tier(None, D("4.00"), D("10.00"))))
    package = PriceTerms("package", unit_amount=D(25), package_size=10)
    estimates = new(
        [item("a", graduated, 12), item("b", package, 11), item("c", per_unit("0.0125"), 3)],
        date(2026, 1, 15),
    )
    a, b, c = (line.description for line in estimates.current_invoice.line_items)
    assert a == "12 units (10 × 5.00 + 2 × 4.00 + 10.00 flat) per month"
    assert b == "11 units in 2 packages of 10 × 25.00 per month"
    assert c == "3 × 0.0125 per month"
    assert estimates.current_invoice.to_json()["line_items"][2]["unit_amount"] == "0.0125"


# --- quotes: JSON -----------------------------------------------------------------------------


def test_quote_json_round_trip():
    graduated = PriceTerms("tiered", tiers=(Tier(10, D("5.00")), Tier(None, D("4.00"))))
    q = Quote(
        "USD",
        date(2026, 1, 15),
        date(2027, 1, 15),
        (
            QuotePhase(
                "Ramp",
                date(2026, 1, 15),
                date(2026, 7, 15),
                (QuoteItem("p1", "Seats", "Per seat", 12, graduated, "pr1"),),
                plan_id="plan-1",
            ),
            QuotePhase(
                "Full",
                date(2026, 7, 15),
                date(2027, 1, 15),
                (QuoteItem("p1", "Seats", "", 20, graduated),),
            ),
        ),
    )
    data = q.to_json()
    assert data["phases"][0]["items"][0] == {
        "product_id": "p1",
        "pricing_id": "pr1",
        "name": "Seats",
        "description": "Per seat",
        "quantity": 12,
        "terms": graduated.to_json(),
    }
    assert Quote.from_json(data) == q


def test_quote_from_json_malformed_raises_invalid_quote():
    with pytest.raises(InvalidQuote):
        Quote.from_json({"currency": "USD"})


def test_quote_from_json_bad_terms_name_their_path():
    data = quote([item("a", per_unit("1"))], date(2026, 1, 1)).to_json()
    data["phases"][0]["items"][0]["terms"]["tiers"] = [{"up_to": 3, "unit_amount": "1"}]
    with pytest.raises(InvalidTiers) as raised:
        Quote.from_json(data)
    assert list(raised.value.fields) == ["phases.0.items.0.terms.tiers"]


# --- plans and overrides ----------------------------------------------------------------------


def plan_item(product_id, terms, default=1, low=0, high=None, optional=False):
    return PlanItemSnapshot(
        product_id,
        product_id.title(),
        "",
        f"pricing-{product_id}",
        terms,
        default,
        low,
        high,
        optional,
    )


PLAN = PlanSnapshot(
    "plan-1",
    "Team",
    "USD",
    "active",
    (
        plan_item("base", flat("49.00"), low=1, high=1),
        plan_item("seats", per_unit("10.00"), default=5, low=1, high=50),
        plan_item("support", per_unit("99.00"), optional=True),
    ),
)


def test_plan_items_default_quantities_and_optional_included():
    items = quote_items_from_plan(PLAN)
    assert [(i.product_id, i.quantity, i.pricing_id) for i in items] == [
        ("base", 1, "pricing-base"),
        ("seats", 5, "pricing-seats"),
        ("support", 1, "pricing-support"),
    ]


def test_plan_overrides_change_quantities_and_leave_disabled_items_out():
    items = quote_items_from_plan(
        PLAN,
        [{"product_id": "seats", "quantity": 12}, {"product_id": "support", "is_enabled": False}],
    )
    assert [(i.product_id, i.quantity) for i in items] == [("base", 1), ("seats", 12)]
    estimates = estimate_new_contract(quote=quote(items, date(2026, 1, 15)), tax_rate=None)
    assert estimates.current_invoice.subtotal == D("169.00")  # 49 + 12 × 10


@pytest.mark.parametrize(
    "overrides, error, path",
    [
        ([{"product_id": "nope"}], UnknownProductOverride, "product_overrides.0.product_id"),
        (
            [{"product_id": "base", "is_enabled": False}],
            ItemNotOptional,
            "product_overrides.0.is_enabled",
        ),
        (
            [{"product_id": "base"}, {"product_id": "seats", "quantity": 51}],
            QuantityOutOfBounds,
            "product_overrides.1.quantity",
        ),
        (
            [{"product_id": "seats", "quantity": 0}],
            QuantityOutOfBounds,
            "product_overrides.0.quantity",
        ),
        (
            [{"product_id": "seats", "quantity": "3"}],
            QuantityOutOfBounds,
            "product_overrides.0.quantity",
        ),
        (
            [{"product_id": "seats"}, {"product_id": "seats"}],
            DuplicateProductOverride,
            "product_overrides.1.product_id",
        ),
        (
            [{"product_id": "seats", "is_enabled": "no"}],
            InvalidQuote,
            "product_overrides.0.is_enabled",
        ),
        (["seats"], InvalidQuote, "product_overrides.0"),
    ],
)
def test_plan_overrides_invalid_raise_with_field_path(overrides, error, path):
    with pytest.raises(error) as raised:
        quote_items_from_plan(PLAN, overrides)
    assert list(raised.value.fields) == [path]
    assert raised.value.status == 422


def test_plan_override_bounds_edges_are_allowed():
    items = quote_items_from_plan(
        PLAN, [{"product_id": "seats", "quantity": 1}, {"product_id": "base", "quantity": 1}]
    )
    assert [i.quantity for i in items] == [1, 1, 1]
    assert quote_items_from_plan(PLAN, [{"product_id": "seats", "quantity": 50}])[1].quantity == 50


def test_quote_from_plan_puts_date_errors_under_the_given_field():
    with pytest.raises(InvalidDates) as raised:
        quote_from_plan(
            plan=PLAN, start_date=date(2026, 2, 1), end_date=date(2026, 1, 1), field="contract"
        )
    assert list(raised.value.fields) == ["contract.end_date"]
    q = quote_from_plan(plan=PLAN, start_date=date(2026, 2, 1))
    assert (q.currency, q.phases[0].plan_id, q.phases[0].name) == ("USD", "plan-1", "Team")


# --- contracts: quantity update ---------------------------------------------------------------


def contract(items, plan_items=(), start=START, end=None, tax_rate=None):
    phase = PhaseSnapshot(
        "phase-1", "Main", "plan-1" if plan_items else None, start, None, tuple(items)
    )
    return ContractSnapshot(
        "c-1",
        "org-1",
        "cust-1",
        "be-1",
        "USD",
        start,
        end,
        "active",
        "plan-1" if plan_items else None,
        tax_rate,
        start,
        phase,
        tuple(plan_items),
    )


def test_quantity_update_changes_locked_items_and_keeps_their_terms():
    locked = [item("seats", per_unit("8.00"), 5)]  # sold at 8.00, the plan now says 10.00
    snapshot = contract(locked, PLAN.items)
    items = quote_items_for_quantity_update(
        contract=snapshot, overrides=[{"product_id": "seats", "quantity": 6}]
    )
    assert [(i.product_id, i.quantity, i.terms.unit_amount) for i in items] == [
        ("seats", 6, D("8.00"))
    ]
    estimates = estimate_contract_change(
        contract=snapshot, new_items=items, change_date=date(2026, 3, 1)
    )
    # −40 × 14/28 = −20, 48 × 14/28 = 24
    assert amounts(estimates.current_invoice) == [
        ("credit", "seats", "-20.00"),
        ("charge", "seats", "24.00"),
    ]


def test_quantity_update_can_add_a_plan_product_and_respects_plan_bounds():
    snapshot = contract([item("seats", per_unit("10.00"), 5)], PLAN.items)
    items = quote_items_for_quantity_update(
        contract=snapshot, overrides=[{"product_id": "support", "quantity": 1}]
    )
    assert [i.product_id for i in items] == ["seats", "support"]
    with pytest.raises(QuantityOutOfBounds) as raised:
        quote_items_for_quantity_update(
            contract=snapshot, overrides=[{"product_id": "seats", "quantity": 99}]
        )
    assert list(raised.value.fields) == ["product_overrides.0.quantity"]
    with pytest.raises(UnknownProductOverride):
        quote_items_for_quantity_update(contract=snapshot, overrides=[{"product_id": "other"}])


def test_quantity_update_on_a_product_based_contract_allows_removal():
    snapshot = contract([item("seats", per_unit("10.00"), 5), item("addon", per_unit("3.00"))])
    items = quote_items_for_quantity_update(
        contract=snapshot, overrides=[{"product_id": "addon", "is_enabled": False}]
    )
    assert [i.product_id for i in items] == ["seats"]


def test_amendment_quote_is_the_new_phase_from_the_change_date():
    snapshot = contract(SEATS_5, end=date(2027, 1, 15))
    q = amendment_quote(
        contract=snapshot, items=SEATS_8, change_date=date(2026, 3, 1), plan_id="plan-2"
    )
    assert (q.start_date, q.end_date, q.phases[0].start_date, q.phases[0].plan_id) == (
        date(2026, 3, 1),
        date(2027, 1, 15),
        date(2026, 3, 1),
        "plan-2",
    )
    assert Quote.from_json(q.to_json()) == q


# --- product-based contracts ------------------------------------------------------------------

PRODUCTS = {
    "p-seat": ProductRef("p-seat", "Seats", "Per seat"),
    "p-api": ProductRef("p-api", "API", ""),
}
PRICINGS = {
    "pr-seat": CataloguePricing("pr-seat", PRODUCTS["p-seat"], "USD", per_unit("10.00")),
    "pr-eur": CataloguePricing("pr-eur", PRODUCTS["p-seat"], "EUR", per_unit("9.00")),
}
INLINE_TIERED = {
    "pricing_model": "tiered",
    "billing": "recurring",
    "cadence": "P1M",
    "timing": "in_advance",
    "tiers": [
        {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
        {"up_to": None, "unit_amount": "4.00"},
    ],
}


def spec(*pricings, phases=None, end=None):
    return {
        "is_plan_based": False,
        "currency": "USD",
        "start_date": "2026-01-15",
        "end_date": end,
        "phases": phases
        or [
            {
                "name": "Main",
                "start_date": "2026-01-15",
                "end_date": None,
                "pricings": list(pricings),
            }
        ],
    }


def test_product_based_spec_with_catalogue_and_inline_pricings():
    q = quote_from_contract_spec(
        spec={
            **spec(
                {"product_id": "p-seat", "pricing_id": "pr-seat", "quantity": 3},
                {"product_id": "p-api", "quantity": 12, "pricing": INLINE_TIERED},
            )
        },
        pricings=PRICINGS,
        products=PRODUCTS,
    )
    seat, api = q.phases[0].items
    assert (seat.pricing_id, seat.name, seat.description) == ("pr-seat", "Seats", "Per seat")
    assert api.pricing_id is None
    estimates = estimate_new_contract(quote=q, tax_rate=None)
    assert amounts(estimates.current_invoice) == [
        ("charge", "p-seat", "30.00"),  # 3 × 10
        ("charge", "p-api", "58.00"),
    ]  # 10 × 5 + 2 × 4


def test_product_based_spec_fills_phase_dates():
    phases = [
        {
            "name": "Ramp",
            "end_date": "2026-07-15",
            "pricings": [{"product_id": "p-seat", "pricing_id": "pr-seat"}],
        },
        {
            "name": "Full",
            "pricings": [{"product_id": "p-seat", "pricing_id": "pr-seat", "quantity": 5}],
        },
    ]
    q = quote_from_contract_spec(
        spec=spec(phases=phases, end="2027-01-15"), pricings=PRICINGS, products=PRODUCTS
    )
    assert [(p.start_date, p.end_date) for p in q.phases] == [
        (date(2026, 1, 15), date(2026, 7, 15)),
        (date(2026, 7, 15), date(2027, 1, 15)),
    ]


@pytest.mark.parametrize(
    "entry, error, path",
    [
        (
            {"product_id": "nope", "pricing_id": "pr-seat"},
            UnknownProduct,
            "contract.phases.0.pricings.0.product_id",
        ),
        (
            {"product_id": "p-seat", "pricing_id": "nope"},
            UnknownPricing,
            "contract.phases.0.pricings.0.pricing_id",
        ),
        (
            {"product_id": "p-api", "pricing_id": "pr-seat"},
            PricingProductMismatch,
            "contract.phases.0.pricings.0.pricing_id",
        ),
        (
            {"product_id": "p-seat", "pricing_id": "pr-eur"},
            CurrencyMismatch,
            "contract.phases.0.pricings.0.pricing_id",
        ),
        ({"product_id": "p-seat"}, Exception, "contract.phases.0.pricings.0"),
        (
            {"product_id": "p-seat", "pricing_id": "pr-seat", "pricing": INLINE_TIERED},
            Exception,
            "contract.phases.0.pricings.0",
        ),
        (
            {"product_id": "p-seat", "pricing_id": "pr-seat", "quantity": -1},
            QuantityOutOfBounds,
            "contract.phases.0.pricings.0.quantity",
        ),
        (
            {
                "product_id": "p-api",
                "pricing": {**INLINE_TIERED, "tiers": [{"up_to": 10, "unit_amount": "5"}]},
            },
            InvalidTiers,
            "contract.phases.0.pricings.0.pricing.tiers.0.up_to",
        ),
    ],
)
def test_product_based_spec_errors_name_the_request_field(entry, error, path):
    with pytest.raises(error) as raised:
        quote_from_contract_spec(spec=spec(entry), pricings=PRICINGS, products=PRODUCTS)
    assert list(raised.value.fields) == [path]
    assert raised.value.status == 422


def test_product_based_spec_phase_gap_is_invalid_dates():
    phases = [
        {
            "start_date": "2026-01-15",
            "end_date": "2026-03-01",
            "pricings": [{"product_id": "p-seat", "pricing_id": "pr-seat"}],
        },
        {
            "start_date": "2026-03-02",
            "pricings": [{"product_id": "p-seat", "pricing_id": "pr-seat"}],
        },
    ]
    with pytest.raises(InvalidDates) as raised:
        quote_from_contract_spec(spec=spec(phases=phases), pricings=PRICINGS, products=PRODUCTS)
    assert list(raised.value.fields) == ["contract.phases.1.start_date"]
