"""The demo merchant: everything needed to try every checkout type, built idempotently.

Rows are found by natural keys (organization name, product SKU, plan code, customer
email), so running it again changes nothing. The demo API key is derived from
SECRET_KEY and the organization name so a re-run can print the same working key
even though only its hash is stored.
"""

import datetime
import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.enums import BillingType, InvoiceStatus, PaymentProviderName, PlanStatus, PricingModel, Timing
from billing.estimates import estimate_new_contract, quote_from_plan
from billing.gateway import SavedMethod
from billing.models import Contract, Plan, PlanItem, Pricing, Product, TestClock
from billing.payment_methods import saved_payment_method_attach
from billing.selectors import plan_snapshot_get
from billing.services import contract_create_from_quote, invoice_create_from_estimate
from billing.test_clocks import test_clock_create
from core.models import ApiKey, BusinessEntity, Organization
from core.services import api_key_hash, api_key_split, organization_get_or_create
from customers.models import Customer

DEMO_ORG = "Acme Cloud"

CUSTOMERS = [
    ("Ada Lovelace", "ada@example.com", "+442071234567", "GB"),
    ("Grace Hopper", "grace@example.com", "+12025550123", "US"),
    ("Linus Torvalds", "linus@example.com", "+358401234567", "FI"),
]

# sku: (name, description, pricing kwargs per currency+cadence)
MONTHLY = {"billing": BillingType.RECURRING, "cadence": "P1M", "timing": Timing.IN_ADVANCE}
ANNUAL = {"billing": BillingType.RECURRING, "cadence": "P1Y", "timing": Timing.IN_ADVANCE}
PRODUCTS = {
    "PLATFORM": ("Platform fee", "Access to the platform, billed per period."),
    "SEATS": ("Seats", "Named user seats."),
    "API-CALLS": ("API calls", "Metered API usage, graduated tiers, billed in arrears."),
    "STORAGE": ("Storage (GB)", "Storage, volume pricing: the tier of the total prices every GB."),
    "SMS": ("SMS bundle", "Text messages sold in packs of 100."),
    "ONBOARDING": ("Onboarding", "One-time setup and training."),
}


def _pricings(currency: str) -> list[tuple[str, str, dict]]:
    """(sku, pricing name, Pricing fields) for one currency; amounts scale for annual."""
    return [
        ("PLATFORM", "Platform monthly", {**MONTHLY, "pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("49.00")}),
        ("PLATFORM", "Platform annual", {**ANNUAL, "pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("490.00")}),
        ("SEATS", "Seats monthly", {**MONTHLY, "pricing_model": PricingModel.PER_UNIT, "unit_amount": Decimal("12.00")}),
        ("SEATS", "Seats annual", {**ANNUAL, "pricing_model": PricingModel.PER_UNIT, "unit_amount": Decimal("120.00")}),
        ("API-CALLS", "API calls monthly", {
            "billing": BillingType.RECURRING, "cadence": "P1M", "timing": Timing.IN_ARREARS,
            "pricing_model": PricingModel.TIERED,
            "tiers": [
                {"up_to": 1000, "unit_amount": "0.0100", "flat_amount": "0"},
                {"up_to": 10000, "unit_amount": "0.0080", "flat_amount": "0"},
                {"up_to": None, "unit_amount": "0.0050", "flat_amount": "0"},
            ],
        }),
        ("STORAGE", "Storage monthly", {
            **MONTHLY, "pricing_model": PricingModel.VOLUME,
            "tiers": [
                {"up_to": 100, "unit_amount": "0.50", "flat_amount": "0"},
                {"up_to": 1000, "unit_amount": "0.40", "flat_amount": "5.00"},
                {"up_to": None, "unit_amount": "0.30", "flat_amount": "10.00"},
            ],
        }),
        ("SMS", "SMS packs monthly", {**MONTHLY, "pricing_model": PricingModel.PACKAGE, "unit_amount": Decimal("15.00"), "package_size": 100}),
        ("ONBOARDING", "Onboarding", {"billing": BillingType.ONE_TIME, "cadence": "", "timing": Timing.IN_ADVANCE, "pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("199.00")}),
    ]


# code: (name, currency, [(pricing name, default qty, min, max, optional)])
PLANS = {
    "starter-monthly": ("Starter (monthly)", "USD", [
        ("Platform monthly", 1, 1, 1, False), ("Seats monthly", 3, 1, 10, False),
        ("Onboarding", 1, 0, 1, True),
    ]),
    "growth-monthly": ("Growth (monthly)", "USD", [
        ("Platform monthly", 1, 1, 1, False), ("Seats monthly", 10, 1, 500, False),
        ("API calls monthly", 0, 0, None, False), ("Storage monthly", 100, 0, None, True),
        ("SMS packs monthly", 250, 0, None, True),
    ]),
    "growth-annual": ("Growth (annual)", "USD", [
        ("Platform annual", 1, 1, 1, False), ("Seats annual", 10, 1, 500, False),
    ]),
    "starter-monthly-eur": ("Starter (monthly, EUR)", "EUR", [
        ("Platform monthly", 1, 1, 1, False), ("Seats monthly", 3, 1, 10, False),
    ]),
}


@dataclass
class DemoMerchant:
    organization: Organization
    business_entity: BusinessEntity
    api_key: str
    customers: list[Customer] = field(default_factory=list)
    products: dict[str, Product] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    contracts: list[Contract] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "organization_id": str(self.organization.id),
            "api_key": self.api_key,
            "business_entity_id": str(self.business_entity.id),
            "customers": [str(c.id) for c in self.customers],
            "products": {name: str(p.id) for name, p in self.products.items()},
            "plans": {name: str(p.id) for name, p in self.plans.items()},
            "contracts": [str(c.id) for c in self.contracts],
        }


def demo_api_key(org_name: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-api-key:{org_name}".encode(), hashlib.sha256)
    return "sk_test_" + digest.hexdigest()[:40]


@transaction.atomic
def demo_merchant_seed(*, org_name: str = DEMO_ORG, today: datetime.date | None = None) -> DemoMerchant:
    today = today or timezone.localdate()
    org, entity, _ = organization_get_or_create(name=org_name)
    if entity.tax_rate is None and not entity.email:
        entity.email = "billing@" + org_name.lower().replace(" ", "") + ".example"
        entity.address = {"line1": "1 Demo Way", "city": "San Francisco", "state": "CA",
                          "zip_code": "94105", "country": "US"}
        entity.tax_rate = Decimal("8.2500")
        entity.allow_invoice_payment = True
        entity.save()

    raw_key = demo_api_key(org_name)
    ApiKey.objects.get_or_create(
        key_hash=api_key_hash(raw_key),
        defaults={"organization": org, "prefix": api_key_split(raw_key), "name": "demo"},
    )
    demo = DemoMerchant(organization=org, business_entity=entity, api_key=raw_key)

    for name, email, phone, country in CUSTOMERS:
        customer, _ = Customer.objects.get_or_create(
            organization=org, email=email,
            defaults={"customer_name": name, "phone_number": phone, "business_entity": entity,
                      "address": {"line1": "1 Example Street", "city": "Example City", "country": country}},
        )
        demo.customers.append(customer)

    for sku, (name, description) in PRODUCTS.items():
        demo.products[name], _ = Product.objects.get_or_create(
            organization=org, sku=sku, defaults={"name": name, "description": description}
        )
    by_sku = {p.sku: p for p in demo.products.values()}

    pricings: dict[tuple[str, str], Pricing] = {}
    for currency in ("USD", "EUR"):
        for sku, pricing_name, fields in _pricings(currency):
            pricings[(currency, pricing_name)], _ = Pricing.objects.get_or_create(
                organization=org, product=by_sku[sku], name=pricing_name, currency=currency, defaults=fields
            )

    for code, (name, currency, items) in PLANS.items():
        plan, created = Plan.objects.get_or_create(
            organization=org, code=code, version=1,
            defaults={"name": name, "currency": currency, "status": PlanStatus.ACTIVE},
        )
        if created:
            for position, (pricing_name, qty, lo, hi, optional) in enumerate(items):
                pricing = pricings[(currency, pricing_name)]
                PlanItem.objects.create(
                    plan=plan, product=pricing.product, pricing=pricing, default_quantity=qty,
                    min_quantity=lo, max_quantity=hi, is_optional=optional, position=position,
                )
        demo.plans[name] = plan

    demo.contracts.append(_demo_contract(org, entity, demo.customers[0], demo.plans["Starter (monthly)"], today))
    return demo


def _demo_contract(org, entity, customer, plan, today) -> Contract:
    """An active Starter contract for the first customer, sold as a card checkout sells it (the
    first invoice paid, a test card saved for the renewals), on a test clock set to now: for
    plan-switch and quantity-update sessions, and to watch renewals (``manage.py
    test_clock_advance``)."""
    existing = Contract.objects.filter(organization=org, customer=customer, plan=plan).first()
    if existing:
        return existing
    start = today.replace(day=1)
    quote = quote_from_plan(plan=plan_snapshot_get(organization_id=org.pk, plan_id=plan.pk), start_date=start)
    first = estimate_new_contract(quote=quote, tax_rate=entity.tax_rate).current_invoice.to_json()
    if not TestClock.objects.filter(customer=customer).exists():
        test_clock_create(organization_id=org.pk, customer_id=customer.pk, name="Demo clock")
    contract = contract_create_from_quote(organization_id=org.pk, customer_id=customer.pk,
                                          business_entity_id=entity.pk, quote=quote, first_invoice=first)
    invoice_create_from_estimate(organization_id=org.pk, contract_id=contract.pk, customer_id=customer.pk,
                                 estimate=first, status=InvoiceStatus.PAID)
    saved_payment_method_attach(
        organization_id=org.pk, customer_id=customer.pk, livemode=False, provider=PaymentProviderName.TEST,
        saved=SavedMethod(reference=f"pm_test_succeeds_demo{str(customer.pk)[:8]}", brand="visa", last4="4242",
                          exp_month=12, exp_year=today.year + 3),
        mandate_text="Demo: the customer authorised renewals on this card.", contract_id=contract.pk)
    contract.refresh_from_db()
    return contract
