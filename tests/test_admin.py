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


@pytest.mark.django_db
def test_ops_create_a_coupon_with_a_promotion_code_in_admin(ops_client, organization, plan_factory):
    from billing.models import Coupon, PromotionCode

    plan = plan_factory(organization=organization)
    url = reverse("admin:billing_coupon_add")
    assert ops_client.get(url).status_code == 200
    form = {
        "organization": organization.pk, "name": "Spring sale", "percent_off": "15", "amount_off": "",
        "currency": "", "duration": "repeating", "duration_in_periods": "3", "valid_from_0": "", "valid_from_1": "",
        "valid_until_0": "", "valid_until_1": "", "max_redemptions": "100", "plans": [plan.pk],
        "promotion_codes-TOTAL_FORMS": "1", "promotion_codes-INITIAL_FORMS": "0",
        "promotion_codes-MIN_NUM_FORMS": "0", "promotion_codes-MAX_NUM_FORMS": "1000",
        "promotion_codes-0-code": "SPRING15", "promotion_codes-0-is_active": "on",
        "promotion_codes-0-valid_until_0": "", "promotion_codes-0-valid_until_1": "",
        "promotion_codes-0-max_redemptions": "",
    }
    response = ops_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    coupon = Coupon.objects.get()
    assert (coupon.percent_off, coupon.duration_in_periods, list(coupon.plans.all())) == (15, 3, [plan])
    code = PromotionCode.objects.get()
    assert (code.code, code.organization_id, code.coupon_id) == ("SPRING15", organization.pk, coupon.pk)

    # Both a percentage and an amount: the form says so instead of failing in the database.
    form.update(name="Broken", amount_off="5", currency="USD", **{"promotion_codes-0-code": "BROKEN"})
    response = ops_client.post(url, form)
    assert response.status_code == 200 and Coupon.objects.count() == 1
