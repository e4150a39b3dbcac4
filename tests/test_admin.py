import pytest
from django.contrib import admin
from django.urls import reverse

from tests.billing.factories import InvoiceLineFactory, PhaseItemFactory, PlanItemFactory
from tests.checkout.factories import EventFactory, PaymentFactory, WebhookAttemptFactory
from tests.core.factories import ApiKeyFactory


@pytest.mark.django_db
def test_every_model_has_a_working_changelist_and_change_page(ops_client):
    # One row of everything, so each change page renders with real data.
    PlanItemFactory(), PhaseItemFactory(), InvoiceLineFactory(), ApiKeyFactory()
    PaymentFactory(), EventFactory(), WebhookAttemptFactory()
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert ops_client.get(changelist).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert ops_client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_session_search_by_id_and_customer_email(ops_client, checkout_session_factory):
    session = checkout_session_factory()
    other = checkout_session_factory()
    url = reverse("admin:checkout_checkoutsession_changelist")
    body = ops_client.get(url, {"q": str(session.id)}).content.decode()
    assert str(session.id) in body and str(other.id) not in body
    body = ops_client.get(url, {"q": session.customer.email}).content.decode()
    assert str(session.id) in body and str(other.id) not in body
