"""Live mode never collects a card itself (issue #24): without a live provider the hosted page
has no card inputs of ours (only pay by invoice, or a clear "not available"), and the API refuses
to create a live session that must take a card and cannot (tests/checkout/api/test_live_payment_provider.py)."""

import pytest
from django.urls import reverse

from billing.models import Payment
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from tests.checkout.pages.helpers import priced_session

pytestmark = pytest.mark.django_db
CARD_INPUTS = ('name="card_number"', 'name="card_cvc"', 'name="card_expiry"')


def test_a_live_page_without_a_provider_has_no_card_inputs_and_no_pay_button(client):
    session = priced_session(livemode=True, allow_invoice=False)

    html = client.get(reverse("checkout:page", args=[session.token])).content.decode()

    assert not [name for name in CARD_INPUTS if name in html]
    assert "Card payments are not available for this checkout." in html
    assert f"Please contact {session.business_entity.name}" in html
    assert 'data-testid="confirm"' not in html


def test_a_live_page_without_a_provider_offers_pay_by_invoice_only(client):
    session = priced_session(livemode=True, allow_invoice=True)
    page = reverse("checkout:page", args=[session.token])
    html = client.get(page).content.decode()
    assert not [name for name in CARD_INPUTS if name in html]
    assert 'value="invoice"' in html and 'value="card"' not in html
    assert "You can pay by invoice instead." in html

    # A card posted anyway is never read: "card" is not a choice here.
    refused = client.post(page, {"payment_method": "card", "card_number": "4242 4242 4242 4242",
                                 "card_expiry": "12/34", "card_cvc": "123"})
    assert refused.status_code == 422
    assert not Payment.objects.exists()
    assert "4242 4242 4242 4242" not in refused.content.decode()

    done = client.post(page, {"payment_method": "invoice"})
    assert done.status_code == 302
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.COMPLETED
