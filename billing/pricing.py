"""Pure pricing: price terms, the five pricing models, ISO-8601 cadences, month arithmetic and
day-based proration. Dataclasses in, Decimals and dates out; no ORM, no request.

Conventions
- Amounts are ``Decimal``; this module never rounds (``billing.estimates`` rounds per line).
- A quantity of 0 costs nothing under every model (nothing bought, nothing charged; a flat fee
  or a first tier's flat amount is not due for 0 units).
- Periods are half-open ``[start, end)``: ``end`` is the next period's first day, so a period
  lasts ``(end - start).days`` days. A monthly period from 31 Jan is ``[31 Jan, 28 Feb)`` in
  2026 and the one after ``[28 Feb, 31 Mar)``: every boundary is computed from the anchor, so
  the anchor day comes back as soon as the month has it.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from core.money import ZERO

from .enums import BillingType, PricingModel, TaxBehavior, Timing
from .errors import BillingError, InvalidCadence, InvalidPricing, InvalidTiers

FLAT_FEE = PricingModel.FLAT_FEE.value
PER_UNIT = PricingModel.PER_UNIT.value
TIERED = PricingModel.TIERED.value
VOLUME = PricingModel.VOLUME.value
PACKAGE = PricingModel.PACKAGE.value
RECURRING = BillingType.RECURRING.value
ONE_TIME = BillingType.ONE_TIME.value
IN_ADVANCE = Timing.IN_ADVANCE.value
EXCLUSIVE = TaxBehavior.EXCLUSIVE.value
INCLUSIVE = TaxBehavior.INCLUSIVE.value
TAX_BEHAVIORS = frozenset(TaxBehavior.values)

PRICING_MODELS = frozenset(PricingModel.values)
BILLINGS = frozenset(BillingType.values)
TIMINGS = frozenset(Timing.values)

# The columns are DECIMAL(19, 4): at most 4 decimal places and 15 integer digits.
AMOUNT_PLACES = 4
MAX_AMOUNT = Decimal(10) ** 15
_AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
# Ten years: long enough for any contract cadence, short enough that dates never overflow.
MAX_CADENCE_MONTHS = 120


# --- terms ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier covers the units up to ``up_to`` (inclusive) after the previous tier's; None = no end."""

    up_to: int | None
    unit_amount: Decimal
    flat_amount: Decimal = ZERO


class TierCharge(NamedTuple):
    """What one tier contributes for a quantity (units ``first``…``last``)."""

    first: int
    last: int
    quantity: int
    unit_amount: Decimal
    flat_amount: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PriceTerms:
    """How an item is charged: the ``Pricing`` model's fields, or an inline ``pricing`` object.

    Validated on construction (errors carry paths relative to the terms, e.g.
    ``tiers.1.up_to``; ``from_json(…, field="pricing")`` roots them). ``months`` is the parsed
    cadence (0 for one-time pricings), computed once so hot loops never re-parse.
    """

    pricing_model: str
    billing: str = RECURRING
    cadence: str | None = "P1M"
    timing: str = IN_ADVANCE
    unit_amount: Decimal | None = None
    package_size: int | None = None
    tiers: tuple[Tier, ...] = ()
    # Stripe's tax_behavior: "inclusive" amounts contain the tax, "exclusive" ones have it added.
    tax_behavior: str = EXCLUSIVE
    months: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.tiers, tuple):
            object.__setattr__(self, "tiers", tuple(self.tiers))
        if self.billing == ONE_TIME and self.cadence == "":
            object.__setattr__(self, "cadence", None)
        object.__setattr__(self, "months", _validate_terms(self))

    @property
    def is_recurring(self) -> bool:
        return self.months > 0

    @property
    def tax_inclusive(self) -> bool:
        return self.tax_behavior == INCLUSIVE

    # -- amounts --

    def amount(self, quantity: int) -> Decimal:
        """The unrounded charge for ``quantity`` units over one full period (or once)."""
        if quantity <= 0:
            if quantity < 0:
                raise ValueError("quantity must not be negative")
            return ZERO
        model = self.pricing_model
        if model == PER_UNIT:
            return self.unit_amount * quantity
        if model == TIERED:
            return _graduated_amount(self.tiers, quantity)
        if model == VOLUME:
            tier = self.volume_tier(quantity)
            return tier.unit_amount * quantity + tier.flat_amount
        if model == PACKAGE:
            return self.unit_amount * self.packages(quantity)
        return self.unit_amount  # flat fee: the same whatever the (non-zero) quantity

    def packages(self, quantity: int) -> int:
        """Packages needed for ``quantity`` units: a started package is a whole package."""
        return -(-quantity // self.package_size)

    def volume_tier(self, quantity: int) -> Tier:
        """The tier the total quantity falls in (it prices every unit)."""
        for tier in self.tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return tier
        raise AssertionError("validated tiers end open-ended")

    def tier_charges(self, quantity: int) -> tuple[TierCharge, ...]:
        """The per-tier breakdown of ``amount(quantity)`` (tiered and volume pricings)."""
        if quantity <= 0 or self.pricing_model not in (TIERED, VOLUME):
            return ()
        if self.pricing_model == VOLUME:
            tier = self.volume_tier(quantity)
            amount = tier.unit_amount * quantity + tier.flat_amount
            return (TierCharge(1, quantity, quantity, tier.unit_amount, tier.flat_amount, amount),)
        out, below = [], 0
        for tier in self.tiers:
            if quantity <= below:
                break
            top = quantity if tier.up_to is None else min(quantity, tier.up_to)
            units = top - below
            out.append(
                TierCharge(
                    below + 1,
                    top,
                    units,
                    tier.unit_amount,
                    tier.flat_amount,
                    tier.unit_amount * units + tier.flat_amount,
                )
            )
            below = top
        return tuple(out)

    # -- JSON --

    def to_json(self) -> dict:
        """The wire/storage shape (amounts as strings), as ``PhaseItem.terms`` stores it."""
        return {
            "pricing_model": self.pricing_model,
            "billing": self.billing,
            "cadence": self.cadence,
            "timing": self.timing,
            "unit_amount": None if self.unit_amount is None else format(self.unit_amount, "f"),
            "package_size": self.package_size,
            "tiers": [
                {
                    "up_to": t.up_to,
                    "unit_amount": format(t.unit_amount, "f"),
                    "flat_amount": format(t.flat_amount, "f"),
                }
                for t in self.tiers
            ],
            "tax_behavior": self.tax_behavior,
        }

    @classmethod
    def from_json(cls, data, *, field: str = "pricing") -> "PriceTerms":
        """Parse and validate; errors name paths under ``field`` (``pricing.tiers.0.up_to``).

        Amounts must be decimal strings (or integers), never JSON floats. ``billing`` defaults
        to recurring, ``timing`` to in advance; ``cadence`` is required for recurring pricings.
        """
        try:
            return cls._from_json(data)
        except BillingError as error:
            raise error.prefixed(field) from None

    @classmethod
    def _from_json(cls, data) -> "PriceTerms":
        if not isinstance(data, dict):
            raise InvalidPricing("Pricing terms must be an object.")
        tiers = data.get("tiers") or []
        if not isinstance(tiers, list):
            raise InvalidTiers("Tiers must be a list.", field="tiers")
        return cls(
            pricing_model=_choice(data.get("pricing_model"), PRICING_MODELS, "pricing_model"),
            billing=_choice(data.get("billing") or RECURRING, BILLINGS, "billing"),
            cadence=data.get("cadence"),
            timing=_choice(data.get("timing") or IN_ADVANCE, TIMINGS, "timing"),
            unit_amount=_decimal_or_none(data.get("unit_amount"), "unit_amount"),
            package_size=_int_or_none(data.get("package_size"), "package_size"),
            tiers=tuple(_tier_from_json(t, f"tiers.{i}") for i, t in enumerate(tiers)),
            tax_behavior=_choice(data.get("tax_behavior") or EXCLUSIVE, TAX_BEHAVIORS, "tax_behavior"),
        )


def _tier_from_json(data, path: str) -> Tier:
    if not isinstance(data, dict):
        raise InvalidTiers("Each tier must be an object.", field=path)
    unit = _decimal_or_none(data.get("unit_amount"), f"{path}.unit_amount", error=InvalidTiers)
    if unit is None:
        raise InvalidTiers("Each tier needs a unit_amount.", field=f"{path}.unit_amount")
    flat = _decimal_or_none(data.get("flat_amount"), f"{path}.flat_amount", error=InvalidTiers)
    up_to = _int_or_none(data.get("up_to"), f"{path}.up_to", error=InvalidTiers)
    return Tier(up_to=up_to, unit_amount=unit, flat_amount=ZERO if flat is None else flat)


def _choice(value, allowed: frozenset, path: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidPricing(f"Must be one of: {', '.join(sorted(allowed))}.", field=path)
    return value


def _decimal_or_none(value, path: str, *, error=InvalidPricing) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise error('Amounts must be decimal strings, such as "12.50".', field=path)
    try:
        return Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise error("Not a decimal number.", field=path) from None


def _int_or_none(value, path: str, *, error=InvalidPricing) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise error("Must be a whole number.", field=path)
    return value


def _check_amount(value: Decimal, path: str, error=InvalidPricing) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise error("Must be a finite decimal amount.", field=path)
    if value < 0:
        raise error("Must not be negative.", field=path)
    if value >= MAX_AMOUNT or value.quantize(_AMOUNT_QUANTUM) != value:
        raise error(
            f"At most 15 digits before and {AMOUNT_PLACES} after the decimal point.", field=path
        )


def _validate_terms(terms: PriceTerms) -> int:
    """Check the terms; returns the cadence in months (0 for one-time)."""
    _choice(terms.pricing_model, PRICING_MODELS, "pricing_model")
    _choice(terms.billing, BILLINGS, "billing")
    _choice(terms.timing, TIMINGS, "timing")
    _choice(terms.tax_behavior, TAX_BEHAVIORS, "tax_behavior")
    months = _validate_cadence(terms)
    model = terms.pricing_model
    if model in (TIERED, VOLUME):
        if terms.unit_amount is not None:
            raise InvalidPricing(
                f"A {model} pricing takes its amounts from its tiers.", field="unit_amount"
            )
        _validate_tiers(terms.tiers)
    else:
        if terms.unit_amount is None:
            raise InvalidPricing(f"A {model} pricing needs a unit_amount.", field="unit_amount")
        _check_amount(terms.unit_amount, "unit_amount")
        if terms.tiers:
            raise InvalidTiers(f"A {model} pricing has no tiers.", field="tiers")
    if model == PACKAGE:
        size = terms.package_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidPricing(
                "A package pricing needs a package_size of at least 1.", field="package_size"
            )
    elif terms.package_size is not None:
        raise InvalidPricing("Only package pricings have a package_size.", field="package_size")
    return months


def _validate_cadence(terms: PriceTerms) -> int:
    if terms.billing == ONE_TIME:
        if terms.cadence is not None:
            raise InvalidCadence("One-time pricings have no cadence.", field="cadence")
        return 0
    if not terms.cadence:
        raise InvalidCadence("Recurring pricings need a cadence (P1M, P3M, P1Y…).", field="cadence")
    try:
        return cadence_months(terms.cadence)
    except InvalidCadence as error:
        raise error.prefixed("cadence") from None


def _validate_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise InvalidTiers("At least one tier is needed.", field="tiers")
    previous = 0
    last = len(tiers) - 1
    for i, tier in enumerate(tiers):
        path = f"tiers.{i}"
        if not isinstance(tier, Tier):
            raise InvalidTiers("Each tier must be a Tier.", field=path)
        _check_amount(tier.unit_amount, f"{path}.unit_amount", InvalidTiers)
        _check_amount(tier.flat_amount, f"{path}.flat_amount", InvalidTiers)
        if i == last:
            if tier.up_to is not None:
                raise InvalidTiers(
                    "The last tier must be open-ended (up_to: null).", field=f"{path}.up_to"
                )
            break
        up_to = tier.up_to
        if up_to is None:
            raise InvalidTiers("Only the last tier may be open-ended.", field=f"{path}.up_to")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= previous:
            raise InvalidTiers(
                f"up_to must be a whole number above the previous tier's ({previous}).",
                field=f"{path}.up_to",
            )
        previous = up_to


def _graduated_amount(tiers: tuple[Tier, ...], quantity: int) -> Decimal:
    """Each tier prices the units inside it, plus its flat amount once it is reached."""
    total = ZERO
    below = 0
    for tier in tiers:
        if quantity <= below:
            break
        top = quantity if tier.up_to is None or quantity < tier.up_to else tier.up_to
        total += tier.unit_amount * (top - below) + tier.flat_amount
        below = top
    return total


# --- cadences ---------------------------------------------------------------------------------

_CADENCE_RE = re.compile(r"P(?:(\d{1,4})Y)?(?:(\d{1,4})M)?")


def cadence_months(cadence: str) -> int:
    """``P1M`` → 1, ``P3M`` → 3, ``P18M`` → 18, ``P1Y`` → 12, ``P1Y6M`` → 18.

    Only whole months and years, from one month to ten years. Weeks, days, times, zero and
    lowercase designators are refused with ``InvalidCadence``.
    """
    if not isinstance(cadence, str):
        raise InvalidCadence()
    return _cadence_months(cadence)


@lru_cache(maxsize=256)
def _cadence_months(cadence: str) -> int:
    match = _CADENCE_RE.fullmatch(cadence)
    if not match or cadence == "P":
        raise InvalidCadence(
            f"{cadence!r} is not a cadence this product bills on: use whole months or years, "
            "such as P1M, P3M, P6M or P1Y."
        )
    years, months = (int(g) if g else 0 for g in match.groups())
    total = years * 12 + months
    if not 1 <= total <= MAX_CADENCE_MONTHS:
        raise InvalidCadence(
            f"A cadence must be between one month and {MAX_CADENCE_MONTHS // 12} years."
        )
    return total


# --- month arithmetic -------------------------------------------------------------------------

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and is_leap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    carry, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + carry, month0 + 1
    d = day.day
    if d > 28:
        d = min(d, days_in_month(year, month))
    return date(year, month, d)


def period_containing(anchor: date, months: int, day: date) -> tuple[date, date]:
    """The billing period ``[start, end)`` that contains ``day``, for periods of ``months``
    months counted from ``anchor``. Every boundary is ``anchor + k × months`` (clamped), so a
    31st anchor gives 28 Feb then 31 Mar, never 28 Mar.
    """
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    start = add_months(anchor, k * months)
    if start > day:
        k -= 1
        return add_months(anchor, k * months), start
    return start, add_months(anchor, (k + 1) * months)


# --- proration --------------------------------------------------------------------------------


def prorate(amount: Decimal, days: int, period_days: int) -> Decimal:
    """``amount × days / period_days`` (unrounded), for ``0 ≤ days ≤ period_days``."""
    if not 0 <= days <= period_days or period_days <= 0:
        raise ValueError(f"cannot prorate {days} days of a {period_days}-day period")
    if days == period_days:
        return amount
    return amount * days / period_days
