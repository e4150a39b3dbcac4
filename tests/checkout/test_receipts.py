"""The customer's email on completion: sent by the worker after commit, once, with the invoice
lines; an invoice for "pay by invoice", a receipt for a card payment."""

import pytest
from django.core import mail

from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm
from checkout.services.receipts import checkout_session_receipt_send, checkout_session_receipts_send_pending
from tests.checkout.pages.helpers import card, priced_session

pytestmark = pytest.mark.django_db


def test_a_card_payment_queues_the_receipt_after_commit_and_it_lists_the_lines(
        django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    session = priced_session(tax_rate=None)
    with django_capture_on_commit_callbacks() as callbacks:
        checkout_session_confirm(session_id=session.pk, card=card())
        assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) >= 1
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    session.refresh_from_db()
    assert message.to == [session.customer.email]
    assert message.subject == f"Your receipt from {session.business_entity.name}"
    assert "This is your receipt." in message.body
    for expected in ("Seats  $36.00", "3 × $12.00", "Platform fee  $49.00", "Onboarding  $99.00",
                     "Amount paid: $184.00", "Next payment: $85.00 on Feb 15, 2026."):
        assert expected in message.body, message.body
    assert (session.receipt_pending, session.receipt_sent_at is not None) == (False, True)
    # A redelivered task sends nothing more.
    assert checkout_session_receipt_send(session_id=session.pk) is False
    assert len(mail.outbox) == 1


def test_pay_by_invoice_sends_the_invoice():
    session = priced_session(tax_rate=None)
    checkout_session_confirm(session_id=session.pk, payment_method="invoice")
    assert checkout_session_receipt_send(session_id=session.pk) is True
    message = mail.outbox[0]
    assert message.subject == f"Invoice from {session.business_entity.name}: $184.00 due"
    assert "This is your invoice" in message.body and "Amount due: $184.00" in message.body
    assert "receipt" not in message.body.lower()


def test_a_customer_without_an_email_gets_none():
    session = priced_session()
    session.customer.email = None
    session.customer.save()
    checkout_session_confirm(session_id=session.pk, card=card())
    session.refresh_from_db()
    assert session.receipt_pending is False
    assert checkout_session_receipts_send_pending(grace_seconds=0) == 0 and mail.outbox == []


def test_the_sweep_sends_receipts_whose_task_was_lost():
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, card=card())  # on-commit task never ran
    assert CheckoutSession.objects.get(pk=session.pk).receipt_pending
    assert checkout_session_receipts_send_pending(grace_seconds=0) == 1
    assert checkout_session_receipts_send_pending(grace_seconds=0) == 0
    assert len(mail.outbox) == 1


def test_the_completed_page_says_invoice_not_receipt_for_pay_by_invoice(client):
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, payment_method="invoice")
    body = client.get(f"/pay/{session.token}").content.decode()
    assert ">Invoice</h2>" in body and ">Receipt</h2>" not in body
    assert f"A copy has been sent to {session.customer.email}." in body
    paid = priced_session()
    checkout_session_confirm(session_id=paid.pk, card=card())
    assert ">Receipt</h2>" in client.get(f"/pay/{paid.token}").content.decode()
