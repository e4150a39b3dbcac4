"""Quotes built from requests: a plan with product overrides, a contract's items with new
quantities, an amendment's new phase, a product-based contract spec. Errors name the request
field they are about.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ..errors import (
    BillingError,
    CurrencyMismatch,
    DuplicateProductOverride,
    InvalidDates,
    InvalidPricing,
    InvalidQuote,
    ItemNotOptional,
    PricingProductMismatch,
    QuantityOutOfBounds,
    UnknownPricing,
    UnknownProduct,
    UnknownProductOverride,
)
from ..pricing import PriceTerms
from .quote import (
    CataloguePricing,
    ContractSnapshot,
    PlanSnapshot,
    ProductRef,
    Quote,
    QuoteItem,
    QuotePhase,
)


@dataclass(slots=True)
class _Choice:
    """An item a request may include, change or leave out."""

    item: QuoteItem
    min_quantity: int
    max_quantity: int | None
    is_optional: bool
    included: bool


def quote_items_from_plan(
    plan: PlanSnapshot, overrides: Sequence[dict] | None = None, *, field: str = "product_overrides"
) -> tuple[QuoteItem, ...]:
    """The plan's items at their default quantities, with ``product_overrides`` applied.

    Optional items are included unless ``is_enabled: false``; a non-optional item cannot be
    disabled; quantities must be within the plan item's bounds. Errors name the override
    (``product_overrides.0.quantity``).
    """
    choices = {
        item.product_id: _Choice(
            item.quote_item(), item.min_quantity, item.max_quantity, item.is_optional, True
        )
        for item in plan.items
    }
    return _apply_overrides(choices, overrides, field)


def quote_from_plan(
    *,
    plan: PlanSnapshot,
    start_date: date,
    end_date: date | None = None,
    overrides: Sequence[dict] | None = None,
    field: str = "",
    overrides_field: str = "product_overrides",
) -> Quote:
    """A one-phase quote for a plan-based new contract. Date errors are put under ``field``
    (``"contract"`` → ``contract.end_date``)."""
    items = quote_items_from_plan(plan, overrides, field=overrides_field)
    try:
        return Quote(
            currency=plan.currency,
            start_date=start_date,
            end_date=end_date,
            phases=(QuotePhase(plan.name, start_date, end_date, items, plan_id=plan.id),),
        )
    except BillingError as error:
        raise error.prefixed(field) from None


def quote_items_for_quantity_update(
    *,
    contract: ContractSnapshot,
    overrides: Sequence[dict] | None,
    field: str = "product_overrides",
) -> tuple[QuoteItem, ...]:
    """The contract's current items with ``product_overrides`` applied.

    Items keep their locked terms. Bounds and optional flags come from the phase's plan;
    products of that plan the contract does not have can be added (at the plan's current
    terms). Items of a product-based contract can be changed or removed freely.
    """
    if contract.phase is None:
        raise InvalidDates("The contract has no phase in force on that date.", field="start_date")
    plan_items = {item.product_id: item for item in contract.plan_items}
    choices: dict[str, _Choice] = {}
    for item in contract.phase.items:
        bounds = plan_items.get(item.product_id)
        choices[item.product_id] = (
            _Choice(item, bounds.min_quantity, bounds.max_quantity, bounds.is_optional, True)
            if bounds
            else _Choice(item, 0, None, True, True)
        )
    for product_id, plan_item in plan_items.items():
        if product_id not in choices:
            choices[product_id] = _Choice(
                plan_item.quote_item(), plan_item.min_quantity, plan_item.max_quantity, True, False
            )
    return _apply_overrides(choices, overrides, field)


def amendment_quote(
    *,
    contract: ContractSnapshot,
    items: Sequence[QuoteItem],
    change_date: date,
    plan_id: str | None = None,
    name: str = "",
) -> Quote:
    """What a plan switch or quantity update sells: the new phase, from ``change_date`` to the
    contract's end (stored on the session as ``quote``)."""
    phase = QuotePhase(
        name or "Amendment", change_date, contract.end_date, tuple(items), plan_id=plan_id
    )
    return Quote(
        currency=contract.currency,
        start_date=change_date,
        end_date=contract.end_date,
        phases=(phase,),
    )


def _apply_overrides(choices: dict[str, _Choice], overrides, field: str) -> tuple[QuoteItem, ...]:
    if overrides is None:
        overrides = ()
    if not isinstance(overrides, (list, tuple)):
        raise InvalidQuote("product_overrides must be a list.", field=field)
    seen: set[str] = set()
    for i, override in enumerate(overrides):
        path = f"{field}.{i}"
        if not isinstance(override, Mapping):
            raise InvalidQuote("Each override must be an object.", field=path)
        product_id = str(override.get("product_id"))
        choice = choices.get(product_id)
        if choice is None:
            raise UnknownProductOverride(field=f"{path}.product_id", product_id=product_id)
        if product_id in seen:
            raise DuplicateProductOverride(field=f"{path}.product_id")
        seen.add(product_id)
        _apply_override(choice, override, path)
    return tuple(c.item for c in choices.values() if c.included)


def _apply_override(choice: _Choice, override: Mapping, path: str) -> None:
    enabled = override.get("is_enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidQuote("is_enabled must be true or false.", field=f"{path}.is_enabled")
    if enabled is False:
        if not choice.is_optional:
            raise ItemNotOptional(field=f"{path}.is_enabled")
        choice.included = False
        return
    quantity = override.get("quantity")
    if quantity is not None:
        low, high = choice.min_quantity, choice.max_quantity
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity < low
            or (high is not None and quantity > high)
        ):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise QuantityOutOfBounds(
                f"The quantity must be a whole number {bounds}.", field=f"{path}.quantity"
            )
        choice.item = choice.item.replace(quantity=quantity)
    choice.included = True


def quote_from_contract_spec(
    *,
    spec: Mapping,
    pricings: Mapping[str, CataloguePricing],
    products: Mapping[str, ProductRef],
    field: str = "contract",
) -> Quote:
    """A product-based new contract (``contract.is_plan_based: false``) as a quote.

    ``pricings``/``products``: the organization's catalogue rows the spec names, keyed by id
    as strings (``selectors.pricings_get`` / ``products_get``); an id missing from them is
    unknown in this organization. A phase pricing names a catalogue ``pricing_id`` or carries
    an inline ``pricing``. Phase dates may be left out: the first phase starts with the
    contract, a phase starts when the previous one ends, the last one ends with the contract.
    """
    try:
        return _quote_from_spec(spec, pricings, products)
    except BillingError as error:
        raise error.prefixed(field) from None


def _quote_from_spec(spec, pricings, products) -> Quote:
    currency = spec.get("currency")
    start = _to_date(spec.get("start_date"), "start_date")
    end = _to_date(spec.get("end_date"), "end_date", required=False)
    raw_phases = spec.get("phases")
    if not isinstance(raw_phases, (list, tuple)) or not raw_phases:
        raise InvalidQuote("A product-based contract needs at least one phase.", field="phases")
    phases, previous_end = [], start
    for i, raw in enumerate(raw_phases):
        path = f"phases.{i}"
        if not isinstance(raw, Mapping):
            raise InvalidQuote("Each phase must be an object.", field=path)
        phase_start = (
            _to_date(raw.get("start_date"), f"{path}.start_date", required=False) or previous_end
        )
        default_end = end if i == len(raw_phases) - 1 else None
        phase_end = _to_date(raw.get("end_date"), f"{path}.end_date", required=False) or default_end
        entries = raw.get("pricings")
        if not isinstance(entries, (list, tuple)) or not entries:
            raise InvalidQuote("A phase needs at least one pricing.", field=f"{path}.pricings")
        items = tuple(
            _spec_item(entry, f"{path}.pricings.{j}", currency, pricings, products)
            for j, entry in enumerate(entries)
        )
        phases.append(
            QuotePhase(raw.get("name") or f"Phase {i + 1}", phase_start, phase_end, items)
        )
        previous_end = phase_end
    return Quote(currency=currency, start_date=start, end_date=end, phases=tuple(phases))


def _spec_item(entry, path, currency, pricings, products) -> QuoteItem:
    if not isinstance(entry, Mapping):
        raise InvalidQuote("Each pricing must be an object.", field=path)
    product_id = str(entry.get("product_id"))
    product = products.get(product_id)
    if product is None:
        raise UnknownProduct(field=f"{path}.product_id")
    quantity = entry.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise QuantityOutOfBounds(
            "The quantity must be a whole number of at least 0.", field=f"{path}.quantity"
        )
    pricing_id, inline = entry.get("pricing_id"), entry.get("pricing")
    if (pricing_id is None) == (inline is None):
        raise InvalidPricing("Give either a pricing_id or an inline pricing.", field=path)
    if inline is not None:
        terms = PriceTerms.from_json(inline, field=f"{path}.pricing")
        return QuoteItem(product.id, product.name, product.description, quantity, terms, None)
    catalogue = pricings.get(str(pricing_id))
    if catalogue is None:
        raise UnknownPricing(field=f"{path}.pricing_id")
    if catalogue.product.id != product.id:
        raise PricingProductMismatch(field=f"{path}.pricing_id")
    if catalogue.currency != currency:
        raise CurrencyMismatch(
            f"The pricing is in {catalogue.currency}, the contract in {currency}.",
            field=f"{path}.pricing_id",
        )
    return QuoteItem(
        product.id, product.name, product.description, quantity, catalogue.terms, catalogue.id
    )


def _to_date(value, path: str, *, required: bool = True) -> date | None:
    if value is None:
        if required:
            raise InvalidDates("A date is required.", field=path)
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidDates("Not an ISO-8601 date (YYYY-MM-DD).", field=path) from None
