"""Billing intervals of plans offered side by side (monthly / yearly): pure math, no ORM.

A checkout session may offer the buyer a choice of plans that differ in how often they bill
(``plan_choices``). Each choice is summarised by what one full period of its recurring items
costs at the session's quantities (list price: before trial, discount and tax), so the page
can say "Billed yearly, save $40.00 a year" from the locked figures without pricing again.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from billing.estimates.quote import QuoteItem
from core.money import quantize

MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True)
class PeriodPrice:
    """One full billing period of a plan's recurring items: ``months`` long, costing ``amount``
    (each line rounded to the currency's minor units, then summed)."""

    months: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Saving:
    """What the longer interval saves a year against the shorter one: ``amount`` in money (to
    the minor unit) and ``percent`` of the shorter one's yearly cost (whole percent, rounded
    down so it never overstates)."""

    amount: Decimal
    percent: int


def interval_months(items: tuple[QuoteItem, ...] | list[QuoteItem]) -> int | None:
    """The one cadence (in months) all recurring items bill on; None when there is no recurring
    item or they bill on different cadences (such a plan has no single interval to offer)."""
    months = {item.terms.months for item in items if item.terms.is_recurring}
    return months.pop() if len(months) == 1 else None


def period_price(items, currency: str) -> PeriodPrice | None:
    """A full period's list price of ``items``' recurring charges; None without one interval."""
    months = interval_months(items)
    if months is None:
        return None
    amount = sum((quantize(item.terms.amount(item.quantity), currency) for item in items
                  if item.terms.is_recurring), Decimal(0))
    return PeriodPrice(months=months, amount=quantize(amount, currency))


def yearly_cost(price: PeriodPrice, currency: str) -> Decimal:
    """What ``price`` costs over twelve months (rounded to the minor unit)."""
    return quantize(price.amount * MONTHS_PER_YEAR / price.months, currency)


def saving(shorter: PeriodPrice, longer: PeriodPrice, currency: str) -> Saving | None:
    """What billing every ``longer.months`` saves a year against every ``shorter.months``;
    None when it does not save (costs the same or more per month)."""
    base, other = yearly_cost(shorter, currency), yearly_cost(longer, currency)
    if other >= base or base <= 0:
        return None
    saved = base - other
    return Saving(amount=saved, percent=int((saved * 100 / base).to_integral_value(rounding=ROUND_DOWN)))
