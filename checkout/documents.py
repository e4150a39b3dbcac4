"""The invoice (or receipt) a customer keeps: one HTML document, sent as the receipt e-mail's
HTML part and rendered to PDF by WeasyPrint (attached to that e-mail, and linked from the
thank-you page). Built from the saved ``Invoice`` and its lines, so a renewal's document says
what the renewal billed; in the active language.

What it shows, as an EU invoice must (VAT Directive, Article 226): its sequential number and
date, the seller's and the buyer's names, addresses and VAT numbers, each line, the tax rate and
amount (or the reverse-charge mention), the total, and whether it is paid; for pay-by-invoice,
the due date and where to pay.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from billing.enums import InvoiceStatus
from billing.models import Invoice
from billing.tax import TaxReason, tax_note_for
from checkout.models import HostedInvoice
from checkout.pages import day, money, number, present_address
from checkout.services.invoice_emails import hosted_invoice_url


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...]
    tax_ids: tuple[str, ...]
    email: str = ""


@dataclass(frozen=True)
class DocumentLine:
    name: str
    detail: str
    quantity: str
    unit_amount: str
    amount: str


@dataclass(frozen=True)
class InvoiceDocument:
    title: str
    number: str
    issued: str
    period: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    subtotal: str
    tax_label: str
    tax: str
    total: str
    credit_applied: str | None
    amount_due: str
    amount_due_label: str
    status: str  # paid / open / void…
    status_text: str
    tax_note: str
    tax_included_note: str
    due_date: str
    bank_details: str
    hosted_invoice_url: str | None
    filename: str


def invoice_document_get(*, invoice_id) -> Invoice | None:
    """The invoice with everything its document shows: one query, plus one for its lines."""
    return (Invoice.objects.select_related("business_entity", "customer", "contract__business_entity")
            .prefetch_related("lines").filter(pk=invoice_id).first())


def invoice_hosted_url(invoice: Invoice) -> str | None:
    """The hosted invoice page (``checkout.invoice_views``) where the customer can pay this
    invoice, when one was made for it (the dunning e-mails make it); else None, and the document
    gives the bank details only."""
    page = HostedInvoice.objects.filter(invoice_id=invoice.pk).first()
    return None if page is None else hosted_invoice_url(page)


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """What the invoice says, in the active language (``translation.override`` around it)."""
    entity = invoice.business_entity or invoice.contract.business_entity
    customer = invoice.customer
    currency = invoice.currency
    paid = invoice.status == InvoiceStatus.PAID
    title = _("Receipt") if paid and invoice.total > 0 else _("Invoice")
    shown_number = invoice.number or str(invoice.pk)
    issued = invoice.invoice_date or invoice.created_at.date()
    lines = tuple(_line(line, currency) for line in invoice.lines.all())
    return InvoiceDocument(
        title=title,
        number=shown_number,
        issued=day(issued),
        period=_("Service period %(start)s – %(end)s") % {"start": day(invoice.period_start),
                                                          "end": day(invoice.period_end)}
        if invoice.period_end and invoice.period_end > invoice.period_start else "",
        seller=Party(entity.name, tuple_address(entity.address), (entity.tax_id,) if entity.tax_id else (),
                     entity.email),
        buyer=Party(customer.customer_name or customer.email, tuple_address(customer.address),
                    tuple(f"{t.get('value')}" for t in customer.tax_info or () if isinstance(t, dict) and t.get("value")),
                    customer.email or ""),
        lines=lines,
        subtotal=money(invoice.subtotal, currency),
        tax_label=_tax_label(invoice),
        tax=money(invoice.tax, currency),
        total=money(invoice.total, currency),
        credit_applied=money(-invoice.credit_applied, currency) if invoice.credit_applied else None,
        amount_due=money(invoice.amount_due, currency),
        amount_due_label=_("Amount paid") if paid else _("Amount due"),
        status=invoice.status,
        status_text=_status_text(invoice),
        tax_note=_(tax_note_for(invoice.tax_reason)) if tax_note_for(invoice.tax_reason) else "",
        tax_included_note=_("Prices include %(amount)s of VAT.") % {"amount": money(invoice.tax_included, currency)}
        if invoice.tax_included else "",
        due_date=day(invoice.due_date) if invoice.due_date and not paid else "",
        bank_details=entity.bank_details if not paid and invoice.amount_due > 0 else "",
        hosted_invoice_url=None if paid else invoice_hosted_url(invoice),
        filename=f"{_('Receipt') if paid and invoice.total > 0 else _('Invoice')}-{_safe(shown_number)}.pdf",
    )


def invoice_html(document: InvoiceDocument) -> str:
    """The document as a standalone HTML page (inline styles: e-mail clients and WeasyPrint
    load nothing else)."""
    return render_to_string("checkout/invoice_document.html", {"doc": document})


def invoice_pdf(document: InvoiceDocument) -> bytes:
    """The same HTML, rendered by WeasyPrint (Pango from Debian: scripts/browser-deps.sh)."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy import, only where a PDF is made

    return HTML(string=invoice_html(document)).write_pdf()


def _line(line, currency: str) -> DocumentLine:
    quantity = line.quantity
    quantity_text = str(int(quantity)) if quantity == int(quantity) else format(quantity.normalize(), "f")
    period = ""
    if line.period_start and line.period_end and line.period_end > line.period_start:
        period = f"{day(line.period_start)} – {day(line.period_end)}"
    detail = " · ".join(part for part in (line.description, period) if part)
    return DocumentLine(
        name=line.name,
        detail=detail,
        quantity=quantity_text,
        unit_amount=money(line.unit_amount, currency) if line.unit_amount is not None else "",
        amount=money(line.amount, currency),
    )


def _tax_label(invoice: Invoice) -> str:
    if invoice.tax_reason == TaxReason.REVERSE_CHARGE:
        return _("VAT 0% (reverse charge)")
    if invoice.tax_reason == TaxReason.OUTSIDE_EU:
        return _("VAT 0% (outside the EU)")
    word = _("VAT") if invoice.tax_reason else _("Tax")
    if invoice.tax_rate:
        return f"{word} ({number(invoice.tax_rate.normalize())}%)"
    return word


def _status_text(invoice: Invoice) -> str:
    if invoice.status == InvoiceStatus.PAID:
        when = invoice.paid_at.date() if invoice.paid_at else None
        return _("Paid on %(date)s") % {"date": day(when)} if when else _("Paid")
    if invoice.due_date:
        return _("Open: due on %(date)s") % {"date": day(invoice.due_date)}
    return _("Open")


def tuple_address(address: dict | None) -> tuple[str, ...]:
    return tuple(present_address(address))


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)
