"""The dunning emails: at a renewal's first failed charge, and when its last retry is scheduled,
the customer gets an email in their language with the link to the hosted invoice page (pay now,
with the saved card or another, or confirm the payment their bank asked about).

Exactly once per step: ``invoice_emails_record`` (a receiver of billing's events, so it runs in
the transaction that failed the charge) inserts one ``InvoiceEmail`` row per invoice and step
(unique) and queues its send after commit; ``invoice_email_send`` locks the row, sends, and marks
it sent in the same transaction, so a redelivered task sends nothing; the sweep
(``invoice_emails_send_pending``) sends the rows whose task was lost. A charge that rolls back
leaves no row and no email.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.enums import BillingEventType, InvoiceStatus
from billing.models import Invoice, Payment
from checkout import effects
from checkout.enums import SessionStatus
from checkout.i18n import page_language
from checkout.models import CheckoutSession, HostedInvoice, InvoiceEmail, InvoiceEmailStep
from checkout.pages import day, money
from checkout.tokens import invoice_token_new

logger = logging.getLogger(__name__)

AUTHENTICATION_REQUIRED = "authentication_required"


def invoice_emails_record(sender=None, *, events: list[dict], **kwargs) -> list[InvoiceEmail]:
    """For each ``invoice.payment_failed`` that is a first failure or schedules the last retry,
    the email of that step (once: a step already recorded is left alone), sent after commit."""
    made = []
    for event in events:
        if str(event["type"]) != BillingEventType.INVOICE_PAYMENT_FAILED:
            continue
        data = event.get("data") or {}
        step = (InvoiceEmailStep.FIRST_FAILURE if data.get("first_failure")
                else InvoiceEmailStep.LAST_RETRY if data.get("last_retry") else None)
        if step is None:
            continue
        email = _record(event["object"]["id"], step)
        if email is not None:
            made.append(email)
            if email.pending:
                effects.effect_enqueue_on_commit(effects.INVOICE_EMAIL_SEND, email_id=str(email.pk))
    return made


def _record(invoice_id, step: str) -> InvoiceEmail | None:
    invoice = Invoice.objects.select_related("customer").get(pk=invoice_id)
    hosted_invoice_for(invoice)
    address = invoice.customer.email or ""
    email, created = InvoiceEmail.objects.get_or_create(
        invoice=invoice, step=step,
        defaults={"organization_id": invoice.organization_id, "to": address, "pending": bool(address),
                  "language": customer_language(invoice.contract_id)})
    return email if created else None


def hosted_invoice_for(invoice: Invoice) -> HostedInvoice:
    """The invoice's hosted page (its link), made once."""
    page, _created = HostedInvoice.objects.get_or_create(
        invoice=invoice, defaults={"organization_id": invoice.organization_id, "livemode": invoice.livemode,
                                   "token": invoice_token_new()})
    return page


def hosted_invoice_url(page: HostedInvoice) -> str:
    return settings.PUBLIC_BASE_URL + reverse("checkout:invoice", args=[page.token])


def customer_language(contract_id) -> str:
    """The language the customer confirmed their latest checkout of the contract in (as their
    receipt), else the session's fixed locale, else English."""
    session = (CheckoutSession.objects.filter(contract_id=contract_id, status=SessionStatus.COMPLETED)
               .order_by("-completed_at").values("customer_language", "locale").first()) or {}
    return page_language(session.get("customer_language") or session.get("locale"), "")


def invoice_email_send(*, email_id) -> bool:
    """Send a pending dunning email; False when there is none to send (sent already, or the
    invoice was paid meanwhile: no reminder for money already in)."""
    with transaction.atomic():
        email = (InvoiceEmail.objects.select_for_update(of=("self",))
                 .select_related("invoice", "invoice__contract__business_entity", "invoice__hosted_page")
                 .filter(pk=email_id).first())
        if email is None or not email.pending:
            return False
        invoice = email.invoice
        if invoice.status != InvoiceStatus.OPEN or not email.to:
            InvoiceEmail.objects.filter(pk=email.pk).update(pending=False)
            return False
        with translation.override(email.language or "en"):
            message = invoice_email_message(email)
        message.send(fail_silently=False)
        InvoiceEmail.objects.filter(pk=email.pk).update(pending=False, sent_at=timezone.now())
    logger.info("dunning email %s (%s) of invoice %s sent", email.pk, email.step, invoice.pk)
    return True


def invoice_emails_send_pending(*, grace_seconds: float = 60, limit: int = 200) -> int:
    """Dunning emails still pending ``grace_seconds`` after they were recorded: sent now."""
    due = timezone.now() - timedelta(seconds=grace_seconds)
    ids = list(InvoiceEmail.objects.filter(pending=True, created_at__lte=due).order_by("created_at")
               .values_list("id", flat=True)[:limit])
    sent = 0
    for email_id in ids:
        try:
            sent += invoice_email_send(email_id=email_id)
        except Exception:  # noqa: BLE001 - one bad address or SMTP hiccup must not stop the rest
            logger.exception("dunning email %s could not be sent; retried next run", email_id)
    return sent


def invoice_email_message(email: InvoiceEmail) -> EmailMessage:
    """The email, in the active language."""
    invoice = email.invoice
    merchant = invoice.contract.business_entity
    amount = money(invoice.amount_due, invoice.currency)
    failure = (Payment.objects.filter(invoice=invoice, off_session=True, status="failed")
               .order_by("-created_at").values_list("failure_code", flat=True).first())
    if failure == AUTHENTICATION_REQUIRED:
        subject = _("Confirm your payment of %(amount)s to %(merchant)s") % {"amount": amount,
                                                                          "merchant": merchant.name}
        intro = _("Your bank asks you to confirm your subscription payment of %(amount)s. "
                  "It is not taken until you do.") % {"amount": amount}
    elif email.step == InvoiceEmailStep.LAST_RETRY:
        subject = _("Last reminder: your payment of %(amount)s to %(merchant)s") % {"amount": amount,
                                                                                   "merchant": merchant.name}
        intro = _("We still could not charge your card for your subscription payment of %(amount)s.") % {
            "amount": amount}
    else:
        subject = _("Your payment of %(amount)s to %(merchant)s did not go through") % {
            "amount": amount, "merchant": merchant.name}
        intro = _("We could not charge your card for your subscription payment of %(amount)s.") % {
            "amount": amount}
    lines = [intro, ""]
    if invoice.next_payment_attempt:
        retry = _("We will try again on %(date)s.") % {"date": day(invoice.next_payment_attempt.date())}
        if email.step == InvoiceEmailStep.LAST_RETRY:
            retry = _("We will try one last time on %(date)s. If that fails too, your subscription may end.") % {
                "date": day(invoice.next_payment_attempt.date())}
        lines += [retry, ""]
    lines += [
        _("Pay now, or use another card, on this page:"),
        hosted_invoice_url(invoice.hosted_page),
        "",
        _("Invoice %(number)s · %(date)s") % {"number": invoice.number or invoice.pk, "date": day(invoice.invoice_date)},
        f"{_('Amount due')}: {amount}",
        "",
        merchant.name,
    ]
    if merchant.email:
        lines.append(merchant.email)
    return EmailMessage(subject=subject, body="\n".join(lines) + "\n", from_email=settings.DEFAULT_FROM_EMAIL,
                        to=[email.to], reply_to=[merchant.email] if merchant.email else None)
