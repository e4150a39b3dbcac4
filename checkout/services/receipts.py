"""The email a customer gets when their checkout completes: a receipt for a card payment, the
invoice when they chose to pay by invoice, a confirmation when nothing was due (a free trial);
in the language the customer confirmed in.
Sent by the worker after the completion committed (Django's email framework: the console in
the demo, SMTP from ``EMAIL_URL`` in production), exactly once per session as far as the
database can tell: the session row is locked while sending and marked sent in the same
transaction."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.enums import PaymentMethod
from checkout.documents import invoice_document, invoice_document_get, invoice_html, invoice_pdf
from checkout.enums import SessionStatus
from checkout.i18n import page_language
from checkout.models import CheckoutSession
from checkout.pages import day, discount_words, last_day, money, present_line

logger = logging.getLogger(__name__)


def checkout_session_receipt_send(*, session_id) -> bool:
    """Send the session's pending receipt; False when there is none to send (sent already, no
    email address, not completed)."""
    with transaction.atomic():
        session = (CheckoutSession.objects.select_for_update(of=("self",))
                   .select_related("business_entity", "customer").filter(pk=session_id).first())
        if session is None or not session.receipt_pending or session.status != SessionStatus.COMPLETED:
            return False
        invoice = invoice_document_get(invoice_id=session.invoice.pk) if hasattr(session, "invoice") else None
        email = session.customer.email if session.customer else None
        if not email or invoice is None:
            CheckoutSession.objects.filter(pk=session.pk).update(receipt_pending=False)
            return False
        with translation.override(receipt_language(session)):
            message = receipt_message(session, invoice, email)
        message.send(fail_silently=False)
        CheckoutSession.objects.filter(pk=session.pk).update(receipt_pending=False, receipt_sent_at=timezone.now())
    logger.info("receipt for checkout session %s sent", session_id)
    return True


def checkout_session_receipts_send_pending(*, grace_seconds: float = 60, limit: int = 200) -> int:
    """Receipts still pending ``grace_seconds`` after completion (their task was not queued or
    was lost): sent now. Reads the partial index ``session_receipt_pending``."""
    due = timezone.now() - timedelta(seconds=grace_seconds)
    ids = list(CheckoutSession.objects.filter(receipt_pending=True, completed_at__lte=due)
               .order_by("completed_at").values_list("id", flat=True)[:limit])
    sent = 0
    for session_id in ids:
        try:
            sent += checkout_session_receipt_send(session_id=session_id)
        except Exception:  # noqa: BLE001 - one bad address or SMTP hiccup must not stop the rest
            logger.exception("receipt for checkout session %s could not be sent; retried next run", session_id)
    return sent


def receipt_language(session: CheckoutSession) -> str:
    """The language the customer confirmed in; for a confirm through the API, the session's
    locale when one was set; else English (the page's own rule, with no browser to ask)."""
    return page_language(session.customer_language or session.locale, "")


def receipt_message(session: CheckoutSession, invoice, email: str) -> EmailMultiAlternatives:
    """The email, in the active language."""
    merchant = session.business_entity
    estimates = session.estimates or {}
    current = estimates.get("current_invoice") or {}
    currency = invoice.currency
    by_invoice = session.payment_method == PaymentMethod.INVOICE
    if by_invoice:
        subject = _("Invoice from %(merchant)s: %(amount)s due") % {
            "merchant": merchant.name, "amount": money(invoice.amount_due, currency)}
        intro = _("Thank you for your order. This is your invoice; it is payable on its terms.")
        total_label = _("Amount due")
    elif invoice.amount_due > 0:
        subject = _("Your receipt from %(merchant)s") % {"merchant": merchant.name}
        intro = _("Thank you for your payment. This is your receipt.")
        total_label = _("Amount paid")
    else:
        subject = _("Your subscription with %(merchant)s is confirmed") % {"merchant": merchant.name}
        intro = _("Thank you. Your order is confirmed; nothing was charged today.")
        total_label = _("Amount paid")

    lines = [intro, ""]
    if (session.quote or {}).get("trial_end"):
        lines += [_("Your free trial runs until %(date)s.") % {"date": last_day(session.quote["trial_end"])}, ""]
    lines += [
        _("Invoice %(number)s · %(date)s") % {"number": invoice.number or invoice.pk,
                                               "date": day(invoice.invoice_date or invoice.created_at.date())},
        _("Contract reference: %(id)s") % {"id": session.contract_id},
        "",
    ]
    for line in current.get("line_items") or []:
        shown = present_line(line, currency)
        detail = " · ".join(part for part in (shown.quantity_text, shown.period_text) if part)
        lines.append(f"{shown.name}  {shown.amount}")
        if detail:
            lines.append(f"    {detail}")
    document = invoice_document(invoice)
    lines += [
        "",
        f"{_('Subtotal')}: {money(invoice.subtotal, currency)}",
        f"{document.tax_label}: {money(invoice.tax, currency)}",  # "VAT 0% (reverse charge)", as the PDF
        f"{_('Total')}: {money(invoice.total, currency)}",
        f"{total_label}: {money(invoice.amount_due, currency)}",
    ]
    discount = (session.quote or {}).get("discount")
    if discount:
        lines.append(_("Discount: %(off)s") % {"off": discount_words(discount, currency)})
    following = estimates.get("next_invoice")
    if following:
        lines += ["", _("Next payment: %(amount)s on %(date)s.") % {
            "amount": money(following["amount_due"], following["currency"]), "date": day(following["invoice_date"])}]
    if document.tax_note:
        lines += ["", document.tax_note]
    if by_invoice and (document.due_date or document.bank_details or document.hosted_invoice_url):
        lines += ["", _("How to pay")]
        if document.due_date:
            lines.append(_("Please pay %(amount)s by %(date)s.") % {"amount": document.amount_due,
                                                                    "date": document.due_date})
            lines.append(_("Quote %(number)s as the payment reference.") % {"number": document.number})
        if document.bank_details:
            lines.append(document.bank_details)
        if document.hosted_invoice_url:
            lines.append(_("Pay this invoice online: %(url)s") % {"url": document.hosted_invoice_url})
    lines += ["", merchant.name]
    if merchant.email:
        lines.append(merchant.email)
    # The HTML part is the invoice document itself, and the attachment is that HTML as a PDF.
    message = EmailMultiAlternatives(subject=subject, body="\n".join(lines) + "\n",
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[email],
                                     reply_to=[merchant.email] if merchant.email else None)
    html = invoice_html(document)
    message.attach_alternative(html, "text/html")
    message.attach(document.filename, invoice_pdf(document), "application/pdf")
    return message


def checkout_session_receipt_resend(*, session_id) -> bool:
    """Ops (admin "Resend receipt"): send a completed session's receipt again, now. False when
    the customer has no email address (or the session no invoice); 409
    ``checkout_session_not_completed`` for a session that is not completed. If sending fails the
    receipt stays pending and the periodic sweep retries it."""
    from core.errors import Conflict

    marked = CheckoutSession.objects.filter(pk=session_id, status=SessionStatus.COMPLETED).update(receipt_pending=True)
    if not marked:
        raise Conflict("Only a completed checkout session has a receipt.", code="checkout_session_not_completed")
    return checkout_session_receipt_send(session_id=session_id)
