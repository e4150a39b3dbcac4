"""From the checkout to the billing API: the card a checkout saved is named by its
checkout_session.completed event, listed as the customer's default, is the contract's renewal
method, and the checkout's payment can be refunded through the API with a credit note on the
first invoice."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from billing.models import CreditNote, Invoice, Payment
from checkout.enums import EventType
from checkout.models import Event
from checkout.webhooks import delivery as sending
from checkout.webhooks import outbox
from tests.checkout.api.conftest import URL, build_merchant, plan_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _january_2026():
    # The session API prices start dates around today; its sample dates are in January 2026.
    with time_machine.travel(datetime.datetime(2026, 1, 10, 9, tzinfo=datetime.UTC), tick=True):
        yield


def test_the_saved_card_is_named_by_the_event_is_the_default_and_the_payment_refunds():
    merchant = build_merchant("Acme")
    created = merchant.post(plan_body(merchant)).json()
    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                              path=f"{URL}/{created['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.content

    outbox.events_dispatch_pending(min_age_seconds=0)
    completed = sending.event_envelope(Event.objects.get(checkout_session_id=created["id"], type=EventType.COMPLETED))
    saved_id = completed["data"]["saved_payment_method_id"]

    methods = merchant.get(f"/api/v1/customers/{merchant.customer.pk}/payment-methods").json()["data"]
    assert [(m["id"], m["is_default"], m["card"]["last4"]) for m in methods] == [(saved_id, True, "4242")]
    assert methods[0]["mandate"]["text"]  # what the customer agreed to, recorded

    contract_id = confirmed.json()["contract_id"]
    contract = merchant.get(f"/api/v1/contracts/{contract_id}").json()
    assert contract["default_payment_method"]["id"] == saved_id

    invoice = Invoice.objects.get(checkout_session_id=created["id"])
    shown = merchant.get(f"/api/v1/invoices/{invoice.pk}").json()
    [payment] = shown["payments"]
    assert (payment["amount"], payment["status"], payment["payment_method_id"]) == (
        shown["total"], "succeeded", saved_id)

    refund = merchant.post({"amount": "0.01"}, path=f"/api/v1/payments/{payment['id']}/refunds")
    assert refund.status_code == 201 and refund.json()["invoice_id"] == str(invoice.pk)
    assert CreditNote.objects.get(invoice=invoice).amount == Decimal("0.0100")
    assert Payment.objects.get(pk=payment["id"]).amount_refunded == Decimal("0.0100")
