"""Pricing models, terms validation, cadences, month arithmetic and proration (pure)."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing.errors import InvalidCadence, InvalidPricing, InvalidTiers
from billing.pricing import (
    PriceTerms,
    Tier,
    add_months,
    cadence_months,
    days_in_month,
    period_containing,
    prorate,
)

# Tiers used throughout: units 1–10 at 5.00, 11–20 at 4.00 (+10.00 once reached), 21+ at 3.00.
TIERS = (Tier(10, D("5.00")), Tier(20, D("4.00"), D("10.00")), Tier(None, D("3.00")))


def terms(model, **kw):
    return PriceTerms(model, **kw)


GRADUATED = terms("tiered", tiers=TIERS)
VOLUME = terms("volume", tiers=TIERS)
PACKAGE = terms("package", unit_amount=D("25.00"), package_size=10)
PER_UNIT = terms("per_unit", unit_amount=D("2.50"))
FLAT = terms("flat_fee", unit_amount=D("99.00"))


@pytest.mark.parametrize(
    "pricing, quantity, expected",
    [
        # graduated: each tier prices the units inside it
        (GRADUATED, 0, "0"),
        (GRADUATED, 1, "5.00"),  # 1 × 5
        (GRADUATED, 10, "50.00"),  # 10 × 5: last unit of tier 1
        (GRADUATED, 11, "64.00"),  # 50 + 1 × 4 + 10 flat
        (GRADUATED, 20, "100.00"),  # 50 + 10 × 4 + 10
        (GRADUATED, 21, "103.00"),  # 100 + 1 × 3
        (GRADUATED, 100, "340.00"),  # 100 + 80 × 3
        # volume: the tier the total falls in prices every unit (+ its flat amount)
        (VOLUME, 0, "0"),
        (VOLUME, 10, "50.00"),  # 10 × 5
        (VOLUME, 11, "54.00"),  # 11 × 4 + 10
        (VOLUME, 20, "90.00"),  # 20 × 4 + 10
        (VOLUME, 21, "63.00"),  # 21 × 3
        # package: a started package is a whole package
        (PACKAGE, 0, "0"),
        (PACKAGE, 1, "25.00"),  # ceil(1/10) = 1
        (PACKAGE, 10, "25.00"),  # exactly one package
        (PACKAGE, 11, "50.00"),  # remainder of 1 → 2 packages
        (PACKAGE, 20, "50.00"),
        (PACKAGE, 21, "75.00"),
        (PER_UNIT, 0, "0"),
        (PER_UNIT, 3, "7.50"),  # 3 × 2.50
        (FLAT, 0, "0"),  # nothing bought
        (FLAT, 1, "99.00"),
        (FLAT, 5, "99.00"),  # the quantity does not multiply a flat fee
        (terms("per_unit", unit_amount=D("0.0125")), 3, "0.0375"),  # never rounded here
    ],
)
def test_amount_for_quantity_matches_hand_computation(pricing, quantity, expected):
    assert pricing.amount(quantity) == D(expected)


def test_amount_negative_quantity_raises():
    with pytest.raises(ValueError):
        PER_UNIT.amount(-1)


def test_tier_charges_graduated_breakdown_sums_to_amount():
    charges = GRADUATED.tier_charges(25)
    # 1–10: 10 × 5 = 50; 11–20: 10 × 4 + 10 = 50; 21–25: 5 × 3 = 15
    assert [(c.first, c.last, c.quantity, c.amount) for c in charges] == [
        (1, 10, 10, D("50.00")),
        (11, 20, 10, D("50.00")),
        (21, 25, 5, D("15.00")),
    ]
    assert sum(c.amount for c in charges) == GRADUATED.amount(25) == D("115.00")


def test_tier_charges_volume_is_the_one_tier_applied():
    (charge,) = VOLUME.tier_charges(15)
    assert (charge.first, charge.last, charge.unit_amount, charge.flat_amount) == (
        1,
        15,
        D("4.00"),
        D("10.00"),
    )
    assert charge.amount == D("70.00")  # 15 × 4 + 10


# --- terms JSON -------------------------------------------------------------------------------

INLINE = {
    "pricing_model": "tiered",
    "billing": "recurring",
    "cadence": "P1M",
    "timing": "in_advance",
    "tiers": [
        {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
        {"up_to": None, "unit_amount": "4.00"},
    ],
}


def test_terms_from_json_parses_the_product_example():
    parsed = PriceTerms.from_json(INLINE)
    assert parsed.tiers == (Tier(10, D("5.00"), D(0)), Tier(None, D("4.00"), D(0)))
    assert parsed.months == 1 and parsed.unit_amount is None
    assert parsed.amount(12) == D("58.00")  # 10 × 5 + 2 × 4


def test_terms_json_round_trip_keeps_every_field():
    for original in (
        GRADUATED,
        VOLUME,
        PACKAGE,
        PER_UNIT,
        FLAT,
        terms("flat_fee", billing="one_time", cadence=None, unit_amount=D(1)),
        terms("per_unit", cadence="P1Y", timing="in_arrears", unit_amount=D("0.0125")),
        terms("flat_fee", unit_amount=D("119.00"), tax_behavior="inclusive"),
    ):
        data = original.to_json()
        assert set(data) == {
            "pricing_model",
            "billing",
            "cadence",
            "timing",
            "unit_amount",
            "package_size",
            "tiers",
            "tax_behavior",
        }
        assert PriceTerms.from_json(data) == original


def test_terms_one_time_accepts_the_catalogue_empty_cadence():
    parsed = PriceTerms.from_json(
        {
            "pricing_model": "flat_fee",
            "billing": "one_time",
            "cadence": "",
            "unit_amount": "10.0000",
        }
    )
    assert parsed.cadence is None and parsed.months == 0 and not parsed.is_recurring


def test_terms_defaults_are_recurring_in_advance():
    parsed = PriceTerms.from_json(
        {"pricing_model": "per_unit", "cadence": "P1M", "unit_amount": "1"}
    )
    assert (parsed.billing, parsed.timing) == ("recurring", "in_advance")


def _with(**changes):
    data = {
        "pricing_model": "per_unit",
        "billing": "recurring",
        "cadence": "P1M",
        "timing": "in_advance",
        "unit_amount": "5.00",
    }
    data.update(changes)
    return data


def _tiered(tiers, **changes):
    data = {"pricing_model": "tiered", "cadence": "P1M", "tiers": tiers}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "data, error, path",
    [
        (_with(pricing_model="bogus"), InvalidPricing, "pricing.pricing_model"),
        (_with(pricing_model=["per_unit"]), InvalidPricing, "pricing.pricing_model"),
        (_with(billing="weekly"), InvalidPricing, "pricing.billing"),
        (_with(timing="later"), InvalidPricing, "pricing.timing"),
        (_with(unit_amount=None), InvalidPricing, "pricing.unit_amount"),
        (_with(unit_amount=5.0), InvalidPricing, "pricing.unit_amount"),  # floats refused
        (_with(unit_amount="-1"), InvalidPricing, "pricing.unit_amount"),
        (_with(unit_amount="1.23456"), InvalidPricing, "pricing.unit_amount"),  # 5 places > 4
        (_with(unit_amount="abc"), InvalidPricing, "pricing.unit_amount"),
        (_with(unit_amount="NaN"), InvalidPricing, "pricing.unit_amount"),
        (_with(unit_amount="1e20"), InvalidPricing, "pricing.unit_amount"),
        (_with(tiers=[{"up_to": None, "unit_amount": "1"}]), InvalidTiers, "pricing.tiers"),
        (_with(package_size=3), InvalidPricing, "pricing.package_size"),
        (_with(pricing_model="package"), InvalidPricing, "pricing.package_size"),
        (_with(pricing_model="package", package_size=0), InvalidPricing, "pricing.package_size"),
        (_with(cadence=None), InvalidCadence, "pricing.cadence"),
        (_with(cadence="P1W"), InvalidCadence, "pricing.cadence"),
        (_with(cadence=1), InvalidCadence, "pricing.cadence"),
        (_with(billing="one_time", cadence="P1M"), InvalidCadence, "pricing.cadence"),
        (_tiered([]), InvalidTiers, "pricing.tiers"),
        (_tiered("nope"), InvalidTiers, "pricing.tiers"),
        (
            _tiered([{"up_to": None, "unit_amount": "1"}], unit_amount="1"),
            InvalidPricing,
            "pricing.unit_amount",
        ),
        (
            _tiered(
                [
                    {"up_to": 10, "unit_amount": "1"},
                    {"up_to": 5, "unit_amount": "1"},
                    {"up_to": None, "unit_amount": "1"},
                ]
            ),
            InvalidTiers,
            "pricing.tiers.1.up_to",
        ),  # descending
        (
            _tiered(
                [
                    {"up_to": 10, "unit_amount": "1"},
                    {"up_to": 10, "unit_amount": "1"},
                    {"up_to": None, "unit_amount": "1"},
                ]
            ),
            InvalidTiers,
            "pricing.tiers.1.up_to",
        ),  # not strictly up
        (
            _tiered([{"up_to": 10, "unit_amount": "1"}, {"up_to": 20, "unit_amount": "1"}]),
            InvalidTiers,
            "pricing.tiers.1.up_to",
        ),  # last one not open-ended
        (
            _tiered([{"up_to": None, "unit_amount": "1"}, {"up_to": None, "unit_amount": "1"}]),
            InvalidTiers,
            "pricing.tiers.0.up_to",
        ),  # open-ended before the last
        (
            _tiered([{"up_to": 0, "unit_amount": "1"}, {"up_to": None, "unit_amount": "1"}]),
            InvalidTiers,
            "pricing.tiers.0.up_to",
        ),
        (
            _tiered([{"up_to": "10", "unit_amount": "1"}, {"up_to": None, "unit_amount": "1"}]),
            InvalidTiers,
            "pricing.tiers.0.up_to",
        ),
        (
            _tiered([{"up_to": True, "unit_amount": "1"}, {"up_to": None, "unit_amount": "1"}]),
            InvalidTiers,
            "pricing.tiers.0.up_to",
        ),
        (
            _tiered([{"up_to": None, "unit_amount": "-0.01"}]),
            InvalidTiers,
            "pricing.tiers.0.unit_amount",
        ),
        (
            _tiered([{"up_to": None, "unit_amount": "1", "flat_amount": "-5"}]),
            InvalidTiers,
            "pricing.tiers.0.flat_amount",
        ),
        (_tiered([{"up_to": None}]), InvalidTiers, "pricing.tiers.0.unit_amount"),
        (_tiered(["x"]), InvalidTiers, "pricing.tiers.0"),
        ("not an object", InvalidPricing, "pricing"),
    ],
)
def test_terms_from_json_invalid_raises_with_field_path(data, error, path):
    with pytest.raises(error) as raised:
        PriceTerms.from_json(data)
    assert raised.value.status == 422
    assert list(raised.value.fields) == [path]


def test_terms_error_codes_are_stable():
    with pytest.raises(InvalidTiers) as tiers_error:
        PriceTerms.from_json(_tiered([]))
    with pytest.raises(InvalidCadence) as cadence_error:
        PriceTerms.from_json(_with(cadence="P30D"))
    assert tiers_error.value.code == "invalid_tiers"
    assert cadence_error.value.code == "invalid_cadence"


def test_terms_from_json_roots_paths_under_the_given_field():
    with pytest.raises(InvalidTiers) as raised:
        PriceTerms.from_json(
            _tiered([{"up_to": 5, "unit_amount": "1"}]),
            field="contract.phases.0.pricings.1.pricing",
        )
    assert list(raised.value.fields) == ["contract.phases.0.pricings.1.pricing.tiers.0.up_to"]


def test_terms_constructor_validates_too():
    with pytest.raises(InvalidTiers):
        PriceTerms("volume", tiers=(Tier(10, D(1)),))


# --- cadences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cadence, months",
    [
        ("P1M", 1),
        ("P3M", 3),
        ("P6M", 6),
        ("P18M", 18),
        ("P1Y", 12),
        ("P2Y", 24),
        ("P1Y6M", 18),
        ("P10Y", 120),
    ],
)
def test_cadence_months_parses_months_and_years(cadence, months):
    assert cadence_months(cadence) == months


@pytest.mark.parametrize(
    "cadence",
    [
        "",
        "P",
        "P0M",
        "P0Y",
        "P1W",
        "P30D",
        "PT1H",
        "P1M1D",
        "p1m",
        "1M",
        "P1.5Y",
        " P1M",
        "P11Y",
        "P121M",
    ],
)
def test_cadence_months_refuses_anything_else(cadence):
    with pytest.raises(InvalidCadence) as raised:
        cadence_months(cadence)
    assert raised.value.code == "invalid_cadence"


# --- month arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # year carry
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to month end
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 1, 31), 2, date(2026, 3, 31)),  # anchor day back
        (date(2026, 3, 31), 1, date(2026, 4, 30)),  # 30-day month
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 1, 30), 1, date(2026, 2, 28)),
        (date(2028, 1, 30), 1, date(2028, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # century, not leap
        (date(2000, 1, 31), 1, date(2000, 2, 29)),  # 400-year, leap
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    "anchor, months, day, expected",
    [
        (date(2026, 1, 15), 1, date(2026, 1, 15), (date(2026, 1, 15), date(2026, 2, 15))),
        (date(2026, 1, 15), 1, date(2026, 2, 14), (date(2026, 1, 15), date(2026, 2, 15))),
        (date(2026, 1, 15), 1, date(2026, 2, 15), (date(2026, 2, 15), date(2026, 3, 15))),
        # 31 Jan → 28 Feb → 31 Mar: the anchor day comes back
        (date(2026, 1, 31), 1, date(2026, 2, 27), (date(2026, 1, 31), date(2026, 2, 28))),
        (date(2026, 1, 31), 1, date(2026, 2, 28), (date(2026, 2, 28), date(2026, 3, 31))),
        (date(2026, 1, 31), 1, date(2026, 3, 30), (date(2026, 2, 28), date(2026, 3, 31))),
        (date(2026, 1, 31), 1, date(2026, 3, 31), (date(2026, 3, 31), date(2026, 4, 30))),
        (date(2024, 1, 31), 1, date(2024, 2, 29), (date(2024, 2, 29), date(2024, 3, 31))),
        (date(2026, 1, 15), 3, date(2026, 5, 1), (date(2026, 4, 15), date(2026, 7, 15))),
        (date(2024, 2, 29), 12, date(2025, 2, 27), (date(2024, 2, 29), date(2025, 2, 28))),
        (date(2024, 2, 29), 12, date(2025, 2, 28), (date(2025, 2, 28), date(2026, 2, 28))),
        (date(2024, 2, 29), 12, date(2028, 3, 1), (date(2028, 2, 29), date(2029, 2, 28))),
        (date(2026, 1, 15), 18, date(2027, 7, 15), (date(2027, 7, 15), date(2029, 1, 15))),
    ],
)
def test_period_containing_counts_from_the_anchor(anchor, months, day, expected):
    assert period_containing(anchor, months, day) == expected


@pytest.mark.parametrize(
    "start, days",
    [
        (date(2026, 2, 1), 28),
        (date(2024, 2, 1), 29),
        (date(2026, 4, 1), 30),
        (date(2026, 1, 1), 31),
    ],
)
def test_period_length_is_the_real_number_of_days(start, days):
    period_start, period_end = period_containing(start, 1, start)
    assert (period_end - period_start).days == days == days_in_month(start.year, start.month)


# --- proration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, days, period_days, expected",
    [
        ("100.00", 14, 28, "50"),  # 100 × 14 / 28
        ("100.00", 28, 28, "100.00"),  # whole period: untouched
        ("100.00", 0, 28, "0"),
        ("31.00", 17, 31, "17"),  # 31 × 17 / 31
        ("10.00", 1, 29, D("10.00") / 29),
    ],
)
def test_prorate_by_days(amount, days, period_days, expected):
    assert prorate(D(amount), days, period_days) == D(expected)


@pytest.mark.parametrize("days, period_days", [(29, 28), (-1, 28), (0, 0)])
def test_prorate_outside_the_period_raises(days, period_days):
    with pytest.raises(ValueError):
        prorate(D(1), days, period_days)
