"""What a session sells, as values: the quote (items, phases, discount), the snapshots of plans
and contracts it is built from, and their JSON. Pure: no ORM, no request; ``billing.selectors``
loads the snapshots.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from core.money import is_currency, quantum

from ..enums import DiscountDuration
from ..errors import (
    BillingError,
    EndDateBeforeStartDate,
    InvalidDates,
    InvalidQuote,
    QuantityOutOfBounds,
)
from ..pricing import PriceTerms


class LineKind(StrEnum):
    ONE_TIME = "one_time"  # billed once, when its phase starts
    CHARGE = "charge"  # a recurring item billed in advance
    USAGE = "usage"  # a recurring item billed in arrears (for a period that has passed)
    CREDIT = "credit"  # the unused part of a period already paid, on an amendment (negative)
    TRIAL = "trial"  # a recurring item during a free trial (zero)
    DISCOUNT = "discount"  # a coupon's reduction of the invoice's charges (negative)


# Longest free trial a session may carry: two years, as Stripe allows.
MAX_TRIAL_DAYS = 730


# --- what is bought ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductRef:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class CataloguePricing:
    """A catalogue ``Pricing`` as the engine needs it (``selectors.pricings_get``)."""

    id: str
    product: ProductRef
    currency: str
    terms: PriceTerms


@dataclass(frozen=True, slots=True)
class QuoteItem:
    """A priced item: a product, a quantity and the terms it is sold on (locked at checkout)."""

    product_id: str
    name: str
    description: str
    quantity: int
    terms: PriceTerms
    pricing_id: str | None = None

    def __post_init__(self):
        if (
            isinstance(self.quantity, bool)
            or not isinstance(self.quantity, int)
            or self.quantity < 0
        ):
            raise QuantityOutOfBounds(
                "The quantity must be a whole number of at least 0.", field="quantity"
            )

    def replace(self, **changes) -> "QuoteItem":
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return QuoteItem(**values)

    def to_json(self) -> dict:
        return {
            "product_id": self.product_id,
            "pricing_id": self.pricing_id,
            "name": self.name,
            "description": self.description,
            "quantity": self.quantity,
            "terms": self.terms.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> "QuoteItem":
        return cls(
            product_id=str(data["product_id"]),
            pricing_id=None if data.get("pricing_id") is None else str(data["pricing_id"]),
            name=data.get("name") or "",
            description=data.get("description") or "",
            quantity=data["quantity"],
            terms=PriceTerms.from_json(data["terms"], field="terms"),
        )


@dataclass(frozen=True, slots=True)
class QuotePhase:
    """A stretch of the contract with one set of items; ``end_date`` None = until the contract ends."""

    name: str
    start_date: date
    end_date: date | None
    items: tuple[QuoteItem, ...]
    plan_id: str | None = None

    def __post_init__(self):
        if not isinstance(self.items, tuple):
            object.__setattr__(self, "items", tuple(self.items))

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "plan_id": self.plan_id,
            "start_date": self.start_date.isoformat(),
            "end_date": _iso_or_none(self.end_date),
            "items": [item.to_json() for item in self.items],
        }

    @classmethod
    def from_json(cls, data: dict) -> "QuotePhase":
        return cls(
            name=data.get("name") or "",
            plan_id=None if data.get("plan_id") is None else str(data["plan_id"]),
            start_date=date.fromisoformat(data["start_date"]),
            end_date=_date_or_none(data.get("end_date")),
            items=tuple(
                _under(f"items.{i}", QuoteItem.from_json, item)
                for i, item in enumerate(data["items"])
            ),
        )


@dataclass(frozen=True, slots=True)
class Discount:
    """A coupon as the engine applies it: ``percent_off`` (0 < p ≤ 100) or ``amount_off`` (in
    the quote's currency), for ``duration``: once, repeating for ``duration_in_periods``
    invoices, or forever. Invoices are counted from the first one that bills anything (a free
    trial's zero invoice does not use it up).

    The reduction is taken from the invoice's net charges before tax, rounded half-up to the
    currency, never more than those charges; it is a line of its own (``LineKind.DISCOUNT``), so
    lines still sum to the subtotal and the invoice bills exactly the estimate's lines.
    """

    name: str
    duration: str
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    duration_in_periods: int | None = None
    coupon_id: str | None = None
    promotion_code: str | None = None

    def __post_init__(self):
        if (self.percent_off is None) == (self.amount_off is None):
            raise InvalidQuote("A discount has either percent_off or amount_off.", field="discount")
        if self.percent_off is not None and not (0 < self.percent_off <= 100):
            raise InvalidQuote("percent_off must be above 0 and at most 100.", field="discount.percent_off")
        if self.amount_off is not None and not self.amount_off > 0:
            raise InvalidQuote("amount_off must be above 0.", field="discount.amount_off")
        if self.duration not in DiscountDuration.values:
            raise InvalidQuote("duration must be once, repeating or forever.", field="discount.duration")
        repeating = self.duration == DiscountDuration.REPEATING
        periods = self.duration_in_periods
        if repeating != (periods is not None) or (
            periods is not None and (isinstance(periods, bool) or not isinstance(periods, int) or periods < 1)
        ):
            raise InvalidQuote("duration_in_periods (at least 1) goes with a repeating duration only.",
                               field="discount.duration_in_periods")

    def applies_to(self, nth: int) -> bool:
        """Whether the ``nth`` invoice that bills anything (1 = the first) is discounted."""
        if self.duration == DiscountDuration.ONCE:
            return nth == 1
        if self.duration == DiscountDuration.REPEATING:
            return nth <= self.duration_in_periods
        return True

    def reduction(self, charges: Decimal, currency: str) -> Decimal:
        """What comes off ``charges`` (a rounded, positive subtotal): rounded, ≤ ``charges``."""
        if self.percent_off is not None:
            off = (charges * self.percent_off / 100).quantize(quantum(currency), ROUND_HALF_UP)
        else:
            off = self.amount_off.quantize(quantum(currency), ROUND_HALF_UP)
        return min(off, charges)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "duration": self.duration,
            "duration_in_periods": self.duration_in_periods,
            "percent_off": None if self.percent_off is None else format(self.percent_off, "f"),
            "amount_off": None if self.amount_off is None else format(self.amount_off, "f"),
            "coupon_id": self.coupon_id,
            "promotion_code": self.promotion_code,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Discount":
        def dec(value):
            return None if value is None else Decimal(value)

        return cls(
            name=data.get("name") or "",
            duration=data["duration"],
            duration_in_periods=data.get("duration_in_periods"),
            percent_off=dec(data.get("percent_off")),
            amount_off=dec(data.get("amount_off")),
            coupon_id=data.get("coupon_id"),
            promotion_code=data.get("promotion_code"),
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """The resolved configuration a session sells (stored on it as ``quote``).

    For a new contract: its currency, dates and every phase. For an amendment
    (``amendment_quote``): the new phase, from the change date to the contract's end.
    Validated on construction: phases follow each other without gaps, the first starts on
    ``start_date``, only the last may be open-ended and it ends with the contract.

    ``trial_end`` (new contracts): nothing is billed before it; the first paid period starts
    on it and periods are counted from it (``estimate_new_contract``). ``discount``: the
    coupon the estimates apply (``Discount``).
    """

    currency: str
    start_date: date
    end_date: date | None
    phases: tuple[QuotePhase, ...]
    trial_end: date | None = None
    discount: Discount | None = None

    def __post_init__(self):
        if not isinstance(self.phases, tuple):
            object.__setattr__(self, "phases", tuple(self.phases))
        _validate_quote(self)

    def to_json(self) -> dict:
        data = {
            "currency": self.currency,
            "start_date": self.start_date.isoformat(),
            "end_date": _iso_or_none(self.end_date),
            "phases": [phase.to_json() for phase in self.phases],
        }
        # Only when set: quotes stored before trials and discounts existed read the same.
        if self.trial_end is not None:
            data["trial_end"] = self.trial_end.isoformat()
        if self.discount is not None:
            data["discount"] = self.discount.to_json()
        return data

    def replace(self, **changes) -> "Quote":
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Quote(**values)

    @classmethod
    def from_json(cls, data: dict) -> "Quote":
        """Rebuild a stored quote; a malformed one raises ``InvalidQuote`` (or the terms' error)."""
        try:
            return cls(
                currency=data["currency"],
                start_date=date.fromisoformat(data["start_date"]),
                end_date=_date_or_none(data.get("end_date")),
                phases=tuple(
                    _under(f"phases.{i}", QuotePhase.from_json, phase)
                    for i, phase in enumerate(data["phases"])
                ),
                trial_end=_date_or_none(data.get("trial_end")),
                discount=None if data.get("discount") is None else Discount.from_json(data["discount"]),
            )
        except BillingError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidQuote(f"The stored quote is malformed ({error!r}).") from error


def _validate_quote(quote: Quote) -> None:
    if not is_currency(quote.currency):
        raise InvalidQuote("Not an ISO-4217 currency code.", field="currency")
    if quote.end_date is not None and quote.end_date <= quote.start_date:
        raise EndDateBeforeStartDate(
            f"Must be after start_date ({quote.start_date}, today when not given).", field="end_date")
    if not quote.phases:
        raise InvalidQuote("At least one phase is needed.", field="phases")
    expected_start = quote.start_date
    last = len(quote.phases) - 1
    for i, phase in enumerate(quote.phases):
        if phase.start_date != expected_start:
            which = "the contract's start date" if i == 0 else "the previous phase's end date"
            raise InvalidDates(
                f"The phase must start on {which} ({expected_start}).",
                field=f"phases.{i}.start_date",
            )
        if phase.end_date is not None and phase.end_date <= phase.start_date:
            raise InvalidDates("The phase must end after it starts.", field=f"phases.{i}.end_date")
        if i < last and phase.end_date is None:
            raise InvalidDates(
                "Only the last phase may be open-ended.", field=f"phases.{i}.end_date"
            )
        if i == last and phase.end_date is not None and phase.end_date != quote.end_date:
            raise InvalidDates(
                "The last phase must end when the contract ends.", field=f"phases.{i}.end_date"
            )
        expected_start = phase.end_date
    trial_end = quote.trial_end
    if trial_end is not None:
        if trial_end <= quote.start_date:
            raise InvalidDates("The trial must end after the contract starts.", field="trial_end")
        if trial_end > quote.start_date + timedelta(days=MAX_TRIAL_DAYS):
            raise InvalidDates(f"A trial lasts at most {MAX_TRIAL_DAYS} days.", field="trial_end")
        if quote.end_date is not None and trial_end >= quote.end_date:
            raise InvalidDates("The trial must end before the contract ends.", field="trial_end")


# --- snapshots (built by billing.selectors) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanItemSnapshot:
    product_id: str
    name: str
    description: str
    pricing_id: str
    terms: PriceTerms
    default_quantity: int
    min_quantity: int = 0
    max_quantity: int | None = None
    is_optional: bool = False

    def quote_item(self, quantity: int | None = None) -> QuoteItem:
        return QuoteItem(
            product_id=self.product_id,
            name=self.name,
            description=self.description,
            quantity=self.default_quantity if quantity is None else quantity,
            terms=self.terms,
            pricing_id=self.pricing_id,
        )


@dataclass(frozen=True, slots=True)
class PlanSnapshot:
    id: str
    name: str
    currency: str
    status: str
    items: tuple[PlanItemSnapshot, ...]
    code: str = ""
    version: int = 1
    trial_period_days: int | None = None


@dataclass(frozen=True, slots=True)
class PhaseSnapshot:
    id: str
    name: str
    plan_id: str | None
    start_date: date
    end_date: date | None
    items: tuple[QuoteItem, ...]


@dataclass(frozen=True, slots=True)
class ContractSnapshot:
    """A contract as of a date: the phase in force (None if none is) and what amendments need.

    ``billing_anchor``: the date its current periods are counted from (``billing_anchors``).
    ``plan_items``: the items of the current phase's plan (bounds and optional flags for
    quantity updates; products that can be added); empty for product-based contracts.
    ``tax_rate``: the billing entity's manual rate in percent, None for no tax.
    """

    id: str
    organization_id: str
    customer_id: str
    business_entity_id: str
    currency: str
    start_date: date
    end_date: date | None
    status: str
    plan_id: str | None
    tax_rate: Decimal | None
    billing_anchor: date
    phase: PhaseSnapshot | None
    plan_items: tuple[PlanItemSnapshot, ...] = ()
    # ``Contract.version`` when read: an amendment priced on this snapshot applies only to it.
    version: int = 1
    livemode: bool = False
    # The contract's ongoing discount, how many invoices have used it, and the credit it holds:
    # an amendment's estimate applies them as its invoices will.
    discount: Discount | None = None
    discount_invoices: int = 0
    credit_balance: Decimal = Decimal(0)
    # Why ``tax_rate`` (billing.tax.TaxReason), locked with it at checkout.
    tax_reason: str = ""


# --- small helpers ----------------------------------------------------------------------------


def _iso_or_none(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date_or_none(value) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _under(path: str, parse, data):
    try:
        return parse(data)
    except BillingError as error:
        raise error.prefixed(path) from None
