"""The sessions' reporting columns (utm_source, utm_campaign, amount_total) follow what create and
update write, so the dashboard's revenue equals the invoices booked."""

import json
from decimal import Decimal

from billing.gateway import CARD_SUCCEEDS, CardDetails
from billing.models import Invoice
from checkout.models import CheckoutSession
from checkout.selectors import conversion_dashboard_get
from checkout.services.confirm import checkout_session_confirm
from checkout.services.create import reporting_columns
from tests.checkout.api.conftest import URL, plan_body


def test_create_writes_attribution_and_total_columns(merchant):
    body = plan_body(merchant, attribution={"utm_source": "google", "utm_campaign": "x" * 500, "utm_medium": "cpc"})
    created = merchant.post(body).json()
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.utm_source == "google"
    assert session.utm_campaign == "x" * 100  # truncated for the index
    assert session.amount_total == Decimal(created["estimates"]["current_invoice"]["total"]) > 0


def test_create_without_attribution_leaves_the_columns_empty(merchant):
    created = merchant.post(plan_body(merchant, attribution={"utm_source": "", "referrer": "https://a.example"}))
    session = CheckoutSession.objects.get(pk=created.json()["id"])
    assert (session.utm_source, session.utm_campaign) == (None, None)


def test_create_with_an_idempotency_key_writes_the_columns_too(merchant):
    """The idempotent path inserts with hand-written SQL (checkout.services.idempotency)."""
    body = plan_body(merchant, attribution={"utm_source": "newsletter", "utm_campaign": "spring"})
    created = merchant.post(body, HTTP_IDEMPOTENCY_KEY="reporting-1").json()
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.utm_source, session.utm_campaign) == ("newsletter", "spring")
    assert session.amount_total == Decimal(created["estimates"]["current_invoice"]["total"])


def test_update_keeps_amount_total_equal_to_the_relocked_estimate(merchant):
    created = merchant.post(plan_body(merchant, attribution={"utm_source": "google"})).json()
    response = merchant.client.patch(f"{URL}/{created['id']}", data=json.dumps({
        "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 8}]}),
        content_type="application/json")
    assert response.status_code == 200, response.content
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.amount_total == Decimal(response.json()["estimates"]["current_invoice"]["total"])
    assert session.amount_total != Decimal(created["estimates"]["current_invoice"]["total"])
    assert session.utm_source == "google"


def test_dashboard_revenue_equals_the_invoices_of_completed_sessions(merchant):
    paid = merchant.post(plan_body(merchant)).json()
    invoiced = merchant.post(plan_body(merchant, product_overrides=[
        {"product_id": str(merchant.seats.id), "quantity": 7}])).json()
    merchant.post(plan_body(merchant))  # stays open: books nothing
    checkout_session_confirm(session_id=invoiced["id"], payment_method="invoice")
    checkout_session_confirm(session_id=paid["id"], card=CardDetails(CARD_SUCCEEDS, exp_month=12, exp_year=2030,
                                                                      cvc="123"))
    invoices = Invoice.objects.filter(checkout_session_id__in=[paid["id"], invoiced["id"]])
    assert invoices.count() == 2
    dashboard = conversion_dashboard_get(livemode=False, organization_id=merchant.organization.pk)
    (usd,) = dashboard.revenue
    assert usd.currency == "USD" and usd.completed == 2
    assert usd.total == sum(invoice.total for invoice in invoices)


def test_reporting_columns_rules():
    assert reporting_columns(attribution=None, estimates={}) == {
        "utm_source": None, "utm_campaign": None, "amount_total": None}
    assert reporting_columns(attribution={"utm_source": "é" * 120, "utm_campaign": ""},
                             estimates={"current_invoice": {"total": "285.78"}, "next_invoice": None}) == {
        "utm_source": "é" * 100, "utm_campaign": None, "amount_total": Decimal("285.78")}
