"""Priced sessions built with the real pricing engine, for the hosted-page tests, and the
small helpers those tests share."""

import datetime
import re
from decimal import Decimal

from billing.enums import BillingType, PricingModel, Timing
from billing.estimates import (
    Quote,
    QuoteItem,
    QuotePhase,
    estimate_amendment,
    estimate_new_contract,
)
from billing.gateway import CARD_SETTLES_LATER, CARD_SUCCEEDS, CardDetails
from billing.pricing import PriceTerms
from checkout.enums import CheckoutType
from checkout.models import Event
from tests.billing.factories import (
    ContractFactory,
    PhaseFactory,
    PhaseItemFactory,
    PlanFactory,
    PlanItemFactory,
    terms_of,
)
from tests.checkout.factories import CheckoutSessionFactory
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory

START = datetime.date(2026, 1, 15)
GUEST_DETAILS = {
    "customer_name": "Grace Guest",
    "email": "grace.guest@example.com",
    "phone_number": "+14155550123",
    "address": {"line1": "10 Downing Way", "city": "Springfield", "zip_code": "12345", "country": "US"},
}


def quote_item(pricing, quantity: int) -> QuoteItem:
    return QuoteItem(
        product_id=str(pricing.product_id),
        pricing_id=str(pricing.id),
        name=pricing.product.name,
        description=pricing.product.description,
        quantity=quantity,
        terms=PriceTerms.from_json(terms_of(pricing)),
    )


def plan_with(organization, currency="USD", *specs):
    """A plan whose items are ``(pricing kwargs, quantity)``; returns (plan, [(pricing, qty)])."""
    plan = PlanFactory(organization=organization, currency=currency)
    priced = []
    for kwargs, quantity in specs:
        item = PlanItemFactory(plan=plan, default_quantity=quantity,
                               pricing__currency=currency, **{f"pricing__{k}": v for k, v in kwargs.items()})
        priced.append((item.pricing, quantity))
    return plan, priced


SEATS = ({"pricing_model": PricingModel.PER_UNIT, "unit_amount": Decimal("12.00"),
          "product__name": "Seats"}, 3)
PLATFORM = ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("49.00"),
             "product__name": "Platform fee"}, 1)
ONBOARDING = ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("99.00"),
               "billing": BillingType.ONE_TIME, "cadence": "", "product__name": "Onboarding"}, 1)
API_CALLS = ({"pricing_model": PricingModel.TIERED, "unit_amount": None, "timing": Timing.IN_ARREARS,
              "product__name": "API calls",
              "tiers": [{"up_to": 1000, "unit_amount": "0.0100", "flat_amount": "0"},
                        {"up_to": None, "unit_amount": "0.0050", "flat_amount": "0"}]}, 1500)


def priced_session(*, organization=None, entity=None, guest=False, specs=(SEATS, PLATFORM, ONBOARDING),
                   currency="USD", start=START, end=None, tax_rate=None, allow_invoice=True, trial_end=None,
                   **session_kwargs):
    """An open new-contract session whose quote and estimates come from the real engine.

    Default: 3 seats × 12.00 + platform 49.00 monthly + onboarding 99.00 once = 184.00 today.
    ``trial_end``: a free trial until then (nothing due today but the one-time items, if any).
    """
    organization = organization or OrganizationFactory()
    entity = entity or BusinessEntityFactory(organization=organization, is_default=False, tax_rate=tax_rate,
                                             allow_invoice_payment=allow_invoice, default_currency=currency)
    plan, priced = plan_with(organization, currency, *specs)
    items = tuple(quote_item(pricing, quantity) for pricing, quantity in priced)
    quote = Quote(currency=currency, start_date=start, end_date=end,
                  phases=(QuotePhase(plan.name, start, end, items, plan_id=str(plan.id)),), trial_end=trial_end)
    estimates = estimate_new_contract(quote=quote, tax_rate=entity.tax_rate).to_json()
    kwargs = {
        "organization": organization, "business_entity": entity, "plan": plan, "currency": currency,
        "start_date": start, "end_date": end, "quote": quote.to_json(), "estimates": estimates,
    }
    if guest:
        kwargs.update(guest_checkout=True, customer=None, customer_details=dict(GUEST_DETAILS))
    else:
        kwargs["customer"] = CustomerFactory(organization=organization, business_entity=entity)
    kwargs.update(session_kwargs)
    return CheckoutSessionFactory(**kwargs)


def amendment_session(*, checkout_type=CheckoutType.QUANTITY_UPDATE, change=datetime.date(2026, 2, 1),
                      new_quantity=5, tax_rate=None):
    """A contract (since 15 Jan 2026, 3 seats × 12.00 monthly) and an open session that
    changes it on ``change``: ``quantity_update`` to ``new_quantity`` seats, or
    ``plan_switch`` to a new plan with seats at 20.00."""
    organization = OrganizationFactory()
    entity = BusinessEntityFactory(organization=organization, is_default=False, tax_rate=tax_rate)
    customer = CustomerFactory(organization=organization, business_entity=entity)
    old_plan, [(seats, _q)] = plan_with(organization, "USD", SEATS)
    contract = ContractFactory(organization=organization, customer=customer, business_entity=entity,
                               plan=old_plan, start_date=START)
    phase = PhaseFactory(contract=contract, plan=old_plan, start_date=START)
    PhaseItemFactory(phase=phase, pricing=seats, product=seats.product, quantity=3)
    current = (quote_item(seats, 3),)
    if checkout_type == CheckoutType.PLAN_SWITCH:
        new_plan, [(new_seats, _q)] = plan_with(
            organization, "USD", ({**SEATS[0], "unit_amount": Decimal("20.00"), "product": seats.product}, 3))
        new_items = (quote_item(new_seats, 3),)
        plan = new_plan
    else:
        new_items = (current[0].replace(quantity=new_quantity),)
        plan = old_plan
    quote = Quote(currency="USD", start_date=change, end_date=None,
                  phases=(QuotePhase("Amendment", change, None, new_items, plan_id=str(plan.id)),))
    estimates = estimate_amendment(currency="USD", current_items=current, new_items=new_items,
                                   contract_start=START, contract_end=None, change_date=change,
                                   tax_rate=entity.tax_rate).to_json()
    session = CheckoutSessionFactory(
        organization=organization, business_entity=entity, customer=customer, contract=contract, plan=plan,
        checkout_type=checkout_type, start_date=change, quote=quote.to_json(), estimates=estimates,
    )
    return session, contract, phase


def card(number=CARD_SUCCEEDS) -> CardDetails:
    return CardDetails(number=number, exp_month=12, exp_year=2030, cvc="123")


def event_types(session) -> list[str]:
    """The session's event types, in the order they happened."""
    return list(Event.objects.filter(checkout_session=session).order_by("sequence").values_list("type", flat=True))


def text(response) -> str:
    """The response's HTML with runs of whitespace made one space."""
    return re.sub(r"\s+", " ", response.content.decode())


def processing_session():
    """A priced session whose card settles later: ``processing``, its settle task not queued."""
    from unittest import mock

    from checkout.services.confirm import checkout_session_confirm

    session = priced_session()
    with mock.patch("checkout.tasks.payment_settle.apply_async"):
        checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))
    session.refresh_from_db()
    return session
