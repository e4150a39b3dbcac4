"""Admin for renewals (#25, #26): refund a payment from a confirmation page (amount, reason) through
billing.refunds, advance a test clock, refunds and credit notes shown read-only on the invoice and
payment; each action in the audit log and held to the ops roles."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from billing.collection import invoices_collect_due
from billing.models import CreditNote, Invoice, Payment, Refund, TestClock
from billing.renewals import contracts_renew_due
from billing.test_clocks import test_clock_create
from core.models import AuditEntry
from core.roles import ADMIN, FINANCE, SUPPORT, ops_groups_sync

from .renewal_helpers import sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(customer):
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    return Payment.objects.get(invoice__contract=sold.contract, status="succeeded")


@pytest.fixture
def login(client, django_user_model):
    ops_groups_sync(apps)

    def _login(group):
        user = django_user_model.objects.create_user(f"user-{group}", "u@example.com", "pw", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        return client

    return _login


def _refund_url(payment):
    return reverse("admin:billing_payment_refund", args=[payment.pk])


def test_the_confirmation_page_asks_for_amount_and_reason_then_refunds_and_audits(ops_client, paid):
    page = ops_client.get(_refund_url(paid)).content.decode()
    assert "At most $49.00 is left to refund" in page and 'name="amount"' in page and 'name="reason"' in page
    assert not Refund.objects.exists()  # a GET refunds nothing

    response = ops_client.post(_refund_url(paid), {"confirm": "yes", "amount": "10.50", "reason": "duplicate"})
    assert response.status_code == 302 and response["Location"] == reverse("admin:billing_payment_change",
                                                                           args=[paid.pk])
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.source, refund.requested_by, refund.reason) == (
        Decimal("10.5000"), "succeeded", "admin", "ops", "duplicate")
    assert CreditNote.objects.get(refund=refund).amount == Decimal("10.5000")
    entry = AuditEntry.objects.get(object_id=str(paid.pk))
    assert entry.username == "ops" and entry.message == "Refunded $10.50 (succeeded) (via admin) — reason: duplicate"

    ops_client.post(_refund_url(paid), {"confirm": "yes", "amount": "", "reason": "requested_by_customer"})
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("49.0000")
    assert sorted(CreditNote.objects.values_list("amount", flat=True)) == [Decimal("10.5000"), Decimal("38.5000")]


def test_a_refund_above_what_is_left_is_refused_on_the_page(ops_client, paid):
    response = ops_client.post(_refund_url(paid), {"confirm": "yes", "amount": "49.01", "reason": "other"})
    assert response.status_code == 200
    assert "At most 49.00 USD is left to refund." in response.content.decode()
    unconfirmed = ops_client.post(_refund_url(paid), {"amount": "5.00", "reason": "other"})
    assert unconfirmed.status_code == 200
    assert not Refund.objects.exists() and not AuditEntry.objects.filter(object_id=str(paid.pk)).exists()


def test_the_list_action_leads_to_the_confirmation_page(ops_client, paid):
    response = ops_client.post(reverse("admin:billing_payment_changelist"),
                               {"action": "action_refund", "_selected_action": [str(paid.pk)]})
    assert response.status_code == 302 and response["Location"] == _refund_url(paid)
    assert not Refund.objects.exists()


def test_refunds_and_credit_notes_are_shown_read_only_on_the_invoice_and_payment(ops_client, paid):
    ops_client.post(_refund_url(paid), {"confirm": "yes", "amount": "10.50", "reason": "duplicate"})
    invoice = ops_client.get(reverse("admin:billing_invoice_change", args=[paid.invoice_id])).content.decode()
    assert "Credit notes" in invoice and "$10.50" in invoice and "Refunds" in invoice
    payment = ops_client.get(reverse("admin:billing_payment_change", args=[paid.pk])).content.decode()
    assert "$10.50" in payment and "Refund…" in payment and 'name="_save"' not in payment


def test_only_finance_and_admin_may_refund(login, paid):
    client = login(SUPPORT)
    assert client.get(_refund_url(paid)).status_code == 403
    assert client.post(_refund_url(paid), {"confirm": "yes", "amount": "1.00", "reason": "other"}).status_code == 403
    assert "Refund…" not in client.get(reverse("admin:billing_payment_change", args=[paid.pk])).content.decode()
    assert not Refund.objects.exists()
    client = login(FINANCE)
    assert client.post(_refund_url(paid), {"confirm": "yes", "amount": "1.00", "reason": "other"}).status_code == 302
    assert Refund.objects.get().requested_by == f"user-{FINANCE}"


def test_refunds_need_the_csrf_token(django_user_model, paid):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    response = client.post(_refund_url(paid), {"confirm": "yes", "amount": "1.00", "reason": "other"})
    assert response.status_code == 403 and not Refund.objects.exists()


# --- test clocks --------------------------------------------------------------------------------


@pytest.fixture
def clock(customer):
    sold = sell(customer)
    clock = test_clock_create(organization_id=customer.organization_id, customer_id=customer.pk,
                              frozen_time=datetime(2027, 1, 31, 12, tzinfo=UTC))
    return clock, sold


def test_advancing_a_clock_in_admin_renews_its_contracts_and_is_audited(ops_client, clock):
    clock, sold = clock
    url = reverse("admin:billing_testclock_advance", args=[clock.pk])
    page = ops_client.get(url).content.decode()
    assert "2027-02-28 12:00" in page  # a month on (clamped to February's end) is offered
    response = ops_client.post(url, {"confirm": "yes", "frozen_time": "2027-03-01 00:00"})
    assert response.status_code == 302
    clock.refresh_from_db()
    assert clock.frozen_time == datetime(2027, 3, 1, tzinfo=UTC)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert (invoice.status, invoice.total, Payment.objects.get(invoice=invoice).off_session) == (
        "paid", Decimal("49.0000"), True)
    entry = AuditEntry.objects.get(object_id=str(clock.pk))
    assert entry.message == "Advanced from 2027-01-31 12:00 to 2027-03-01 00:00 UTC (via admin)"


def test_a_clock_cannot_go_back(ops_client, clock):
    clock, _sold = clock
    response = ops_client.post(reverse("admin:billing_testclock_advance", args=[clock.pk]),
                               {"confirm": "yes", "frozen_time": "2027-01-01 00:00"})
    assert response.status_code == 200 and "A test clock only moves forward." in response.content.decode()
    assert TestClock.objects.get(pk=clock.pk).frozen_time == datetime(2027, 1, 31, 12, tzinfo=UTC)


def test_only_admins_may_advance_a_clock(login, clock):
    clock, _sold = clock
    url = reverse("admin:billing_testclock_advance", args=[clock.pk])
    for group in (SUPPORT, FINANCE):
        client = login(group)
        assert client.post(url, {"confirm": "yes", "frozen_time": "2027-03-01 00:00"}).status_code == 403
        assert client.get(reverse("admin:billing_testclock_change", args=[clock.pk])).status_code == 200
    assert TestClock.objects.get(pk=clock.pk).frozen_time == datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert login(ADMIN).post(url, {"confirm": "yes", "frozen_time": "2027-03-01 00:00"}).status_code == 302
