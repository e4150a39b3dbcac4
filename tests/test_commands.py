import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Contract, Plan, PlanItem, Pricing, Product
from core.models import ApiKey, Organization
from core.services import api_key_authenticate
from customers.models import Customer


def _seed(*args) -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_json_describes_a_working_merchant():
    data = _seed()
    org = Organization.objects.get(pk=data["organization_id"])
    assert set(data) == {"organization_id", "api_key", "business_entity_id", "customers", "products",
                         "plans", "contracts"}
    key = api_key_authenticate(data["api_key"])
    assert key is not None and key.organization_id == org.id
    assert Customer.objects.filter(organization=org, pk__in=data["customers"]).count() == len(data["customers"]) >= 3
    # Every pricing model is on sale, and plans exist monthly/annual in USD and in EUR.
    models = set(Pricing.objects.filter(organization=org).values_list("pricing_model", flat=True))
    assert models == {"flat_fee", "per_unit", "tiered", "volume", "package"}
    plans = Plan.objects.filter(pk__in=data["plans"].values(), status="active")
    assert {(p.currency, p.items.first().pricing.cadence) for p in plans} >= {
        ("USD", "P1M"), ("USD", "P1Y"), ("EUR", "P1M")
    }
    contract = Contract.objects.get(pk=data["contracts"][0])
    assert contract.customer_id.hex in {c.replace("-", "") for c in data["customers"]}
    assert contract.phases.get().items.count() >= 1


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    first = _seed()
    counts = [m.objects.count() for m in (Organization, ApiKey, Customer, Product, Pricing, Plan, PlanItem, Contract)]
    second = _seed()
    assert second == first
    assert counts == [m.objects.count() for m in (Organization, ApiKey, Customer, Product, Pricing, Plan, PlanItem, Contract)]


@pytest.mark.django_db
def test_seed_demo_org_builds_a_separate_tenant():
    a = _seed()
    b = _seed("--org", "Globex")
    assert a["organization_id"] != b["organization_id"] and a["api_key"] != b["api_key"]
    assert not set(a["customers"]) & set(b["customers"])
    assert api_key_authenticate(b["api_key"]).organization.name == "Globex"


@pytest.mark.django_db
def test_create_api_key_prints_a_usable_key_once(organization):
    out = StringIO()
    call_command("create_api_key", "--organization", str(organization.id), stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    assert raw.startswith("sk_test_")
    assert api_key_authenticate(raw).organization_id == organization.id
    out = StringIO()
    call_command("create_api_key", "--organization", str(organization.id), "--live", stdout=out, stderr=StringIO())
    assert out.getvalue().strip().startswith("sk_live_")
    assert ApiKey.objects.filter(organization=organization).count() == 2


@pytest.mark.django_db
def test_create_api_key_unknown_organization_fails():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--organization", "00000000-0000-0000-0000-000000000000")


@pytest.mark.django_db
def test_the_demo_contract_renews_on_its_test_clock_charged_to_the_saved_card():
    from billing.estimates import contract_invoice
    from billing.models import Invoice, Payment
    from billing.selectors import billing_schedules_get

    data = _seed()
    contract = Contract.objects.get(pk=data["contracts"][0])
    assert contract.test_clock_id is not None and contract.default_payment_method is not None
    first = Invoice.objects.get(contract=contract)
    assert contract.next_billing_date is not None and first.status == "paid"
    upcoming = contract_invoice(billing_schedules_get([contract])[contract.pk], day=contract.next_billing_date,
                                discount_invoices=contract.discount_invoices, credit=contract.credit_balance)

    out = StringIO()
    call_command("test_clock_advance", "--months", "1", stdout=out)

    renewal = Invoice.objects.get(contract=contract, billing_reason="renewal")
    assert renewal.invoice_date == contract.next_billing_date and renewal.status == "paid"
    assert renewal.total == upcoming.total < first.total  # a month of the plan, no one-time fee again
    payment = Payment.objects.get(invoice=renewal)
    assert (payment.status, payment.off_session, payment.saved_payment_method_id) == (
        "succeeded", True, contract.default_payment_method_id)
    assert renewal.number.startswith("INV-")  # the customer's number, as on the receipt
    assert f"invoice {renewal.number} of {renewal.invoice_date}: {renewal.total:.2f} USD, paid" in out.getvalue()
    assert "succeeded (•••• 4242)" in out.getvalue()


@pytest.mark.django_db
def test_test_clock_advance_refuses_going_back():
    _seed()
    with pytest.raises(CommandError, match="only moves forward"):
        call_command("test_clock_advance", "--days", "-1", stdout=StringIO())
