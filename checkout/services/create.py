"""Creating a checkout session: cross-object rules, the priced quote, the locked estimate.

``terms`` are what ``CheckoutSessionCreateSerializer`` validated (shapes, which fields go
together, the detected ``checkout_type``), as ``SessionTerms``. Here: every referenced id must exist in the
caller's organization (else 404 naming the field), the plan must be active, the contract must
belong to the customer, currencies must agree, live keys need https URLs; then the pricing
engine builds the quote and its estimates, both stored on the session so confirming bills
exactly what the customer was shown.

Query budget (independent of the plan's size): customer or business entity 1, plan 1,
contract 2 (+1 plan items for a quantity update), catalogue pricings/products 1–2
(product-based), insert 1.
"""

import datetime
from contextlib import contextmanager
from decimal import Decimal

from django.utils import timezone

from billing import selectors as billing_selectors
from billing.enums import RENEWING_STATUSES, ContractStatus, PaymentProviderName, PlanStatus, PricingModel
from billing.errors import (
    AmountBelowProviderMinimum,
    CurrencyMismatch,
    InvalidDates,
    ItemNotOptional,
    QuantityOutOfBounds,
    UnknownPricing,
    UnknownProduct,
    UnknownProductOverride,
)
from billing.estimates import (
    MAX_START_DAYS_AHEAD,
    ContractSnapshot,
    PlanSnapshot,
    amendment_quote,
    estimate_contract_change,
    estimate_new_contract,
    quote_from_contract_spec,
    quote_from_plan,
    quote_items_for_quantity_update,
    quote_items_from_plan,
    start_date_problem,
)
from billing.gateway import stripe_below_minimum, stripe_minimum_check
from billing.intervals import period_price
from billing.models import Contract
from billing.selectors import DiscountOffer
from billing.tax import TaxDecision, eu_vat_id, tax_decide
from billing.vies import vat_id_for_reverse_charge
from checkout import fastsql
from checkout.enums import CheckoutType
from checkout.errors import (
    AdjustableQuantityOutsidePlan,
    BusinessEntityMismatch,
    BusinessEntityNotFound,
    ChangeDateOutsideContract,
    CheckoutErrorCode,
    ContractAmendmentInProgress,
    ContractCustomerMismatch,
    ContractEnded,
    ContractNotActive,
    ContractNotFound,
    CustomerNotFound,
    LivePaymentProviderMissing,
    PlanChoicesSameInterval,
    PlanIntervalUnclear,
    PlanNotActive,
    PlanNotFound,
    PlanUnchanged,
    PricingNotFound,
    ProductNotFound,
    QuantityNotAdjustable,
    RequestInvalid,
    StartDateOutsideWindow,
    TermsOfServiceUrlMissing,
    UrlHttpsRequired,
)
from checkout.models import CheckoutSession
from checkout.selectors import checkout_session_amendment_in_flight
from checkout.services.idempotency import Held, Outcome
from checkout.sessions.terms import SessionTerms, jsonable
from checkout.tokens import session_token_new
from checkout.urlrules import is_https
from core.models import BusinessEntity, Organization
from core.money import to_str
from customers.models import Customer

URL_FIELDS = ("success_url", "cancel_url", "pending_url")


def checkout_session_build(*, organization: Organization, livemode: bool, terms: SessionTerms) -> CheckoutSession:
    """The open session ``terms`` describe, priced, not saved (reads only): what a create
    inserts, a preview answers, an update re-prices. Raises domain errors (404 for ids outside
    ``organization``, 422 for broken rules) with the offending field path."""
    now = timezone.now()
    if livemode:
        _require_https(terms)
    if terms.checkout_type == CheckoutType.NEW_CONTRACT:
        priced = _new_contract(organization, terms, now, livemode)
    elif terms.checkout_type == CheckoutType.SETUP:
        priced = _setup(organization, terms, now, livemode)
    else:
        priced = _amendment(organization, terms, now, livemode)
    columns = terms.columns(now=now)
    return CheckoutSession(
        organization=organization,
        livemode=livemode,
        token=session_token_new(),
        terms_url=_terms_url(terms, priced["business_entity_id"]),
        **columns,
        **priced,
        **reporting_columns(attribution=columns["attribution"], estimates=priced["estimates"]),
    )


def checkout_session_create(*, organization: Organization, livemode: bool, terms: SessionTerms,
                            held: Held) -> Outcome:
    """Create the session ``terms`` describe, priced and locked, inside the create's idempotency
    block (``held``: the key's claim, or no key): the session and its 201 body are written
    together. Returns what to answer."""
    session = checkout_session_build(organization=organization, livemode=livemode, terms=terms)
    checkout_session_payment_check(session)
    return held.insert(session)


def checkout_session_payment_check(session: CheckoutSession) -> None:
    """The session's card payment must be one its provider can take, unless its money can be paid
    by invoice, so no customer ever reaches a page that cannot take their card: a live session
    that takes a card (money due, or a card kept for the renewals) needs a live provider
    (``LivePaymentProviderMissing``), and Stripe's least charge must be reached by an amount due
    (``AmountBelowProviderMinimum``; nothing due is not a charge). Create, PATCH and the hosted
    page's adjustments check every new price with it."""
    from checkout.mandates import session_saves_card
    from checkout.services.confirm import checkout_session_payment_provider

    current = (session.estimates or {}).get("current_invoice") or {}
    due = Decimal(str(current.get("amount_due", current.get("total", "0"))))
    below_minimum = stripe_below_minimum(due, session.currency)
    if due <= 0 and not (session.livemode and session_saves_card(session, due)):
        return
    if not session.livemode and not below_minimum:  # no provider to look up (nor a query to spend)
        return
    provider = checkout_session_payment_provider(session)
    if provider is not None and not (provider.name == PaymentProviderName.STRIPE and below_minimum):
        return
    if due > 0 and BusinessEntity.objects.filter(pk=session.business_entity_id, allow_invoice_payment=True).exists():
        return
    if provider is not None:
        raise AmountBelowProviderMinimum(stripe_minimum_check(due, session.currency), field="currency")
    if session.livemode:
        raise LivePaymentProviderMissing(field="mode")


def reporting_columns(*, attribution: dict | None, estimates: dict | None) -> dict:
    """The session's reporting columns (``utm_source``, ``utm_campaign``, ``amount_total``: what
    the dashboard and the metrics count) for its ``attribution`` and ``estimates``. Whoever
    writes those writes these (create here; update copies them from its re-priced preview);
    migration 0013 filled older rows with the same rules in SQL."""
    attribution = attribution or {}
    total = ((estimates or {}).get("current_invoice") or {}).get("total")
    return {
        "utm_source": (attribution.get("utm_source") or "")[:100] or None,
        "utm_campaign": (attribution.get("utm_campaign") or "")[:100] or None,
        "amount_total": None if total is None else Decimal(total),
    }


# --- new contracts --------------------------------------------------------------------------


def _new_contract(organization, terms: SessionTerms, now, livemode) -> dict:
    contract = terms.contract
    spec = jsonable(contract)
    customer_id, business_entity_id, entity, buyer = _customer_and_entity(organization, terms)

    plan, plan_choices = None, []
    if contract is not None and not contract["is_plan_based"]:
        quote = _product_based_quote(organization, spec)
        plan_id = None
    else:
        prefix = "contract." if contract is not None else ""
        if contract is not None:
            plan_id, currency, start_date, end_date = (
                contract["plan_id"], contract["currency"], contract.get("start_date"), contract.get("end_date"))
        else:
            plan_id, currency, start_date, end_date = terms.plan_id, terms.currency, terms.start_date, terms.end_date
        plan = _plan(organization, plan_id, field=f"{prefix}plan_id")
        if currency is not None and currency != plan.currency:
            raise CurrencyMismatch(
                f"The plan is billed in {plan.currency}, not {currency}.", field=f"{prefix}currency"
            )
        with _override_products_scoped(organization):
            quote = quote_from_plan(
                plan=plan,
                start_date=start_date or now.date(),
                end_date=end_date,
                overrides=terms.product_overrides,
                field="contract" if contract is not None else "",
            )
        _check_adjustable_lines(plan, terms.product_overrides)
        plan_id = plan.id
        plan_choices = _plan_choices(organization, terms, plan, quote.phases[0].items, field=f"{prefix}plan_id")

    _check_start_window(quote.phases[0].items, quote.start_date, now,
                        field="contract.start_date" if contract is not None else "start_date")
    offer = _discount_offer(organization, livemode, terms, quote.currency, plan_id, now)
    quote = _with_trial_and_discount(quote, _trial_end(terms, plan, quote.start_date), offer)
    tax = checkout_tax_decide(entity=entity, address=buyer.get("address"), tax_info=buyer.get("tax_info"))
    estimates = estimate_new_contract(quote=quote, tax_rate=tax.rate, tax_reason=tax.reason)
    return {
        **_discount_fields(offer),
        "plan_id": plan_id,
        "contract_id": None,
        "customer_id": customer_id,
        "business_entity_id": business_entity_id,
        "currency": quote.currency,
        "start_date": quote.start_date,
        "end_date": quote.end_date,
        "contract_spec": spec,
        "plan_choices": plan_choices,
        "quote": quote.to_json(),
        "estimates": estimates.to_json(),
    }


ADJUSTABLE_MODELS = frozenset({PricingModel.PER_UNIT, PricingModel.TIERED, PricingModel.VOLUME})


def _check_adjustable_lines(plan: PlanSnapshot, overrides) -> None:
    """The lines the customer may change on the page (``adjustable_quantity``, ``optional``):
    an adjustable line is priced per unit (per-unit, tiered or volume: a flat fee or a package
    has no quantity to choose), its bounds lie within the plan item's and hold its initial
    quantity; an optional line is an optional plan item. Every override names a plan item
    (the quote was built from them)."""
    items = {item.product_id: item for item in plan.items}
    for index, override in enumerate(overrides or ()):
        path = f"product_overrides.{index}"
        item = items[str(override["product_id"])]
        if override.get("optional") and not item.is_optional:
            raise ItemNotOptional("The plan item is not optional: the customer cannot remove it.",
                                  field=f"{path}.optional")
        adjustable = override.get("adjustable_quantity") or {}
        if not adjustable.get("enabled"):
            continue
        if item.terms.pricing_model not in ADJUSTABLE_MODELS:
            raise QuantityNotAdjustable(field=f"{path}.adjustable_quantity")
        if adjustable["minimum"] < item.min_quantity:
            raise AdjustableQuantityOutsidePlan(f"Must be at least the plan item's minimum ({item.min_quantity}).",
                                                field=f"{path}.adjustable_quantity.minimum")
        if item.max_quantity is not None and adjustable["maximum"] > item.max_quantity:
            raise AdjustableQuantityOutsidePlan(f"Must be at most the plan item's maximum ({item.max_quantity}).",
                                                field=f"{path}.adjustable_quantity.maximum")
        quantity = override.get("quantity")
        quantity = item.default_quantity if quantity is None else quantity
        if not adjustable["minimum"] <= quantity <= adjustable["maximum"]:
            raise QuantityOutOfBounds(
                f"The quantity ({quantity}) must be within adjustable_quantity's bounds "
                f"({adjustable['minimum']}–{adjustable['maximum']}).", field=f"{path}.quantity")


def _plan_choices(organization, terms: SessionTerms, plan: PlanSnapshot, items, *, field: str) -> list[dict]:
    """The ``plan_choices`` column: each offered plan (the session's ``plan`` among them) with
    its interval and a full period's list price at the session's quantities. Every other choice
    must be the organization's (else 404, like any foreign id), active, in the plan's currency,
    sellable with the session's ``product_overrides``, and bill on its own single cadence. One
    plan read per other choice (at most three)."""
    if not terms.plan_choices:
        return []
    choices, intervals = [], {}
    for index, plan_id in enumerate(terms.plan_choices):
        path = f"plan_choices.{index}"
        if str(plan_id) == str(plan.id):
            choice, choice_items, problem_field = plan, items, field
        else:
            choice = _plan(organization, plan_id, field=path)
            if choice.currency != plan.currency:
                raise CurrencyMismatch(f"The plan is billed in {choice.currency}, not {plan.currency}.", field=path)
            with _override_products_scoped(organization):
                choice_items = quote_items_from_plan(choice, terms.product_overrides)
            problem_field = path
        price = period_price(choice_items, choice.currency)
        if price is None:
            raise PlanIntervalUnclear(field=problem_field)
        if price.months in intervals:
            raise PlanChoicesSameInterval(
                f"plan_choices.{intervals[price.months]} bills on the same cadence.", field=path)
        intervals[price.months] = index
        choices.append({"plan_id": str(choice.id), "name": choice.name, "months": price.months,
                        "period_amount": to_str(price.amount, choice.currency)})
    return choices


def checkout_tax_decide(*, entity: fastsql.EntityRow, address: dict | None, tax_info) -> TaxDecision:
    """The tax rule (``billing.tax``) for a buyer with this billing ``address`` and ``tax_info``
    buying from ``entity``: the estimate, the first invoice and (locked on the contract) every
    renewal use what it decides. A guest whose country is not known yet is priced at home."""
    vat_id = vat_id_for_reverse_charge(seller_country=entity.country, vat_id=eu_vat_id(tax_info))  # VIES, if on
    return tax_decide(seller_country=entity.country, flat_rate=entity.tax_rate,
                      buyer_country=(address or {}).get("country"), buyer_vat_id=vat_id.vat_id,
                      vat_id_unverified=vat_id.unverified)


def _customer_and_entity(organization, terms: SessionTerms):
    """(customer id or None, business entity id, entity, buyer) for a new contract: a guest's
    given entity, else the given one, the customer's own or the organization's default — one
    query. ``buyer``: the address and tax ids the tax rule looks at (the customer's, or what the
    merchant sent for a guest)."""
    entity_id = terms.business_entity_id
    if terms.guest_checkout:
        entity = _business_entity(organization, entity_id)
        return None, entity.id, entity, dict(terms.customer or {})

    row = _customer_row(organization, terms.customer_id)
    if row is None:
        raise CustomerNotFound(field="customer_id")
    customer_id = row.customer_id
    buyer = {"address": row.customer_address, "tax_info": row.customer_tax_info}
    if entity_id is not None:
        entity = _business_entity(organization, entity_id)
    elif row.own_entity_id is not None:
        entity = fastsql.EntityRow(row.own_entity_id, row.own_tax_rate, row.own_address)
    elif row.default_entity_id is not None:
        entity = fastsql.EntityRow(row.default_entity_id, row.default_tax_rate, row.default_address)
    else:
        raise BusinessEntityNotFound(
            "The organization has no default business entity; give business_entity_id.",
            field="business_entity_id",
        )
    return customer_id, entity.id, entity, buyer


def _customer_row(organization, customer_id):
    """(customer id, own entity id, its tax rate, default entity id, its tax rate) or None."""
    return fastsql.customer_entities(organization_id=organization.pk, customer_id=customer_id)


def _business_entity(organization, entity_id) -> fastsql.EntityRow:
    row = fastsql.business_entity(organization_id=organization.pk, entity_id=entity_id)
    if row is None:
        raise BusinessEntityNotFound(field="business_entity_id")
    return row


def _plan(organization, plan_id, *, field: str) -> PlanSnapshot:
    plan = billing_selectors.plan_snapshot_get(organization_id=organization.pk, plan_id=plan_id)
    if plan is None:
        raise PlanNotFound(field=field)
    if plan.status != PlanStatus.ACTIVE:
        raise PlanNotActive(
            f"The plan is {plan.status}; only active plans can be sold.", field=field
        )
    return plan


def _product_based_quote(organization, spec):
    """``spec``: the validated contract as JSON values (ids as strings)."""
    pricing_ids, product_ids = set(), set()
    for phase in spec["phases"]:
        for entry in phase["pricings"]:
            product_ids.add(entry["product_id"])
            if entry.get("pricing_id") is not None:
                pricing_ids.add(entry["pricing_id"])
    pricings = (
        billing_selectors.pricings_get(
            organization_id=organization.pk, pricing_ids=list(pricing_ids)
        )
        if pricing_ids
        else {}
    )
    # Products reached through a catalogue pricing need no second look-up.
    products = {p.product.id: p.product for p in pricings.values()}
    missing = [pid for pid in product_ids if pid not in products]
    if missing:
        products.update(
            billing_selectors.products_get(organization_id=organization.pk, product_ids=missing)
        )
    try:
        return quote_from_contract_spec(spec=spec, pricings=pricings, products=products)
    except UnknownProduct as error:  # not in this organization: 404, like every other id
        raise ProductNotFound(fields=error.fields) from None
    except UnknownPricing as error:
        raise PricingNotFound(fields=error.fields) from None


# --- amendments -----------------------------------------------------------------------------


def _amendment(organization, terms: SessionTerms, now, livemode: bool) -> dict:
    checkout_type = terms.checkout_type
    change_date = terms.start_date or now.date()
    contract = billing_selectors.contract_snapshot_get(
        organization_id=organization.pk,
        contract_id=terms.contract_id,
        on=change_date,
        with_plan_items=checkout_type == CheckoutType.QUANTITY_UPDATE,
    )
    if contract is None or contract.livemode != livemode:  # the other mode's contracts: not found
        raise ContractNotFound(field="contract_id")
    _check_contract_parties(organization, contract, terms)
    if contract.status != ContractStatus.ACTIVE:
        raise ContractNotActive(field="contract_id")
    if contract.end_date is not None and contract.end_date <= now.date():
        raise ContractEnded(f"The contract ended on {contract.end_date}.", field="contract_id")
    if checkout_session_amendment_in_flight(organization_id=organization.pk, contract_id=contract.id):
        raise ContractAmendmentInProgress(field="contract_id")
    if change_date < contract.start_date or (
        contract.end_date is not None and change_date >= contract.end_date
    ):
        raise ChangeDateOutsideContract(
            f"The contract runs from {contract.start_date} to {contract.end_date or 'no end date'}.",
            field="start_date",
        )
    if contract.phase is None:
        raise ChangeDateOutsideContract(
            "The contract has no phase in force on that date.", field="start_date"
        )
    if terms.end_date is not None and terms.end_date != contract.end_date:
        raise RequestInvalid(
            "An amendment runs until the contract ends; leave end_date out.",
            code=CheckoutErrorCode.END_DATE_NOT_ALLOWED,
            field="end_date",
        )
    if terms.currency is not None and terms.currency != contract.currency:
        raise CurrencyMismatch(f"The contract is billed in {contract.currency}.", field="currency")

    overrides = terms.product_overrides
    if checkout_type == CheckoutType.PLAN_SWITCH:
        plan = _plan(organization, terms.plan_id, field="plan_id")
        if plan.currency != contract.currency:
            raise CurrencyMismatch(
                f"The plan is billed in {plan.currency}, the contract in {contract.currency}.",
                field="plan_id",
            )
        if contract.plan_id is not None and str(plan.id) == str(contract.plan_id):
            raise PlanUnchanged(field="plan_id")
        with _override_products_scoped(organization):
            items = quote_items_from_plan(plan, overrides)
        plan_id, name = plan.id, plan.name
    else:
        with _override_products_scoped(organization):
            items = quote_items_for_quantity_update(contract=contract, overrides=overrides)
        plan_id, name = contract.plan_id, "Quantity update"

    _check_start_window(items, change_date, now, field="start_date")
    quote = amendment_quote(
        contract=contract, items=items, change_date=change_date, plan_id=plan_id, name=name
    )
    offer = _discount_offer(organization, livemode, terms, contract.currency, plan_id, now)
    quote = _with_trial_and_discount(quote, None, offer)
    estimates = estimate_contract_change(
        contract=contract, new_items=items, change_date=change_date, discount=quote.discount
    )
    return {
        **_discount_fields(offer),
        "plan_id": plan_id,
        "contract_id": contract.id,
        "customer_id": contract.customer_id,
        "business_entity_id": contract.business_entity_id,
        "currency": contract.currency,
        "start_date": change_date,
        "end_date": contract.end_date,
        "contract_spec": None,
        "contract_version": contract.version,
        "contract_phase_id": contract.phase.id,
        "quote": quote.to_json(),
        "estimates": estimates.to_json(),
    }


# --- trials, discounts and consent ----------------------------------------------------------


def _terms_url(terms: SessionTerms, business_entity_id) -> str:
    """The entity's terms URL when the session collects consent (one read, only then)."""
    if not terms.consent_required:
        return ""
    url = BusinessEntity.objects.filter(pk=business_entity_id).values_list("terms_url", flat=True).first()
    if not url:
        raise TermsOfServiceUrlMissing(field="consent_collection.terms_of_service")
    return url



def _trial_end(terms: SessionTerms, plan: PlanSnapshot | None, start: datetime.date) -> datetime.date | None:
    """The trial's end: ``trial_end``, or ``trial_period_days`` (else the plan's) after the start."""
    if terms.trial_end is not None:
        return terms.trial_end
    days = terms.trial_period_days
    if days is None and plan is not None:
        days = plan.trial_period_days
    return start + datetime.timedelta(days=days) if days else None


def _discount_offer(organization, livemode, terms: SessionTerms, currency, plan_id, now) -> DiscountOffer | None:
    discounts = terms.discounts
    if not discounts:
        return None
    given = discounts[0]
    field = "discounts.0.promotion_code" if "promotion_code" in given else "discounts.0.coupon_id"
    return billing_selectors.discount_offer_get(
        organization_id=organization.pk, livemode=livemode, currency=currency, plan_id=plan_id, now=now,
        coupon_id=given.get("coupon_id"), code=given.get("promotion_code"), field=field)


def _with_trial_and_discount(quote, trial_end, offer: DiscountOffer | None):
    if trial_end is None and offer is None:
        return quote
    try:
        return quote.replace(trial_end=trial_end, discount=offer.discount if offer else None)
    except InvalidDates as error:
        raise InvalidDates(error.message, field="trial_end") from None


def _discount_fields(offer: DiscountOffer | None) -> dict:
    return {"coupon_id": offer.coupon_id if offer else None,
            "promotion_code_id": offer.promotion_code_id if offer else None}


def _check_start_window(items, start: datetime.date, now, *, field: str) -> None:
    problem = start_date_problem(items, start, now.date())
    if problem == "too_early":
        raise StartDateOutsideWindow(
            f"{start} is more than one billing period ago: its first period has ended already.", field=field)
    if problem == "too_late":
        raise StartDateOutsideWindow(
            f"{start} is more than {MAX_START_DAYS_AHEAD} days from today.", field=field)


def _check_contract_parties(organization, contract: ContractSnapshot, terms: SessionTerms) -> None:
    """A given customer_id / business_entity_id must be the contract's. Ids outside the
    organization are 404 like everywhere; the extra look-up happens only on a mismatch."""
    customer_id = terms.customer_id
    if customer_id is not None and str(customer_id) != str(contract.customer_id):
        if not Customer.objects.filter(pk=customer_id, organization_id=organization.pk).exists():
            raise CustomerNotFound(field="customer_id")
        raise ContractCustomerMismatch(field="customer_id")
    entity_id = terms.business_entity_id
    if entity_id is not None and str(entity_id) != str(contract.business_entity_id):
        _business_entity(organization, entity_id)
        raise BusinessEntityMismatch(field="business_entity_id")


# --- setup mode ---------------------------------------------------------------------------


def _setup(organization, terms: SessionTerms, now, livemode: bool) -> dict:
    """A setup session: the customer (and, when given, their contract that still renews) whose
    new card it saves. Nothing is priced: no quote, no estimates."""
    customer_id, business_entity_id, _entity, _buyer = _customer_and_entity(organization, terms)
    currency = None
    if terms.contract_id is not None:
        contract = (Contract.objects.filter(pk=terms.contract_id, organization_id=organization.pk, livemode=livemode)
                    .values("customer_id", "status", "currency", "business_entity_id").first())
        if contract is None:
            raise ContractNotFound(field="contract_id")
        if contract["customer_id"] != customer_id:
            raise ContractCustomerMismatch(field="contract_id")
        if contract["status"] not in RENEWING_STATUSES:
            raise ContractNotActive("The contract no longer renews; there is no card to update.", field="contract_id")
        currency, business_entity_id = contract["currency"], contract["business_entity_id"]
    if currency is None:
        currency = terms.currency or (BusinessEntity.objects.filter(pk=business_entity_id)
                                      .values_list("default_currency", flat=True).first()) or "USD"
    return {
        **_discount_fields(None),
        "plan_id": None,
        "contract_id": terms.contract_id,
        "customer_id": customer_id,
        "business_entity_id": business_entity_id,
        "currency": currency,
        "start_date": now.date(),
        "end_date": None,
        "contract_spec": None,
        "quote": {},
        "estimates": {},
    }


# --- customer and entity reads -----------------------------------------------------------
# In SQL: the ORM spends ~1.5 ms of CPU compiling each of them (measured), more than the
# database spends answering; create's whole budget is 7 queries, auth and idempotency included.


@contextmanager
def _override_products_scoped(organization):
    """An override naming a product outside the plan is 422, unless the product is not the
    organization's at all: then it is 404 like every foreign id (one look-up, on error only)."""
    try:
        yield
    except UnknownProductOverride as error:
        if error.product_id is not None and not billing_selectors.products_get(
            organization_id=organization.pk, product_ids=[error.product_id]
        ):
            raise ProductNotFound(fields=error.fields) from None
        raise


def _require_https(terms: SessionTerms) -> None:
    for name in URL_FIELDS:
        value = getattr(terms, name)
        if value and not is_https(value):
            raise UrlHttpsRequired(field=name)
