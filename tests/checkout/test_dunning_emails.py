"""The dunning emails: sent after the failed charge commits, once per step (first failure, the
last retry scheduled), in the customer's language, with the hosted invoice page's link."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.collection import invoices_collect_due
from billing.models import Invoice
from billing.renewals import contracts_renew_due
from checkout.enums import SessionStatus
from checkout.models import HostedInvoice, InvoiceEmail
from checkout.services.invoice_emails import invoice_email_send, invoice_emails_send_pending
from tests.billing.renewal_helpers import sell
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db
FIRST = datetime(2027, 2, 28, tzinfo=UTC)


def _fail(when, callbacks_capture):
    """One collection run at ``when``, its on-commit work run as a commit would."""
    with callbacks_capture(execute=True):
        invoices_collect_due(now=when, inline=True)


def test_first_failure_emails_the_page_link_after_commit_once(customer, django_capture_on_commit_callbacks,
                                                               settings, client):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    with django_capture_on_commit_callbacks() as callbacks:
        invoices_collect_due(now=FIRST, inline=True)
        assert mail.outbox == []  # nothing before the commit
    email_row = InvoiceEmail.objects.get()
    assert (email_row.step, email_row.pending, email_row.to) == ("first_failure", True, customer.email)
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert message.to == [customer.email]
    assert message.subject == f"Your payment of $49.00 to {customer.business_entity.name} did not go through"
    assert "We will try again on Mar 1, 2027." in message.body
    assert f"Invoice {invoice.number} · " in message.body and str(invoice.pk) not in message.body  # #27: numbers
    page = HostedInvoice.objects.get(invoice=invoice)
    assert f"/pay/invoice/{page.token}" in message.body
    email_row.refresh_from_db()
    assert (email_row.pending, email_row.sent_at is not None) == (False, True)
    # A redelivered task and the sweep send nothing more.
    assert invoice_email_send(email_id=email_row.pk) is False
    assert invoice_emails_send_pending(grace_seconds=0) == 0
    assert len(mail.outbox) == 1

    link = re.search(r"https?://\S+/pay/invoice/\S+", message.body).group(0)
    response = client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert response.status_code == 200
    assert "$49.00" in response.content.decode()


def test_each_step_is_emailed_once_across_the_whole_schedule(customer, django_capture_on_commit_callbacks,
                                                              settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    for days in (0, 1, 3, 5, 7):  # the first try and the default retries
        _fail(FIRST + timedelta(days=days), django_capture_on_commit_callbacks)
    steps = list(InvoiceEmail.objects.order_by("created_at").values_list("step", "pending"))
    assert steps == [("first_failure", False), ("last_retry", False)]
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 2
    assert subjects[1].startswith("Last reminder: your payment of $49.00")
    # the last retry was scheduled by the 4th attempt's failure (day 5), for day 7
    assert "We will try one last time on Mar 7, 2027." in mail.outbox[1].body


def test_the_email_is_in_the_language_the_customer_checked_out_in(customer, django_capture_on_commit_callbacks,
                                                                   settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sold = sell(customer, behaviour="authentication_required")
    CheckoutSessionFactory(organization=customer.organization, customer=customer, contract=sold.contract,
                           business_entity=customer.business_entity, status=SessionStatus.COMPLETED,
                           completed_at=timezone.now(), customer_language="de")
    contracts_renew_due(today=date(2027, 2, 28))
    _fail(FIRST, django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert InvoiceEmail.objects.get().language == "de"
    assert message.subject.startswith("Bestätigen Sie Ihre Zahlung"), message.subject
    assert "49,00" in message.body


def test_a_paid_invoice_gets_no_late_reminder_and_a_rollback_records_none(customer):
    sold = sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=FIRST, inline=True)  # on-commit never runs here: the task is "lost"
    email_row = InvoiceEmail.objects.get()
    Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").update(status="paid")
    assert invoice_emails_send_pending(grace_seconds=0) == 0
    assert mail.outbox == []
    email_row.refresh_from_db()
    assert (email_row.pending, email_row.sent_at) == (False, None)


def test_a_customer_without_an_email_gets_none(customer):
    customer.email = None
    customer.save()
    sell(customer, behaviour="charges_fail")
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=FIRST, inline=True)
    assert InvoiceEmail.objects.get().pending is False
    assert invoice_emails_send_pending(grace_seconds=0) == 0 and mail.outbox == []
