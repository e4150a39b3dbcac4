"""Reads that feed the pricing engine: each loads what a computation needs in a fixed number of
queries, scoped to the organization, and hands back frozen dataclasses (``billing.estimates``).

Another organization's id, or a string that is not a UUID, reads as "not found" (None or
missing from the dict), never as an error: callers answer 404/422 without telling tenants apart.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from . import fastsql
from .errors import (
    BillingError,
    CouponNotApplicable,
    CouponNotFound,
    PromotionCodeExpired,
    PromotionCodeUnknown,
    PromotionCodeUsedUp,
)
from .estimates import (
    BillingSchedule,
    CataloguePricing,
    ContractSnapshot,
    Discount,
    PhaseSnapshot,
    PlanItemSnapshot,
    PlanSnapshot,
    ProductRef,
    QuoteItem,
    QuotePhase,
    billing_anchors,
    phase_in_force,
)
from .models import Contract, Coupon, Phase, PhaseItem, Pricing, Product, PromotionCode
from .pricing import PriceTerms

__all__ = [
    "BillingSchedule",
    "CataloguePricing",
    "ContractSnapshot",
    "PlanSnapshot",
    "ProductRef",
    "billing_schedules_get",
    "contract_snapshot_get",
    "plan_snapshot_get",
    "pricings_get",
    "products_get",
    "terms_from_pricing",
]


def plan_snapshot_get(*, organization_id, plan_id) -> PlanSnapshot | None:
    """The plan with its items, products and pricing terms: one query (a join) on PostgreSQL
    whatever its size (tiers are a JSON column of ``Pricing``). Any status: the caller decides
    what is sellable."""
    plan_pk = _uuid(plan_id)
    if plan_pk is None:
        return None
    rows = fastsql.plan_rows(organization_id=organization_id, plan_id=plan_pk)
    return None if rows is None else _plan_snapshot(*rows)


def _plan_snapshot(plan_row, item_rows) -> PlanSnapshot:
    plan_pk, name, currency, status, code, version, trial_period_days = plan_row
    return PlanSnapshot(
        id=str(plan_pk),
        name=name,
        currency=currency,
        status=status,
        items=tuple(_plan_item_from_row(row) for row in item_rows),
        code=code,
        version=version,
        trial_period_days=trial_period_days,
    )


def contract_snapshot_get(
    *, organization_id, contract_id, on: date | None = None, with_plan_items: bool = True
) -> ContractSnapshot | None:
    """The contract, its billing entity's tax rate and the phase in force ``on`` (default today;
    the first phase for a contract that has not started; None once every phase has ended), with
    items priced on their locked terms. At most 3 queries: phases with contract and entity, their
    items, and (``with_plan_items``) the phase plan's items, the bounds of quantity updates.
    """
    contract_pk = _uuid(contract_id)
    if contract_pk is None:
        return None
    phases = list(
        Phase.objects.filter(contract_id=contract_pk, contract__organization_id=organization_id)
        .select_related("contract__business_entity")
        .order_by("position")
    )
    items_by_phase: dict = {}
    if phases:
        contract = phases[0].contract
        for item in (
            PhaseItem.objects.filter(phase__contract_id=contract_pk)
            .select_related("product")
            .order_by("position", "id")
        ):
            items_by_phase.setdefault(item.phase_id, []).append(item)
    else:
        contract = (
            Contract.objects.select_related("business_entity")
            .filter(pk=contract_pk, organization_id=organization_id)
            .first()
        )
        if contract is None:
            return None
    on = on or timezone.localdate()
    quote_phases = [
        _quote_phase(phase, items_by_phase.get(phase.pk, ()), n) for n, phase in enumerate(phases)
    ]
    index = phase_in_force(phases, on)
    phase = None
    anchor = contract.start_date
    plan_items: tuple[PlanItemSnapshot, ...] = ()
    if index is not None:
        current = phases[index]
        anchor = billing_anchors(quote_phases[: index + 1])[index]
        phase = PhaseSnapshot(
            id=str(current.pk),
            name=current.name,
            plan_id=_str_or_none(current.plan_id),
            start_date=current.start_date,
            end_date=current.end_date,
            items=quote_phases[index].items,
        )
        if with_plan_items and current.plan_id is not None:
            plan_items = tuple(_plan_item_from_row(row) for row in fastsql.plan_item_rows(plan_id=current.plan_id))
    return ContractSnapshot(
        id=str(contract.pk),
        organization_id=str(contract.organization_id),
        customer_id=str(contract.customer_id),
        business_entity_id=str(contract.business_entity_id),
        currency=contract.currency,
        start_date=contract.start_date,
        end_date=contract.end_date,
        status=contract.status,
        plan_id=_str_or_none(contract.plan_id),
        tax_rate=contract.tax_rate if contract.tax_rate is not None else contract.business_entity.tax_rate,
        billing_anchor=anchor,
        phase=phase,
        plan_items=plan_items,
        version=contract.version,
        livemode=contract.livemode,
        discount=None if contract.discount is None else Discount.from_json(contract.discount),
        discount_invoices=contract.discount_invoices,
        credit_balance=contract.credit_balance,
        tax_reason=contract.tax_reason,
    )


def pricings_get(*, organization_id, pricing_ids: Iterable) -> dict[str, CataloguePricing]:
    """The organization's pricings among ``pricing_ids`` with their products, by id (as a
    string): one query. Ids that are malformed or belong elsewhere are simply absent."""
    pks = _uuids(pricing_ids)
    if not pks:
        return {}
    rows = Pricing.objects.filter(organization_id=organization_id, pk__in=pks).select_related(
        "product"
    )
    return {
        str(p.pk): CataloguePricing(
            id=str(p.pk),
            product=_product_ref(p.product),
            currency=p.currency,
            terms=terms_from_pricing(p),
        )
        for p in rows
    }


def products_get(*, organization_id, product_ids: Iterable) -> dict[str, ProductRef]:
    """The organization's products among ``product_ids``, by id (as a string): one query."""
    pks = _uuids(product_ids)
    if not pks:
        return {}
    rows = Product.objects.filter(organization_id=organization_id, pk__in=pks).only(
        "id", "name", "description"
    )
    return {str(p.pk): _product_ref(p) for p in rows}


def terms_from_pricing(pricing: Pricing) -> PriceTerms:
    """A catalogue pricing's terms, validated; a broken row names itself (``pricings.<id>.…``)."""
    data = {
        "pricing_model": pricing.pricing_model,
        "billing": pricing.billing,
        "cadence": pricing.cadence or None,
        "timing": pricing.timing,
        "unit_amount": None if pricing.unit_amount is None else format(pricing.unit_amount, "f"),
        "package_size": pricing.package_size,
        "tiers": [_stored_tier(t) for t in pricing.tiers or []],
        "tax_behavior": pricing.tax_behavior,
    }
    try:
        return PriceTerms.from_json(data, field="")
    except BillingError as error:
        raise error.prefixed(f"pricings.{pricing.pk}") from None


# --- helpers ----------------------------------------------------------------------------------


def _quote_phase(phase: Phase, items, n: int) -> QuotePhase:
    quote_items = []
    for m, item in enumerate(items):
        try:
            terms = PriceTerms.from_json(item.terms, field="")
        except BillingError as error:
            raise error.prefixed(f"phases.{n}.items.{m}.terms") from None
        quote_items.append(
            QuoteItem(
                product_id=str(item.product_id),
                name=item.product.name,
                description=item.product.description,
                quantity=item.quantity,
                terms=terms,
                pricing_id=_str_or_none(item.pricing_id),
            )
        )
    return QuotePhase(
        phase.name,
        phase.start_date,
        phase.end_date,
        tuple(quote_items),
        plan_id=_str_or_none(phase.plan_id),
    )


def _plan_item_from_row(row) -> PlanItemSnapshot:
    (product_id, name, description, pricing_id, model, billing, cadence, timing, unit_amount,
     package_size, tiers_json, default_quantity, min_quantity, max_quantity, is_optional, tax_behavior) = row
    return PlanItemSnapshot(
        product_id=str(product_id),
        name=name,
        description=description,
        pricing_id=str(pricing_id),
        terms=_cached_terms(pricing_id, model, billing, cadence, timing, unit_amount, package_size, tiers_json,
                            tax_behavior),
        default_quantity=default_quantity,
        min_quantity=min_quantity,
        max_quantity=max_quantity,
        is_optional=is_optional,
    )


@lru_cache(maxsize=4096)
def _cached_terms(pricing_id, model, billing, cadence, timing, unit_amount, package_size, tiers_json,
                  tax_behavior) -> PriceTerms:
    """Keyed by every column the terms come from, so an edited pricing is a new key, never a
    stale hit; PriceTerms is frozen, so sharing one between requests is safe."""
    pricing = Pricing(
        id=pricing_id, pricing_model=model, billing=billing, cadence=cadence, timing=timing,
        unit_amount=unit_amount, package_size=package_size, tiers=json.loads(tiers_json),
        tax_behavior=tax_behavior,
    )
    return terms_from_pricing(pricing)


def _stored_tier(tier) -> dict:
    """Tiers written by hand (admin, fixtures) may hold JSON numbers; jsonb keeps their exact
    decimal text, so the shortest repr of the float read back is that text."""
    if not isinstance(tier, dict):
        return tier
    return {k: (str(Decimal(repr(v))) if isinstance(v, float) else v) for k, v in tier.items()}


def _product_ref(product: Product) -> ProductRef:
    return ProductRef(id=str(product.pk), name=product.name, description=product.description)


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _uuids(values: Iterable) -> list[uuid.UUID]:
    return [pk for pk in (_uuid(v) for v in values) if pk is not None]


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


# --- discounts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountOffer:
    """A coupon (reached directly or through a promotion code) checked for one purchase."""

    discount: Discount
    coupon_id: uuid.UUID
    promotion_code_id: uuid.UUID | None = None


def discount_offer_get(*, organization_id, livemode: bool, currency: str, plan_id, now,
                       coupon_id=None, code: str | None = None, field: str) -> DiscountOffer:
    """The discount a session may carry: the organization's coupon ``coupon_id`` (the
    merchant's choice) or the coupon behind promotion code ``code`` (the customer's, matched
    without regard to case), checked for ``now``, the session's currency and plan. Raises
    the reason it cannot apply, naming ``field``: unknown, expired (or not yet valid, or
    switched off), used up, or not for this plan or currency. Two queries at most.

    The redemption limit is checked here for a clear early answer; the count that matters is
    taken when the checkout completes (``billing.services.coupon_redeem``)."""
    promotion = None
    if code is not None:
        normalized = code.strip()
        promotion = (
            PromotionCode.objects.select_related("coupon")
            .filter(organization_id=organization_id, code__iexact=normalized, coupon__livemode=livemode)
            .first()
            if normalized and len(normalized) <= 50 else None
        )
        if promotion is None:
            raise PromotionCodeUnknown(field=field)
        coupon = promotion.coupon
        if not promotion.is_active:  # switched off by the merchant: not "expired" to the buyer
            raise PromotionCodeExpired("This code is not valid.", field=field)
        if promotion.valid_until is not None and promotion.valid_until <= now:
            raise PromotionCodeExpired(field=field)
        if promotion.max_redemptions is not None and promotion.times_redeemed >= promotion.max_redemptions:
            raise PromotionCodeUsedUp(field=field)
    else:
        coupon_pk = _uuid(coupon_id)
        coupon = None if coupon_pk is None else Coupon.objects.filter(
            pk=coupon_pk, organization_id=organization_id, livemode=livemode).first()
        if coupon is None:
            raise CouponNotFound(field=field)
    noun = "code" if promotion is not None else "coupon"
    if (coupon.valid_from is not None and coupon.valid_from > now) or (
            coupon.valid_until is not None and coupon.valid_until <= now):
        raise PromotionCodeExpired(f"This {noun} is not valid at this time.", field=field)
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise PromotionCodeUsedUp(f"This {noun} has been used the maximum number of times.", field=field)
    if coupon.amount_off is not None and coupon.currency != currency:
        raise CouponNotApplicable(f"This {noun} is for purchases in {coupon.currency}.", field=field)
    plan_ids = {str(pk) for pk in coupon.plans.values_list("id", flat=True)}
    if plan_ids and (plan_id is None or str(plan_id) not in plan_ids):
        raise CouponNotApplicable(f"This {noun} cannot be used for this plan.", field=field)
    return DiscountOffer(
        discount=Discount(
            name=coupon.name,
            duration=coupon.duration,
            duration_in_periods=coupon.duration_in_periods,
            percent_off=None if coupon.percent_off is None else coupon.percent_off.normalize(),
            amount_off=coupon.amount_off,
            coupon_id=str(coupon.pk),
            promotion_code=promotion.code if promotion is not None else None,
        ),
        coupon_id=coupon.pk,
        promotion_code_id=promotion.pk if promotion is not None else None,
    )


# --- renewals ---------------------------------------------------------------------------------


def billing_schedules_get(contracts: Iterable[Contract]) -> dict:
    """Each contract's ``BillingSchedule`` (what the renewal run bills), by contract id: two
    queries for any number of contracts (their phases, then the phases' items with product
    names), rows rather than model instances, and each distinct set of locked terms parsed once
    (a run's contracts mostly share a few plans). Zero-length phases (superseded the day they
    started) bill nothing and are left out."""
    contracts = list(contracts)
    if not contracts:
        return {}
    phases_by_contract: dict = {}
    phase_rows = (Phase.objects.filter(contract_id__in=[c.pk for c in contracts])
                  .order_by("contract_id", "position")
                  .values_list("id", "contract_id", "name", "plan_id", "start_date", "end_date", "opened_by_amendment"))
    for row in phase_rows:
        phases_by_contract.setdefault(row[1], []).append(row)
    items_by_phase: dict = {}
    phase_ids = [row[0] for rows in phases_by_contract.values() for row in rows]
    item_rows = (PhaseItem.objects.filter(phase_id__in=phase_ids).order_by("phase_id", "position", "id")
                 .annotate(terms_json=Cast("terms", TextField()))
                 .values_list("phase_id", "product_id", "product__name", "product__description", "quantity",
                              "pricing_id", "terms_json"))
    for phase_id, product_id, name, description, quantity, pricing_id, terms_json in item_rows:
        items_by_phase.setdefault(phase_id, []).append(QuoteItem(
            product_id=str(product_id), name=name, description=description, quantity=quantity,
            terms=_locked_terms(terms_json), pricing_id=_str_or_none(pricing_id)))
    return {contract.pk: _billing_schedule(contract, phases_by_contract.get(contract.pk, []), items_by_phase)
            for contract in contracts}


@lru_cache(maxsize=4096)
def _locked_terms(terms_json: str) -> PriceTerms:
    return PriceTerms.from_json(json.loads(terms_json), field="")


def _billing_schedule(contract: Contract, phases: list, items_by_phase: dict) -> BillingSchedule:
    end = contract.end_date
    kept = []
    for phase_id, _contract_id, name, plan_id, start, phase_end, _amended in phases:
        if end is not None and (phase_end is None or phase_end > end):
            phase_end = end
        if phase_end is not None and phase_end <= start:
            continue
        kept.append(QuotePhase(name, start, phase_end, tuple(items_by_phase.get(phase_id, ())),
                               plan_id=_str_or_none(plan_id)))
    return BillingSchedule(
        currency=contract.currency,
        start_date=contract.start_date,
        end_date=end,
        phases=tuple(kept),
        amendment_starts=frozenset(row[4] for row in phases if row[6]),
        trial_end=contract.trial_end,
        discount=_discount(contract.discount),
        tax_rate=contract.tax_rate,
        tax_reason=contract.tax_reason,
    )


def _discount(data) -> Discount | None:
    return None if data is None else Discount.from_json(data)


def coupon_uses_left_check(*, coupon_id, promotion_code_id=None) -> None:
    """Lock the coupon (and the promotion code it came through) until the transaction ends,
    and refuse with ``PromotionCodeUsedUp`` when either has no use left: what
    ``billing.services.coupon_redeem`` will count, checked before a card is charged. Lock
    order: the promotion code and its coupon after the checkout session, as redeeming does."""
    if promotion_code_id is not None:
        promotion = (PromotionCode.objects.select_for_update().select_related("coupon")
                     .filter(pk=promotion_code_id, coupon_id=coupon_id).first())
        rows = [] if promotion is None else [(promotion, "code"), (promotion.coupon, "code")]
    else:
        rows = [(coupon, "discount") for coupon in Coupon.objects.select_for_update().filter(pk=coupon_id)]
    for row, noun in rows:
        if row.max_redemptions is not None and row.times_redeemed >= row.max_redemptions:
            raise PromotionCodeUsedUp(
                f"This {noun} has just been used for the last time. Remove it to continue at the full price.",
                field="promotion_code")
