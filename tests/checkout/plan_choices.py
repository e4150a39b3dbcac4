"""A yearly twin of the API fixtures' Starter plan, for the plan-choice tests (API, pages,
browser)."""

from decimal import Decimal

from tests.billing.factories import PlanFactory, PlanItemFactory, PricingFactory

# Starter monthly (tests.checkout.api.conftest): platform 49.00 + 3 seats × 12.00 = 85.00 a month
# (1020.00 a year), onboarding 199.00 once; tax 10 %.
# Starter yearly (here): platform 490.00 + 3 seats × 120.00 = 850.00 a year: saves 170.00 (16 %).


def yearly_plan(m, *, currency="USD", name="Starter yearly"):
    """The merchant's Starter billed yearly (same products, same bounds)."""
    org = m.organization
    plan = PlanFactory(organization=org, name=name, currency=currency)
    PlanItemFactory(plan=plan, product=m.platform, pricing=PricingFactory(
        organization=org, product=m.platform, currency=currency, pricing_model="flat_fee", cadence="P1Y",
        unit_amount=Decimal("490.00")), default_quantity=1, min_quantity=1, max_quantity=1, position=0)
    PlanItemFactory(plan=plan, product=m.seats, pricing=PricingFactory(
        organization=org, product=m.seats, currency=currency, cadence="P1Y", unit_amount=Decimal("120.00")),
        default_quantity=3, min_quantity=1, max_quantity=50, position=1)
    if currency == "USD":
        PlanItemFactory(plan=plan, product=m.onboarding, pricing=m.onboarding_pricing, default_quantity=1,
                        min_quantity=0, max_quantity=1, is_optional=True, position=2)
    return plan
