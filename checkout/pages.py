"""What the hosted page shows, in words: a view model built from the session's locked
``quote`` and ``estimates`` (JSON already on the row, so no extra queries), with amounts
formatted for the currency and the active locale (babel) and every sentence behind
Django's translation functions.

Nothing here computes money: amounts come from the locked estimate as they are.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop, ngettext, to_locale
from django.utils.translation import gettext as _

from billing.errors import InvalidCadence
from billing.intervals import PeriodPrice, saving
from billing.pricing import cadence_months
from checkout.enums import CheckoutType
from checkout.models import CheckoutSession
from checkout.selectors import phase_plan_name, product_names
from checkout.sessions.terms import quoted_quantities
from checkout.tokens import session_token_well_formed
from core.countries import country_name
from core.db import JoinedRowLoader
from core.lru import LocalLru
from core.money import format_money

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=16)
def _babel_locale(language: str) -> str:
    locale = to_locale(language or "en-us")
    return locale if "_" in locale else {"en": "en_US"}.get(locale, locale)


def current_locale() -> str:
    return _babel_locale(get_language() or "en-us")


# Formatting is pure and the same amounts and dates recur on every render of a session,
# so results are memoized per (value, currency, locale); babel's formatting is the
# costliest part of building the page otherwise.


def money(amount, currency: str) -> str:
    return _money(str(amount), currency, current_locale())


@lru_cache(maxsize=8192)
def _money(amount: str, currency: str, locale: str) -> str:
    return format_money(Decimal(amount), currency, locale)


def price(amount, currency: str) -> str:
    """A unit price: at least the currency's precision, more when the price has it ($0.005)."""
    return _price(str(amount), currency, current_locale())


@lru_cache(maxsize=4096)
def _price(amount: str, currency: str, locale: str) -> str:
    return format_currency(Decimal(amount), currency, locale=locale, decimal_quantization=False)


def day(value: date | str | None) -> str:
    if value in (None, ""):
        return ""
    return _day(value if isinstance(value, str) else value.isoformat(), current_locale())


@lru_cache(maxsize=4096)
def _day(value: str, locale: str) -> str:
    return format_date(date.fromisoformat(value), "medium", locale=locale)


def service_period(start: str | None, end: str | None) -> str:
    """A half-open ``[start, end)`` period as the inclusive dates a person reads."""
    if not start or not end:
        return day(start)
    return _service_period(start, end, current_locale())


@lru_cache(maxsize=4096)
def _service_period(start: str, end: str, locale: str) -> str:
    first, last = date.fromisoformat(start), date.fromisoformat(end) - ONE_DAY
    if last <= first:
        return _day(first.isoformat(), locale)
    return format_interval(first, last, "yMMMd", locale=locale)


def last_day(end: str | None) -> str:
    """The last day of a half-open period ending (exclusive) on ``end``."""
    if not end:
        return ""
    return day(date.fromisoformat(end) - ONE_DAY)


def number(value) -> str:
    return _number(str(value), current_locale())


@lru_cache(maxsize=4096)
def _number(value: str, locale: str) -> str:
    return format_decimal(Decimal(value), locale=locale)


def cadence_words(cadence: str | None) -> str:
    """``P1M`` → "month", ``P3M`` → "3 months", ``P1Y`` → "year"."""
    if not cadence:
        return ""
    try:
        months = cadence_months(cadence)
    except InvalidCadence:
        return cadence
    if months % 12 == 0:
        years = months // 12
        return _("year") if years == 1 else ngettext("%(n)s year", "%(n)s years", years) % {"n": years}
    return _("month") if months == 1 else ngettext("%(n)s month", "%(n)s months", months) % {"n": months}


# --- line items ---------------------------------------------------------------------------


@dataclass
class Line:
    name: str
    amount: str
    is_credit: bool
    quantity_text: str
    period_text: str
    explanation: str
    tiers: list[str] = field(default_factory=list)


def discount_words(discount: dict, currency: str) -> str:
    """"20% off" / "$10.00 off", with the code: "20% off · code SPRING20"."""
    if discount.get("percent_off") is not None:
        off = _("%(percent)s%% off") % {"percent": number(discount["percent_off"])}
    else:
        off = _("%(amount)s off") % {"amount": money(discount["amount_off"], currency)}
    if discount.get("promotion_code"):
        off += " · " + _("code %(code)s") % {"code": discount["promotion_code"]}
    return off


def discount_duration_words(discount: dict) -> str:
    duration = discount.get("duration")
    if duration == "forever":
        return _("Applies to every payment.")
    if duration == "repeating" and (discount.get("duration_in_periods") or 1) > 1:
        n = discount["duration_in_periods"]
        return ngettext("Applies to your first %(n)s payment.", "Applies to your first %(n)s payments.", n) % {"n": n}
    return _("Applies to your first payment.")


def _quantity_text(line: dict, currency: str) -> str:
    model = line.get("pricing_model")
    if line.get("kind") == "discount":
        return discount_words(line.get("discount") or {}, currency)
    if line.get("kind") == "usage" and not line.get("quantity"):
        return _("Billed on your actual usage; none is estimated yet")
    quantity = line.get("quantity") or 0
    unit = line.get("unit_amount")
    if model == "flat_fee":
        return _("Flat fee")
    if model == "per_unit" and unit is not None:
        return _("%(quantity)s × %(price)s") % {"quantity": number(quantity), "price": price(unit, currency)}
    if model == "package" and unit is not None:
        return ngettext("%(quantity)s unit, sold in packages at %(price)s each",
                        "%(quantity)s units, sold in packages at %(price)s each", quantity) % {
            "quantity": number(quantity), "price": price(unit, currency)}
    if model == "volume" and unit is not None:
        return _("%(quantity)s × %(price)s (volume price for this quantity)") % {
            "quantity": number(quantity), "price": price(unit, currency)}
    if model == "tiered":
        return ngettext("%(quantity)s unit, graduated tiers", "%(quantity)s units, graduated tiers",
                        quantity) % {"quantity": number(quantity)}
    return ngettext("%(quantity)s unit", "%(quantity)s units", quantity) % {"quantity": number(quantity)}


def _tier_texts(line: dict, currency: str) -> list[str]:
    if line.get("pricing_model") != "tiered":
        return []
    texts = []
    for tier in line.get("tiers") or []:
        text = _("Units %(first)s–%(last)s: %(quantity)s × %(price)s") % {
            "first": number(tier["first_unit"]), "last": number(tier["last_unit"]),
            "quantity": number(tier["quantity"]), "price": price(tier["unit_amount"], currency)}
        if Decimal(tier.get("flat_amount") or 0):
            text += " " + _("+ %(flat)s flat") % {"flat": price(tier["flat_amount"], currency)}
        texts.append(text)
    return texts


def _explanation(line: dict, currency: str) -> str:
    kind = line["kind"]
    detail = line.get("proration_detail") or {}
    every = cadence_words(line.get("cadence"))
    if kind == "one_time":
        return _("One-time charge.")
    if kind == "discount":
        return discount_duration_words(line.get("discount") or {})
    if kind == "trial":
        return _("Free during your trial, until %(date)s.") % {"date": last_day(line.get("period_end"))}
    if kind == "credit":
        if detail:
            return _("Credit for the %(days)s unused days (of %(period_days)s) of a period already paid, "
                     "at %(full)s per full %(every)s.") % {
                "days": detail["days"], "period_days": detail["period_days"],
                "full": money(detail["full_period_amount"], currency), "every": every}
        return _("Credit for time already paid and not used.")
    if kind == "usage":
        base = _("Billed in arrears, after the period, per %(every)s.") % {"every": every}
    else:
        base = _("Billed in advance, per %(every)s.") % {"every": every}
    if line.get("proration") and detail:
        base += " " + _("Prorated: %(days)s of %(period_days)s days of the period, "
                        "at %(full)s for a full %(every)s.") % {
            "days": detail["days"], "period_days": detail["period_days"],
            "full": money(detail["full_period_amount"], currency), "every": every}
    elif line.get("proration"):
        base += " " + _("Prorated for part of the period.")
    return base


def present_line(line: dict, currency: str) -> Line:
    amount = Decimal(line.get("amount") or 0)
    period = "" if line["kind"] in ("one_time", "discount") else service_period(line.get("period_start"), line.get("period_end"))
    return Line(
        name=line.get("name") or _("Item"),
        amount=money(amount, currency),
        is_credit=amount < 0,
        quantity_text=_quantity_text(line, currency),
        period_text=period,
        explanation=_explanation(line, currency),
        tiers=_tier_texts(line, currency),
    )


# --- invoices -----------------------------------------------------------------------------


@dataclass
class InvoiceView:
    title: str
    caption: str
    lines: list[Line]
    subtotal: str
    tax: str
    tax_label: str
    total: str
    credit_applied: str | None
    amount_due: str
    credit_carried_forward: str | None
    credit_note: str
    tax_note: str = ""  # the reverse-charge mention (billing.tax), translated


def present_invoice(estimate: dict | None, *, title: str) -> InvoiceView | None:
    if not estimate:
        return None
    currency = estimate["currency"]
    credit_applied = Decimal(estimate.get("credit_applied") or 0)
    carried = Decimal(estimate.get("credit_carried_forward") or 0)
    carried_text = money(carried, currency) if carried else None
    return InvoiceView(
        title=title,
        caption=_("Invoice of %(date)s · service %(period)s") % {
            "date": day(estimate.get("invoice_date") or estimate.get("period_start")),
            "period": service_period(estimate.get("period_start"), estimate.get("period_end"))},
        lines=[present_line(line, currency) for line in estimate.get("line_items") or []],
        subtotal=money(estimate["subtotal"], currency),
        tax=money(estimate["tax"], currency),
        tax_label=_tax_label(estimate),
        total=money(estimate["total"], currency),
        credit_applied=money(-credit_applied, currency) if credit_applied else None,
        amount_due=money(estimate.get("amount_due", estimate["total"]), currency),
        credit_carried_forward=carried_text,
        credit_note=(_("%(amount)s of credit is kept on your account for your next invoice.")
                     % {"amount": carried_text}) if carried_text else "",
        # the English note of billing.tax (marked there), translated; a variable, so that the
        # extractor does not take the key for a message
        tax_note=_(note) if (note := estimate.get("tax_note")) else "",
    )


def _tax_label(estimate: dict) -> str:
    """"Tax (8.25%)" for an entity's flat rate; "VAT (19%)" under the EU rule, "VAT 0% (reverse
    charge)" for a business buying from another member state; "… included" for inclusive prices."""
    rate, reason = estimate.get("tax_rate"), estimate.get("tax_reason") or ""
    if reason == "reverse_charge":
        return _("VAT 0% (reverse charge)")
    if reason == "outside_eu":
        return _("VAT 0% (outside the EU)")
    if not rate:
        return _("Tax")
    if reason:
        label = _("VAT (%(rate)s%%)") % {"rate": number(rate)}
    else:
        label = _("Tax (%(rate)s%%)") % {"rate": number(rate)}
    if Decimal(estimate.get("tax_included") or 0) and estimate.get("tax") == estimate.get("tax_included"):
        label = _("%(tax)s, included") % {"tax": label}
    return label


# --- what is bought -----------------------------------------------------------------------


@dataclass
class ItemView:
    name: str
    description: str
    quantity: str
    billing: str


@dataclass
class PhaseView:
    name: str
    period: str
    items: list[ItemView]


@dataclass
class Purchase:
    kind: str
    heading: str
    intro: str
    starts: str
    ends: str
    phases: list[PhaseView]


def _item_quantity(item: dict) -> str:
    """Metered items (billed in arrears on usage) say so instead of "Quantity 0"."""
    quantity = item.get("quantity") or 0
    if (item.get("terms") or {}).get("timing") == "in_arrears" and (item.get("terms") or {}).get("billing") != "one_time":
        if not quantity:
            return _("Billed on usage")
        return _("Billed on usage (estimate: %(quantity)s)") % {"quantity": number(quantity)}
    return _("Quantity %(quantity)s") % {"quantity": number(quantity)}


def _plan_left(session: CheckoutSession) -> str:
    """The name of the plan a plan switch leaves: the plan of the contract's phase in force
    that the switch was priced against (one query)."""
    if not session.contract_phase_id:
        return ""
    return phase_plan_name(phase_id=session.contract_phase_id)


def _billing_words(terms: dict) -> str:
    if (terms or {}).get("billing") == "one_time":
        return _("One-time")
    every = cadence_words(terms.get("cadence"))
    if terms.get("timing") == "in_arrears":
        return _("Every %(every)s, in arrears") % {"every": every}
    return _("Every %(every)s, in advance") % {"every": every}


def present_purchase(session: CheckoutSession) -> Purchase:
    quote = session.quote or {}
    plan_name = session.plan.name if session.plan_id and session.plan else ""
    start = quote.get("start_date") or session.start_date.isoformat()
    end = quote.get("end_date")
    if session.checkout_type == CheckoutType.PLAN_SWITCH:
        kind = _("Plan change")
        heading = _("Switch to %(plan)s") % {"plan": plan_name} if plan_name else _("Plan change")
        leaving = _plan_left(session)
        if leaving:
            intro = _("You are leaving %(old)s for %(new)s on %(date)s. Time already paid on %(old)s is "
                      "credited.") % {"old": leaving, "new": plan_name or _("the new plan"), "date": day(start)}
        else:
            intro = _("Your subscription changes on %(date)s. Time already paid on the current plan is "
                      "credited.") % {"date": day(start)}
    elif session.checkout_type == CheckoutType.QUANTITY_UPDATE:
        kind = _("Quantity change")
        heading = _("Update your subscription")
        intro = _("The new quantities apply from %(date)s. Time already paid is credited.") % {"date": day(start)}
    else:
        kind = _("New subscription")
        heading = plan_name or _("Your subscription")
        intro = _("Starts on %(date)s.") % {"date": day(start)}
        if quote.get("trial_end"):
            intro = trial_words(quote["trial_end"], (session.estimates or {}).get("next_invoice"))
    phases = []
    for phase in quote.get("phases") or []:
        items = [
            ItemView(
                name=item.get("name") or "",
                description=item.get("description") or "",
                quantity=_item_quantity(item),
                billing=_billing_words(item.get("terms") or {}),
            )
            for item in phase.get("items") or []
        ]
        phase_end = phase.get("end_date")
        period = (_("%(start)s to %(end)s") % {"start": day(phase["start_date"]), "end": day(phase_end)}
                  if phase_end else _("From %(start)s") % {"start": day(phase["start_date"])})
        phases.append(PhaseView(name=phase.get("name") or "", period=period, items=items))
    return Purchase(
        kind=kind,
        heading=heading,
        intro=intro,
        starts=day(start),
        ends=day(end) if end else _("Renews automatically until cancelled"),
        phases=phases,
    )


def trial_words(trial_end: str, first_paid: dict | None) -> str:
    """The trial in a sentence: until when it is free and what the first payment is."""
    if first_paid:
        return _("Your free trial runs until %(last)s. Nothing is charged today: your first payment of "
                 "%(amount)s is due on %(date)s unless you cancel before then.") % {
            "last": last_day(trial_end), "amount": money(first_paid["amount_due"], first_paid["currency"]),
            "date": day(first_paid["invoice_date"])}
    return _("Your free trial runs until %(last)s. Nothing is charged today.") % {"last": last_day(trial_end)}


@dataclass
class PromotionView:
    """The promotion code box of the open page; every text translated here, so the template
    needs no translation tags."""

    url: str
    label: str
    apply_label: str
    remove_label: str
    applied: str
    applied_note: str
    value: str
    error: str


def present_promotion(session: CheckoutSession, url: str, *, value: str = "", error: str = "") -> PromotionView | None:
    if not session.allow_promotion_codes:
        return None
    discount = (session.quote or {}).get("discount")
    return PromotionView(
        url=url,
        label=_("Promotion code"),
        apply_label=_("Apply"),
        remove_label=_("Remove code"),
        applied=(_("Code %(code)s applied: %(off)s.") % {
            "code": discount.get("promotion_code") or discount.get("name"),
            "off": discount_words({**discount, "promotion_code": None}, session.currency)}) if discount else "",
        applied_note=discount_duration_words(discount) if discount else "",
        value=value,
        error=error,
    )


@dataclass
class PlanOptionView:
    value: str
    label: str
    price: str
    saving: str
    checked: bool


@dataclass
class PlanChoicesView:
    """The billing-interval switch ("Billed monthly / Billed yearly") of the open page."""

    url: str
    legend: str
    button_label: str
    note: str
    options: list[PlanOptionView]
    error: str


def present_plan_choices(session: CheckoutSession, url: str, *, error: str = "") -> PlanChoicesView | None:
    """The plans the merchant offers (``session.plan_choices``, priced when the session was
    locked), labelled by interval, with what the longer ones save a year against the shortest
    (``billing.intervals.saving``: list prices, before trial, discount and tax)."""
    choices = session.plan_choices or []
    if len(choices) < 2:
        return None
    currency = session.currency
    prices = {c["plan_id"]: PeriodPrice(c["months"], Decimal(c["period_amount"])) for c in choices}
    shortest = min(prices.values(), key=lambda p: p.months)
    options = []
    for choice in sorted(choices, key=lambda c: c["months"]):
        price = prices[choice["plan_id"]]
        saved = saving(shortest, price, currency) if price is not shortest else None
        options.append(PlanOptionView(
            value=choice["plan_id"],
            label=interval_words(price.months),
            price=_period_price_words(money(price.amount, currency), price.months),
            saving=(_("Save %(amount)s a year (%(percent)s)") % {
                "amount": money(saved.amount, currency),
                "percent": format_percent(Decimal(saved.percent) / 100, locale=current_locale())}) if saved else "",
            checked=str(session.plan_id) == choice["plan_id"],
        ))
    return PlanChoicesView(
        url=url,
        legend=_("Billing interval"),
        button_label=_("Update price"),
        note=_("Prices before tax and discounts."),
        options=options,
        error=error,
    )


@dataclass
class QuantityLineView:
    name: str  # the input's name: quantity_<product id>
    id: str
    label: str
    value: int
    minimum: int
    maximum: int
    hint: str
    error: str


@dataclass
class AddonView:
    name: str  # addon_<product id>
    id: str
    label: str
    checked: bool
    error: str


@dataclass
class AdjustItemsView:
    """The lines the customer may change on the open page: quantities (``adjustable_quantity``)
    and add-ons (``optional``)."""

    url: str
    legend: str
    button_label: str
    quantities: list[QuantityLineView]
    addons: list[AddonView]
    error: str  # about no one input (a forged line)


def present_adjustable_items(session: CheckoutSession, url: str, *, error_field: str = "",
                             error: str = "") -> AdjustItemsView | None:
    """The page's "Your items" box, or None when the merchant lets nothing be changed. Values
    are the locked quote's (a refused change leaves them as they were)."""
    overrides = session.product_overrides or []
    adjustable = [o for o in overrides if (o.get("adjustable_quantity") or {}).get("enabled")]
    optional = [o for o in overrides if o.get("optional")]
    if not adjustable and not optional:
        return None
    current = quoted_quantities(session.quote)
    names = {str(item["product_id"]): item["name"]
             for phase in (session.quote or {}).get("phases") or () for item in phase["items"]}
    missing = {str(o["product_id"]) for o in adjustable + optional} - set(names)
    names.update(product_names(organization_id=session.organization_id, product_ids=missing))
    quantities = []
    for line in adjustable:
        product_id, bounds = str(line["product_id"]), line["adjustable_quantity"]
        name = f"quantity_{product_id}"
        quantities.append(QuantityLineView(
            name=name, id=f"id_{name}", label=_("Quantity of %(product)s") % {"product": names.get(product_id, "")},
            value=current.get(product_id, line.get("quantity") or bounds["minimum"]),
            minimum=bounds["minimum"], maximum=bounds["maximum"],
            hint=_("From %(minimum)d to %(maximum)d") % {"minimum": bounds["minimum"], "maximum": bounds["maximum"]},
            error=error if error_field == name else ""))
    addons = []
    for line in optional:
        product_id = str(line["product_id"])
        name = f"addon_{product_id}"
        addons.append(AddonView(name=name, id=f"id_{name}",
                                label=_("Add %(product)s") % {"product": names.get(product_id, "")},
                                checked=product_id in current, error=error if error_field == name else ""))
    shown = {line.name for line in quantities} | {addon.name for addon in addons}
    return AdjustItemsView(url=url, legend=_("Your items"), button_label=_("Update price"), quantities=quantities,
                           addons=addons, error=error if error and error_field not in shown else "")


def interval_words(months: int) -> str:
    """"Billed monthly", "Billed yearly", … for a plan billing every ``months`` months."""
    if months == 1:
        return _("Billed monthly")
    if months == 12:
        return _("Billed yearly")
    if months == 3:
        return _("Billed quarterly")
    if months % 12 == 0:
        return ngettext("Billed every %(count)d year", "Billed every %(count)d years", months // 12) % {
            "count": months // 12}
    return ngettext("Billed every %(count)d month", "Billed every %(count)d months", months) % {"count": months}


def _period_price_words(amount: str, months: int) -> str:
    if months == 1:
        return _("%(amount)s a month") % {"amount": amount}
    if months == 12:
        return _("%(amount)s a year") % {"amount": amount}
    return ngettext("%(amount)s every %(count)d month", "%(amount)s every %(count)d months", months) % {
        "amount": amount, "count": months}


def present_address(address: dict | None) -> list[str]:
    """Address lines as people read them: "Austin, TX 73301", then the country's name."""
    address = address or {}
    lines = [address.get(key) for key in ("line1", "line2", "line3")]
    region = " ".join(p for p in (address.get("state"), address.get("zip_code")) if p)
    lines.append(", ".join(p for p in (address.get("city"), region) if p))
    country = address.get("country")
    if country:
        lines.append(_country_name(country))
    return [line for line in lines if line]


def _country_name(code: str) -> str:
    return country_name(code, current_locale())


# --- domain errors, in the customer's words -----------------------------------------------

# Domain errors carry English messages (the API answers with them); the messages the hosted
# page can show are listed here for the catalogues, and the page translates them on display.
# A message not in the catalogue (a new one, or one with a detail in it) stays as it is.
PAGE_ERROR_MESSAGES = (
    gettext_noop("The tax for your billing details changes the total. Check the new total, then "
                 "confirm again."),
    gettext_noop("This code is not valid."),
    gettext_noop("This code has expired."),
    gettext_noop("This code is not valid at this time."),
    gettext_noop("This code has been used the maximum number of times."),
    gettext_noop("This code has just been used for the last time. Remove it to continue at the full price."),
    gettext_noop("This discount has just been used for the last time. Remove it to continue at the full "
                 "price."),
    gettext_noop("This merchant does not accept payment by invoice."),
    gettext_noop("This code cannot be used for this plan."),
    gettext_noop("This discount cannot be used for this purchase."),
    gettext_noop("This checkout does not accept promotion codes."),
    gettext_noop("The checkout session has expired."),
    gettext_noop("The checkout session has no locked estimate to confirm."),
    gettext_noop("The locked estimate is inconsistent and cannot be billed."),
    gettext_noop("The contract changed after this checkout session was priced; a new checkout session is needed."),
    gettext_noop("The contract cannot be amended on this date."),
    gettext_noop("The contract has ended and cannot be amended."),
    gettext_noop("Another change to this contract has a payment being processed; wait for it to settle, "
                 "then open a new checkout session."),
    gettext_noop("Card payments are not available for this checkout; pay by invoice or contact the merchant."),
    gettext_noop("This payment method is not available for this checkout session."),
    gettext_noop("Card details are required to pay by card."),
    gettext_noop("A guest checkout needs the customer's name."),
    gettext_noop("The payment did not go through."),
    gettext_noop("This plan is not offered in this checkout."),
    gettext_noop("This item cannot be changed in this checkout."),
    gettext_noop("The card processor cannot charge this amount in this currency."),
)


def page_error(error) -> str:
    """A domain error's message for the page, in the active language. A message with a detail in
    it ("This code is for purchases in EUR.") is in no catalogue: outside English the page says
    the error's own general wording instead, when that one is translated."""
    if not error.message:
        return ""
    translated = _(error.message)
    general = type(error).message
    if translated == error.message and general != error.message and not get_language().startswith("en"):
        if (translated_general := _(general)) != general:
            return translated_general
    return translated


# --- the rendered open page, cached ------------------------------------------------------


# Stand-in for the CSRF token in a cached page; each response gets its own token.
CSRF_PLACEHOLDER = "__csrf_token_placeholder__"
open_page_cache = LocalLru(size=256, ttl=60.0)


def open_page_key(session_id, updated_at) -> tuple:
    """A GET of an open session renders the same HTML (but for the CSRF token) until the
    session changes: ``quote`` and ``estimates`` are locked at creation and every transition
    moves ``updated_at``. Edits elsewhere (the merchant's entity name, the customer's
    address) show within the cache's 60 seconds."""
    return (session_id, updated_at, get_language())


@dataclass(frozen=True)
class PageProbe:
    id: object
    status: str
    updated_at: object
    expires_at: object
    success_url: str
    pending_url: str
    cancel_url: str
    locale: str


_PROBE = JoinedRowLoader(CheckoutSession, by=("token",), fields=(
    "id", "status", "updated_at", "expires_at", "success_url", "pending_url", "cancel_url", "locale"))


def page_probe(token: str) -> PageProbe | None:
    """What a GET needs to serve a cached open page: one indexed row, no joins, no JSON.

    A fixed statement on purpose: building the ORM query and its four model instances cost
    more than the whole cached response. A miss (or any state but a live open session) goes
    on to the full selector, which also applies read-time expiry.
    """
    row = _PROBE.values(token) if session_token_well_formed(token) else None
    return None if row is None else PageProbe(*row)


def open_page_cached(probe: PageProbe) -> str | None:
    """The cached HTML of an open, unexpired session, or None."""
    if probe.status != "open" or probe.expires_at <= timezone.now():
        return None
    return open_page_cache.get(open_page_key(probe.id, probe.updated_at))
