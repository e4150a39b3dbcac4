"""Billing's events (renewals, collection, refunds, saved cards) reach merchants' webhooks through the
same outbox as the sessions': written in the transaction of the change, numbered per object,
delivered in order per object and endpoint, signed, full object in ``data.object``."""

import json
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.utils import timezone

from billing.collection import invoices_collect_due
from billing.models import Invoice, SavedPaymentMethod
from billing.renewals import contracts_renew_due
from checkout.enums import DeliveryStatus
from checkout.models import Event, WebhookDelivery
from checkout.webhooks import delivery as sending
from checkout.webhooks import endpoints, outbox
from tests.billing.renewal_helpers import sell

from .test_webhooks import queued  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _events(**filters) -> list[tuple[str, str, int]]:
    return list(Event.objects.filter(checkout_session__isnull=True, **filters).order_by("created_at", "sequence")
                .values_list("type", "object_type", "sequence"))


def test_a_renewal_and_its_charge_are_events_numbered_per_invoice(customer):
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    invoices_collect_due(now=datetime(2027, 2, 28, 6, tzinfo=UTC), inline=True)

    assert _events(object_id=invoice.pk) == [("invoice.created", "invoice", 1), ("invoice.paid", "invoice", 2)]
    paid = Event.objects.get(object_id=invoice.pk, type="invoice.paid")
    assert paid.payload["object"]["id"] == str(invoice.pk) and paid.payload["object"]["status"] == "paid"
    assert paid.payload["object"]["amount_due"] == "49.00" and paid.livemode is False
    method = SavedPaymentMethod.objects.get()
    assert _events(object_id=method.pk) == [("payment_method.attached", "payment_method", 1)]


def test_a_failed_renewal_tells_the_merchant_when_it_is_retried(customer):
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, 6, tzinfo=UTC), inline=True)
    failed = Event.objects.get(type="invoice.payment_failed")
    assert failed.payload["next_payment_attempt"] == "2027-03-01T06:00:00Z"
    assert failed.payload["failure_code"] == "card_declined" and failed.payload["first_failure"] is True
    past_due = Event.objects.get(type="contract.past_due")
    assert (past_due.object_type, past_due.object_id) == ("contract", sold.contract.pk)
    assert past_due.payload["object"]["status"] == "past_due"


def test_endpoints_subscribe_to_billing_events_and_receive_only_those(customer, queued):  # noqa: F811
    invoices = endpoints.webhook_endpoint_create(organization_id=customer.organization_id,
                                                 url="https://merchant.example/hooks",
                                                 enabled_events=["invoice.paid"])[0]
    sold = sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, 6, tzinfo=UTC), inline=True)
    outbox.events_dispatch_pending(min_age_seconds=0)

    delivered = WebhookDelivery.objects.filter(endpoint=invoices).select_related("event")
    assert [d.event.type for d in delivered] == ["invoice.paid"]
    body = json.loads(sending.event_body(delivered[0].event))
    assert body["type"] == "invoice.paid" and body["data"]["object"]["contract_id"] == str(sold.contract.pk)


def test_an_objects_later_event_waits_while_an_earlier_one_is_being_retried(customer, receiver, queued):  # noqa: F811
    endpoints.webhook_endpoint_create(organization_id=customer.organization_id, url=receiver.url)
    sell(customer)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, 6, tzinfo=UTC), inline=True)
    outbox.events_dispatch_pending(min_age_seconds=0)
    invoice = Invoice.objects.get(billing_reason="renewal")
    created, paid = (WebhookDelivery.objects.get(event__object_id=invoice.pk, event__type=t)
                     for t in ("invoice.created", "invoice.paid"))

    receiver.statuses = [503]
    assert sending.webhook_delivery_attempt(delivery_id=created.pk) == DeliveryStatus.PENDING
    assert sending.webhook_delivery_attempt(delivery_id=paid.pk) == sending.HELD
    WebhookDelivery.objects.filter(pk=created.pk).update(next_attempt_at=timezone.now())
    assert sending.webhook_delivery_attempt(delivery_id=created.pk) == DeliveryStatus.SUCCEEDED
    WebhookDelivery.objects.filter(pk=paid.pk).update(next_attempt_at=timezone.now())
    assert sending.webhook_delivery_attempt(delivery_id=paid.pk) == DeliveryStatus.SUCCEEDED
    sent = [json.loads(r["body"]) for r in receiver.requests]
    assert [(b["type"], b["sequence"]) for b in sent] == [
        ("invoice.created", 1), ("invoice.created", 1), ("invoice.paid", 2)]


def test_billing_events_roll_back_with_the_change(customer):
    sell(customer)
    with pytest.raises(RuntimeError), transaction.atomic():
        contracts_renew_due(today=date(2027, 2, 28))
        raise RuntimeError("the worker died")
    assert not Event.objects.filter(type="invoice.created").exists()
    assert not Invoice.objects.filter(billing_reason="renewal").exists()
