"""The dunning policy ops edit in admin: validated (increasing days, 1–10 retries, within 60
days), applied by collection, and each attempt visible on the invoice in admin."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from billing.collection import invoices_collect_due
from billing.dunning import billing_settings_save, retry_schedule_problem
from billing.errors import DunningPolicyInvalid
from billing.models import BillingSettings, Invoice, Payment
from billing.renewals import contracts_renew_due

from .renewal_helpers import sell

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "ok"), [
    ([1, 3, 5, 7], True), ([2], True), (list(range(1, 11)), True), ([10, 60], True),
    ([], False), (list(range(1, 12)), False), ([3, 3], False), ([5, 2], False), ([0, 2], False),
    ([1, 61], False), (["1"], False), ([1.5], False),
])
def test_retry_schedule_problem_accepts_only_increasing_days_within_limits(days, ok):
    assert (retry_schedule_problem(days) is None) is ok


def test_billing_settings_save_refuses_a_bad_schedule_with_its_code(organization):
    with pytest.raises(DunningPolicyInvalid) as raised:
        billing_settings_save(organization_id=organization.pk, retry_schedule_days=[4, 2], final_action="cancel")
    assert raised.value.code == "dunning_policy_invalid"
    assert "retry_schedule_days" in raised.value.fields
    assert not BillingSettings.objects.filter(organization=organization).exists()


def _form(organization, days, action="unpaid"):
    return {"organization": organization.pk, "retry_days": days, "final_action": action}


def test_ops_set_the_policy_in_admin_and_collection_follows_it(ops_client, customer):
    organization = customer.organization
    add = reverse("admin:billing_billingsettings_add")
    page = ops_client.get(add).content.decode()
    assert 'value="1, 3, 5, 7"' in page  # the default, proposed

    refused = ops_client.post(add, _form(organization, "5, 2"))
    assert refused.status_code == 200
    assert "Each retry must come after the one before it" in refused.content.decode()
    refused = ops_client.post(add, _form(organization, "1, 90"))
    assert "within 60 days" in refused.content.decode()
    assert not BillingSettings.objects.exists()

    response = ops_client.post(add, _form(organization, "2, 4"))
    assert response.status_code == 302
    policy = BillingSettings.objects.get(organization=organization)
    assert (policy.retry_schedule_days, policy.final_action) == ([2, 4], "unpaid")

    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    first = datetime(2027, 2, 28, tzinfo=UTC)
    for when in (first, first + timedelta(days=2), first + timedelta(days=4)):
        invoices_collect_due(now=when, inline=True)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    attempts = list(Payment.objects.filter(invoice=invoice).order_by("created_at"))
    assert [(p.status, p.failure_code, p.next_retry_at) for p in attempts] == [
        ("failed", "card_declined", first + timedelta(days=2)),
        ("failed", "card_declined", first + timedelta(days=4)),
        ("failed", "card_declined", None),
    ]
    sold.contract.refresh_from_db()
    assert sold.contract.status == "unpaid"

    change = ops_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert "payment attempts" in change.lower()
    assert change.count("card_declined") == 3
    assert f"invoice-{invoice.pk}-3" in change

    edit = reverse("admin:billing_billingsettings_change", args=[policy.pk])
    assert 'value="2, 4"' in ops_client.get(edit).content.decode()
    assert ops_client.post(edit, _form(organization, "1, 2, 3", "cancel")).status_code == 302
    policy.refresh_from_db()
    assert (policy.retry_schedule_days, policy.final_action) == ([1, 2, 3], "cancel")
