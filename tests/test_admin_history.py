"""Issue #29: nothing that is history can be deleted in admin, by anyone (a superuser
included); contracts change only through the services; customers are anonymised instead."""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.enums import ContractStatus
from billing.models import Contract
from checkout.enums import SessionStatus
from core.errors import DomainError
from customers.services import ANONYMISED_NAME, customer_anonymise
from tests.billing.factories import (
    ContractFactory,
    InvoiceFactory,
    PhaseFactory,
    PhaseItemFactory,
    PricingFactory,
)
from tests.checkout.factories import (
    CheckoutSessionFactory,
    EventFactory,
    IdempotencyRecordFactory,
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from tests.core.factories import ApiKeyFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Every admin-registered model that records what happened (or that history points at).
HISTORY = {
    "checkout.checkoutsession", "checkout.event", "checkout.webhookdelivery", "checkout.idempotencyrecord",
    "checkout.webhookendpoint",  # deleting one would delete its deliveries
    "billing.contract", "billing.phase", "billing.invoice", "billing.couponredemption",
    "core.apikey", "core.organization", "core.auditentry", "customers.customer",
    "billing.payment", "billing.testclock",  # money moved; a clock its contracts and invoices point at
    "billing.billingsettings",  # KeepsHistoryAdminMixin: never deleted
}
# Configuration ops may delete (nothing points at it that must stay, or the database's PROTECT
# refuses the delete while something does), and the libraries' own records.
DELETABLE = {
    "billing.product", "billing.pricing", "billing.plan", "billing.coupon", "billing.paymentsettings",
    "core.businessentity", "auth.user", "auth.group", "otp_totp.totpdevice",
    "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog",
}


def label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def test_every_admin_model_is_classified_history_or_deletable():
    # A new admin screen must be put in one list or the other, deliberately.
    registered = {label(model) for model in admin.site._registry}
    assert registered - HISTORY - DELETABLE == set()


@pytest.mark.parametrize("model", sorted(HISTORY))
def test_history_model_refuses_delete_even_to_a_superuser(ops_client, rf, django_user_model, model):
    model_admin = next(ma for m, ma in admin.site._registry.items() if label(m) == model)
    request = rf.get("/")
    request.user = django_user_model.objects.get(username="ops")
    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


MAKERS = {
    "session": CheckoutSessionFactory, "event": EventFactory, "delivery": WebhookDeliveryFactory,
    "idempotency record": IdempotencyRecordFactory, "endpoint": WebhookEndpointFactory, "contract": ContractFactory,
    "phase": PhaseFactory, "invoice": InvoiceFactory, "api key": ApiKeyFactory, "organization": OrganizationFactory,
    "customer": CustomerFactory,
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_history_row_survives_a_delete_post(ops_client, make):
    obj = make()
    opts = obj._meta
    response = ops_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]),
                               {"post": "yes"})
    assert response.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    ops_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                    {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_webhook_attempts_have_no_admin_and_cannot_be_deleted_from_their_delivery(ops_client):
    attempt = WebhookAttemptFactory()
    inline = [i for i in admin.site._registry[type(attempt.delivery)].inlines]
    assert all(i.can_delete is False for i in inline)
    assert type(attempt) not in admin.site._registry


# --- contracts: read-only, cancelled at period end through the service ---------------------


def monthly_contract(start=datetime.date(2026, 1, 15), **kwargs):
    contract = ContractFactory(start_date=start, **kwargs)
    phase = PhaseFactory(contract=contract, start_date=start)
    PhaseItemFactory(phase=phase, pricing=PricingFactory(cadence="P1M", unit_amount=Decimal("10.00")))
    return contract


def test_contract_page_is_read_only(ops_client):
    contract = monthly_contract()
    url = reverse("admin:billing_contract_change", args=[contract.pk])
    page = ops_client.get(url).content.decode()
    assert page.count("View contract") >= 1 and 'name="_save"' not in page and 'name="currency"' not in page
    assert ops_client.post(url, {"currency": "EUR", "status": "ended"}).status_code == 403
    contract.refresh_from_db()
    assert (contract.currency, contract.status) == ("USD", ContractStatus.ACTIVE)


def test_contract_cancel_at_period_end_action_ends_it_when_its_period_does(ops_client):
    import time_machine

    contract = monthly_contract()
    with time_machine.travel(datetime.datetime(2026, 3, 20, 12, tzinfo=datetime.UTC), tick=False):
        ops_client.post(reverse("admin:billing_contract_changelist"),
                        {"action": "cancel_at_period_end", "_selected_action": [contract.pk]})
    contract.refresh_from_db()
    # Periods from 15 Jan, monthly: the one holding 20 Mar ends on (runs until) 15 Apr.
    assert contract.end_date == datetime.date(2026, 4, 15) and contract.version == 2
    # Again: it already ends then, refused as a message, nothing changes.
    with time_machine.travel(datetime.datetime(2026, 3, 21, 12, tzinfo=datetime.UTC), tick=False):
        response = ops_client.post(reverse("admin:billing_contract_changelist"),
                                   {"action": "cancel_at_period_end", "_selected_action": [contract.pk]},
                                   follow=True)
    assert "already ends on 2026-04-15" in response.content.decode()
    contract.refresh_from_db()
    assert contract.version == 2


def test_contract_cancel_at_period_end_refuses_one_time_only_and_ended_contracts():
    from billing.services import contract_cancel_at_period_end

    contract = ContractFactory(start_date=datetime.date(2026, 1, 15))
    phase = PhaseFactory(contract=contract, start_date=contract.start_date)
    PhaseItemFactory(phase=phase, pricing=PricingFactory(billing="one_time", cadence=""))
    with pytest.raises(DomainError) as error:
        contract_cancel_at_period_end(organization_id=contract.organization_id, contract_id=contract.pk,
                                      today=datetime.date(2026, 2, 1))
    assert error.value.code == "contract_not_cancellable" and error.value.status == 409
    ended = monthly_contract(status=ContractStatus.ENDED)
    with pytest.raises(DomainError):
        contract_cancel_at_period_end(organization_id=ended.organization_id, contract_id=ended.pk)
    assert Contract.objects.get(pk=contract.pk).end_date is None


# --- customers: anonymised, never deleted ---------------------------------------------------


def test_customer_anonymise_erases_personal_fields_and_keeps_invoices(ops_client):
    customer = CustomerFactory(customer_name="Ada Lovelace", email="ada@example.com", phone_number="+441234",
                               external_id="crm-7", address={"line1": "1 St James's Sq"}, tax_info=[{"type": "x"}])
    invoice = InvoiceFactory(customer=customer, organization=customer.organization)
    session = CheckoutSessionFactory(organization=customer.organization, customer=customer,
                                     status=SessionStatus.COMPLETED, customer_details={"email": "ada@example.com"})
    ops_client.post(reverse("admin:customers_customer_changelist"),
                    {"action": "anonymise", "_selected_action": [customer.pk]})
    customer.refresh_from_db()
    session.refresh_from_db()
    assert (customer.customer_name, customer.email, customer.phone_number, customer.external_id) == (
        ANONYMISED_NAME, None, "", None)
    assert customer.address == {} and customer.tax_info == [] and session.customer_details == {"anonymised": True}
    invoice.refresh_from_db()  # the books still add up: the invoice stays, on the same customer
    assert invoice.customer_id == customer.pk and invoice.total == Decimal("10.00")


def test_customer_anonymise_refused_while_a_session_is_open():
    customer = CustomerFactory(customer_name="Ada")
    CheckoutSessionFactory(organization=customer.organization, customer=customer)
    with pytest.raises(DomainError) as error:
        customer_anonymise(organization_id=customer.organization_id, customer_id=customer.pk)
    assert error.value.code == "customer_in_checkout"
    customer.refresh_from_db()
    assert customer.customer_name == "Ada"
