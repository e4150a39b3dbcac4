import datetime
from decimal import Decimal

import factory

from billing.enums import BillingType, DiscountDuration, PlanStatus, PricingModel, Timing
from billing.models import (
    Contract,
    Coupon,
    Invoice,
    InvoiceLine,
    Phase,
    PhaseItem,
    Plan,
    PlanItem,
    Pricing,
    Product,
    PromotionCode,
)
from billing.selectors import terms_from_pricing
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory


def terms_of(pricing: Pricing) -> dict:
    """The locked-terms JSON of a catalogue pricing (as PhaseItem.terms stores it)."""
    return terms_from_pricing(pricing).to_json()


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A product"
    sku = factory.Sequence(lambda n: f"SKU-{n}")


class PricingFactory(factory.django.DjangoModelFactory):
    """Default: per-unit 10.00 USD, monthly, in advance."""

    class Meta:
        model = Pricing

    organization = factory.SubFactory(OrganizationFactory)
    product = factory.SubFactory(ProductFactory, organization=factory.SelfAttribute("..organization"))
    currency = "USD"
    pricing_model = PricingModel.PER_UNIT
    billing = BillingType.RECURRING
    cadence = "P1M"
    timing = Timing.IN_ADVANCE
    unit_amount = Decimal("10.00")
    package_size = None
    tiers = factory.LazyFunction(list)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    code = factory.Sequence(lambda n: f"plan-{n}")
    version = 1
    currency = "USD"
    status = PlanStatus.ACTIVE


class PlanItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanItem

    plan = factory.SubFactory(PlanFactory)
    pricing = factory.SubFactory(
        PricingFactory,
        organization=factory.SelfAttribute("..plan.organization"),
        currency=factory.SelfAttribute("..plan.currency"),
    )
    product = factory.SelfAttribute("pricing.product")
    default_quantity = 1
    min_quantity = 0
    max_quantity = None
    is_optional = False
    position = factory.Sequence(lambda n: n)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    organization = factory.SubFactory(OrganizationFactory)
    customer = factory.SubFactory(CustomerFactory, organization=factory.SelfAttribute("..organization"))
    business_entity = factory.SubFactory(
        BusinessEntityFactory, organization=factory.SelfAttribute("..organization"), is_default=False
    )
    plan = None
    currency = "USD"
    start_date = datetime.date(2026, 1, 1)
    end_date = None


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    contract = factory.SubFactory(ContractFactory)
    name = "Main"
    plan = factory.SelfAttribute("contract.plan")
    start_date = factory.SelfAttribute("contract.start_date")
    end_date = None
    position = 0


class PhaseItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhaseItem

    phase = factory.SubFactory(PhaseFactory)
    pricing = factory.SubFactory(
        PricingFactory,
        organization=factory.SelfAttribute("..phase.contract.organization"),
        currency=factory.SelfAttribute("..phase.contract.currency"),
    )
    product = factory.SelfAttribute("pricing.product")
    quantity = 1
    terms = factory.LazyAttribute(lambda o: terms_of(o.pricing))
    position = 0


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    customer = factory.SelfAttribute("contract.customer")
    currency = "USD"
    period_start = datetime.date(2026, 1, 1)
    period_end = datetime.date(2026, 2, 1)
    subtotal = Decimal("10.00")
    tax = Decimal("0.00")
    total = Decimal("10.00")
    amount_due = Decimal("10.00")


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    name = "Product"
    pricing_model = PricingModel.PER_UNIT
    quantity = Decimal(1)
    unit_amount = Decimal("10.00")
    amount = Decimal("10.00")


class CouponFactory(factory.django.DjangoModelFactory):
    """20 % off the first invoice, unlimited, any plan."""

    class Meta:
        model = Coupon
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = "Spring sale"
    percent_off = Decimal("20")
    amount_off = None
    currency = ""
    duration = DiscountDuration.ONCE
    duration_in_periods = None

    @factory.post_generation
    def plans(self, create, extracted, **kwargs):
        if extracted:
            self.plans.set(extracted)


class PromotionCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromotionCode

    coupon = factory.SubFactory(CouponFactory)
    organization = factory.SelfAttribute("coupon.organization")
    code = factory.Sequence(lambda n: f"SPRING{n}")
