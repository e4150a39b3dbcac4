"""How estimate lines read: the description and unit price the page and the API show.

Depends on the quote's types only; the engine's lines call it, never the reverse.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from core.money import quantum

from ..enums import DiscountDuration
from ..pricing import FLAT_FEE, PER_UNIT, TIERED, VOLUME, PriceTerms
from .quote import Discount, LineKind


@lru_cache(maxsize=4096)
def price_str(value: Decimal, currency: str) -> str:
    """A unit price: the currency's precision, or more places when the price has them (0.0125).

    Cached: it depends only on the numeric value (equal Decimals render alike) and catalogue
    prices repeat.
    """
    rounded = value.quantize(quantum(currency), ROUND_HALF_UP)
    return format(rounded if rounded == value else value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class _Rendering:
    """How an item at a quantity reads: computed once per estimate, shared by its lines."""

    base: str
    unit_amount: str | None
    tiers: tuple[dict, ...] | None


def _render(terms: PriceTerms, quantity: int, currency: str) -> _Rendering:
    model = terms.pricing_model
    if model not in (TIERED, VOLUME):
        return _Rendering(
            _flat_description(terms, quantity, currency),
            price_str(terms.unit_amount, currency),
            None,
        )
    tiers, parts = [], []
    for first, last, units, unit_amount, flat_amount, amount in terms.tier_charges(quantity):
        unit, flat = price_str(unit_amount, currency), price_str(flat_amount, currency)
        tiers.append(
            {
                "first_unit": first,
                "last_unit": last,
                "quantity": units,
                "unit_amount": unit,
                "flat_amount": flat,
                "amount": price_str(amount, currency),
            }
        )
        parts.append(f"{units} × {unit} + {flat} flat" if flat_amount else f"{units} × {unit}")
    if not parts:
        return _Rendering("0 units", None, tuple(tiers))
    if model == VOLUME:
        tier = terms.volume_tier(quantity)
        upper = f"–{tier.up_to}" if tier.up_to is not None else " and more"
        base = f"{parts[0]} (volume tier {_tier_floor(terms, tier)}{upper})"
        return _Rendering(base, tiers[0]["unit_amount"], tuple(tiers))
    return _Rendering(f"{quantity} units ({' + '.join(parts)})", None, tuple(tiers))


def _flat_description(terms: PriceTerms, quantity: int, currency: str) -> str:
    model = terms.pricing_model
    if model == FLAT_FEE:
        return "Flat fee" if quantity else "Flat fee (not taken)"
    if model == PER_UNIT:
        return f"{quantity} × {price_str(terms.unit_amount, currency)}"
    packages = terms.packages(quantity)
    noun = "package" if packages == 1 else "packages"
    return f"{quantity} units in {packages} {noun} of {terms.package_size} × {price_str(terms.unit_amount, currency)}"


def _tier_floor(terms: PriceTerms, tier) -> int:
    below = 0
    for candidate in terms.tiers:
        if candidate is tier:
            break
        below = candidate.up_to
    return below + 1


def _cadence_words(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return "year" if years == 1 else f"{years} years"
    return "month" if months == 1 else f"{months} months"


def _describe(line, rendering: _Rendering) -> str:
    """``line``: an ``engine.LineItem``."""
    base = rendering.base
    if line.kind == LineKind.ONE_TIME:
        return f"One-time: {base}"
    every = f"{base} per {_cadence_words(line.terms.months)}"
    if line.kind == LineKind.TRIAL:
        return f"Free trial until {line.period_end.isoformat()}: {every}"
    share = f"{line.days} of {line.period_days} days"
    if line.kind == LineKind.CREDIT:
        return f"Unused time, {share}: {every}"
    prorated = f", prorated: {share}" if line.days != line.period_days else ""
    if line.kind == LineKind.USAGE:
        return f"In arrears: {every}{prorated}"
    return f"{every}{prorated}"


def _discount_description(discount: Discount | None, currency: str) -> str:
    if discount is None:
        return "Discount"
    if discount.percent_off is not None:
        off = f"{discount.percent_off.normalize():f}% off"
    else:
        off = f"{price_str(discount.amount_off, currency)} {currency} off"
    if discount.duration == DiscountDuration.ONCE:
        when = "the first invoice"
    elif discount.duration == DiscountDuration.REPEATING:
        n = discount.duration_in_periods
        when = "the first invoice" if n == 1 else f"the first {n} invoices"
    else:
        when = "every invoice"
    code = f" (code {discount.promotion_code})" if discount.promotion_code else ""
    return f"{off} {when}{code}"
