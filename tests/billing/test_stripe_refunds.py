"""Refunds through Stripe (issue #26): ``POST /api/v1/payments/{id}/refunds``, partial then the
rest, reach Stripe (localstripe) as Refunds of the payment's PaymentIntent with the amounts in
cents, each with its credit note on the invoice and a ``payment.refunded`` event; what Stripe
holds is asked of Stripe (its SDK pointed at localstripe), not of our database. Test and live
mode, each with its own keys."""

from decimal import Decimal

import pytest
import stripe

from billing.models import CreditNote, Invoice, Payment, Refund
from checkout.services.confirm import checkout_session_confirm
from tests.billing.api.conftest import Api
from tests.billing.renewal_helpers import EventLog
from tests.checkout.pages.helpers import priced_session

pytestmark = pytest.mark.django_db
MODES = pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])


def _stripe(localstripe, livemode: bool) -> stripe.StripeClient:
    key = "sk_live_local" if livemode else "sk_test_local"
    return stripe.StripeClient(key, base_addresses={"api": localstripe.base})


def _stripe_refunds(localstripe, livemode, intent_id) -> list[dict]:
    """Stripe's Refunds of one PaymentIntent, every page read (localstripe keeps the whole run's)."""
    listed = _stripe(localstripe, livemode).v1.refunds.list(params={"limit": 100})
    return [r.to_dict() for r in listed.auto_paging_iter() if r["payment_intent"] == intent_id]


def _stripe_refunds_of(localstripe, livemode, intent_id) -> list[tuple[int, str, str]]:
    return sorted((r["amount"], r["currency"], r["status"]) for r in _stripe_refunds(localstripe, livemode, intent_id))


@MODES
def test_a_partial_then_a_full_refund_reach_stripe_with_their_amounts(stripe_mode, localstripe, livemode):
    session = priced_session(success_url="https://merchant.example/ok", cancel_url="https://merchant.example/no",
                             livemode=livemode)
    stripe_mode(session.organization, livemode=livemode)
    result = checkout_session_confirm(session_id=session.pk,
                                      payment_method_id=localstripe.card_payment_method("4242424242424242"))
    assert result.outcome == "completed"
    payment = Payment.objects.get(checkout_session=session)
    intent = _stripe(localstripe, livemode).v1.payment_intents.retrieve(payment.provider_reference).to_dict()
    assert (payment.amount, intent["amount"], intent["status"]) == (Decimal("184.0000"), 18400, "succeeded")
    api = Api(session.organization, livemode=livemode)
    events = EventLog()
    try:
        partial = api.post(f"/payments/{payment.pk}/refunds", {"amount": "50.25"})
        assert partial.status_code == 201, partial.content
        assert _stripe_refunds_of(localstripe, livemode, intent["id"]) == [(5025, "usd", "succeeded")]

        rest = api.post(f"/payments/{payment.pk}/refunds", {})
        assert rest.status_code == 201, rest.content
    finally:
        events.close()

    assert [(r.json()["amount"], r.json()["status"], r.json()["livemode"]) for r in (partial, rest)] == [
        ("50.25", "succeeded", livemode), ("133.75", "succeeded", livemode)]
    assert _stripe_refunds_of(localstripe, livemode, intent["id"]) == [
        (5025, "usd", "succeeded"), (13375, "usd", "succeeded")]
    stripe_ids = {r["id"] for r in _stripe_refunds(localstripe, livemode, intent["id"])}
    assert set(Refund.objects.filter(payment=payment).values_list("provider_reference", flat=True)) == stripe_ids
    assert {partial.json()["provider_reference"], rest.json()["provider_reference"]} == stripe_ids

    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("184.0000")
    invoice = Invoice.objects.get(checkout_session=session)
    assert {partial.json()["invoice_id"], rest.json()["invoice_id"]} == {str(invoice.pk)}
    assert list(CreditNote.objects.filter(invoice=invoice).order_by("created_at")
                .values_list("amount", flat=True)) == [Decimal("50.2500"), Decimal("133.7500")]
    assert events.types() == ["payment.refunded", "payment.refunded"]
    assert [e["data"]["refund"]["amount"] for e in events] == ["50.25", "133.75"]
    assert events[-1]["object"]["amount_refunded"] == "184.00" and events[-1]["livemode"] is livemode

    more = api.post(f"/payments/{payment.pk}/refunds", {"amount": "0.01"})
    assert more.status_code == 422 and more.json()["error"]["code"] == "refund_exceeds_payment"
    assert len(_stripe_refunds_of(localstripe, livemode, intent["id"])) == 2  # nothing more reached Stripe
