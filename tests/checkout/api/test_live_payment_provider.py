"""Creating a live session that must take a card needs a live payment provider, unless it can be
paid by invoice (issue #24): the merchant hears it at create, naming the setting, before a
customer reaches a page that cannot take their card."""

import pytest

from billing.payment_settings import payment_settings_save
from checkout.models import CheckoutSession
from core.services import api_key_create
from tests.helpers import api_client_with_key

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(merchant):
    return api_client_with_key(api_key_create(organization=merchant.organization, livemode=True)[1])


def test_creating_a_live_card_session_without_a_live_provider_is_refused_naming_the_setting(merchant, live):
    merchant.entity.allow_invoice_payment = False
    merchant.entity.save(update_fields=["allow_invoice_payment"])

    response = live.post(URL, plan_body(merchant), format="json")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "live_payment_provider_missing"
    assert "live payment settings" in error["message"] and "stripe" in error["message"]
    assert not CheckoutSession.objects.exists()
    # Test mode keeps its built-in test provider.
    assert merchant.post(plan_body(merchant)).status_code == 201


def test_a_live_session_is_created_when_it_can_be_paid_by_invoice_or_by_stripe(merchant, live):
    assert live.post(URL, plan_body(merchant), format="json").status_code == 201  # invoice allowed
    merchant.entity.allow_invoice_payment = False
    merchant.entity.save(update_fields=["allow_invoice_payment"])
    assert live.post(URL, plan_body(merchant), format="json").status_code == 422
    payment_settings_save(organization_id=merchant.organization.pk, livemode=True, provider="stripe",
                          publishable_key="pk_live_x", secret_key="sk_live_x", webhook_secret="whsec_x")
    assert live.post(URL, plan_body(merchant), format="json").status_code == 201
