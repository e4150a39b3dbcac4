"""The hosted invoice page (``/pay/invoice/<token>``): the unpaid invoice a renewal could not
collect, and how to pay it now (the saved card, another card that becomes the default, or the
3-D Secure the bank asked for). The same machinery as the checkout page: found by its token,
server-rendered, works without JavaScript where no card is typed, the same headers and CSP
(``checkout.views.hosted_page``), in the customer's language.

Each view validates a form, calls one service, then redirects or renders.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from billing.enums import InvoiceStatus, PaymentProviderName
from billing.gateway import TEST_PROVIDER, ChargeResult, provider_for
from billing.invoice_payments import (
    invoice_payment_method_save,
    invoice_payment_send,
    invoice_payment_start,
    invoice_payment_sync,
)
from billing.payment_methods import CardMandate, invoice_card_mandate_text
from billing.tax import tax_note_for
from checkout.errors import HostedInvoiceNotFound
from checkout.forms import ConfirmForm
from checkout.i18n import page_language
from checkout.pages import day, money, page_error, present_address, present_invoice
from checkout.selectors import InvoicePageData, hosted_invoice_get_by_token, payment_settings_get
from checkout.views import _client_ip, hosted_page
from core.errors import DomainError

AUTHENTICATION_REQUIRED = "authentication_required"
# The domain errors this page can show, for the catalogues (``pages.page_error`` translates them).
PAGE_ERROR_MESSAGES = (
    gettext_noop("This invoice is not open for payment."),
    gettext_noop("A payment of this invoice is already in progress."),
    gettext_noop("That card cannot be used for this invoice."),
)


def _page_url(data: InvoicePageData) -> str:
    return reverse("checkout:invoice", args=[data.page.token])


def _load(request, token: str) -> InvoicePageData:
    data = hosted_invoice_get_by_token(token=token)
    translation.activate(page_language(data.locale, request.headers.get("Accept-Language", "")))
    return data


def _provider(data: InvoicePageData, *, for_method=None):
    """The provider that takes a payment now: the saved method's own (a test card stays with
    the test provider), else the organization's for the invoice's mode."""
    if for_method is not None and for_method.provider == PaymentProviderName.TEST and not data.invoice.livemode:
        return TEST_PROVIDER
    return provider_for(payment_settings_get(organization_id=data.invoice.organization_id,
                                             livemode=data.invoice.livemode), livemode=data.invoice.livemode)


def _card_form(data: InvoicePageData, provider, post=None) -> ConfirmForm:
    """Another card: the checkout's card fields (or Stripe's), nothing else."""
    return ConfirmForm(post, guest=False, payment_required=True, invoice_allowed=False,
                       hosted_card_fields=bool(provider and provider.hosted_card_fields))


def _estimate(invoice) -> dict:
    """The invoice as ``present_invoice`` reads an estimate."""
    lines = [{"kind": line.kind or "recurring", "name": line.name, "description": line.description,
              "pricing_model": line.pricing_model, "quantity": line.quantity, "unit_amount": line.unit_amount,
              "amount": line.amount, "period_start": str(line.period_start) if line.period_start else None,
              "period_end": str(line.period_end) if line.period_end else None, "proration": line.proration}
             for line in invoice.lines.order_by("position")]
    return {"currency": invoice.currency, "invoice_date": str(invoice.invoice_date or invoice.period_start),
            "period_start": str(invoice.period_start), "period_end": str(invoice.period_end),
            "line_items": lines, "subtotal": invoice.subtotal, "tax": invoice.tax, "total": invoice.total,
            "tax_rate": invoice.tax_rate, "credit_applied": invoice.credit_applied, "amount_due": invoice.amount_due,
            # the VAT label and the note the invoice must carry (reverse charge: Article 226(11a))
            "tax_reason": invoice.tax_reason, "tax_included": invoice.tax_included,
            "tax_note": tax_note_for(invoice.tax_reason)}


def _summary(invoice):
    """The invoice's table. Its lines keep no cadence, so "billed in advance, per month" (an
    estimate's explanation) is left out rather than shown half-worded."""
    summary = present_invoice(_estimate(invoice), title=_("Invoice"))
    for line, row in zip(summary.lines, invoice.lines.order_by("position"), strict=True):
        if (row.kind or "charge") in ("charge", "usage"):
            line.explanation = ""
    return summary


def _mandate(request, data: InvoicePageData) -> CardMandate:
    """The agreement under "another card", as this customer accepted it."""
    return CardMandate(invoice_card_mandate_text(data.invoice.contract.business_entity.name),
                       ip_address=_client_ip(request), user_agent=request.headers.get("User-Agent", ""))


# A payment on this page that failed after the customer left it (3-D Secure in the browser,
# read back on their return): the page says so when they come back.
AUTHENTICATION_FAILURES = ("payment_intent_authentication_failure", "authentication_abandoned")


def _render(request, data: InvoicePageData, *, card_form: ConfirmForm | None = None, error: str = "",
            status: int = 200):
    invoice, merchant = data.invoice, data.invoice.contract.business_entity
    if not error and data.page_failure is not None and data.page_failure.failure_code in AUTHENTICATION_FAILURES:
        error = _("Your bank did not confirm the payment, so nothing was taken. You can try again.")
    context = {
        "merchant": merchant,
        "merchant_address": present_address(merchant.address),
        "test_mode": not invoice.livemode,
        "billed_by": _("Billed by %(name)s") % {"name": merchant.name},
        "hosted": data,
        "invoice": invoice,
        "customer": invoice.customer,
        "amount_due": money(invoice.amount_due, invoice.currency),
        "summary": _summary(invoice),
        "page_url": _page_url(data),
        "payment_error": error,
    }
    if invoice.status == InvoiceStatus.PAID:
        context.update(paid_on=day(invoice.paid_at.date()) if invoice.paid_at else "",
                       paid_with=data.paid_with)
        return render(request, "checkout/invoice_paid.html", context, status=status)
    if invoice.status != InvoiceStatus.OPEN:
        return render(request, "checkout/invoice_closed.html", context, status=status)
    if data.pending is not None:
        provider = _provider(data, for_method=data.method)
        context.update(payment=data.pending, return_url=reverse("checkout:invoice-return", args=[data.page.token]),
                       stripe_key=getattr(provider, "publishable_key", "") if data.pending.client_secret else "",
                       stripe_js_url=settings.STRIPE_JS_URL)
        return render(request, "checkout/invoice_pending.html", context, status=status)
    provider = _provider(data)
    card_form = card_form or _card_form(data, provider)
    needs_authentication = data.last_failure is not None and data.last_failure.failure_code == AUTHENTICATION_REQUIRED
    retry = invoice.next_payment_attempt
    context.update(
        method=data.method,
        needs_authentication=needs_authentication,
        failure=_failure_text(data, needs_authentication),
        retry_note=(_("We will try your card again on %(date)s.") % {"date": day(retry.date())}) if retry else "",
        saved_label=(_("Authenticate and pay %(amount)s") if needs_authentication else _("Pay %(amount)s"))
        % {"amount": context["amount_due"]},
        card_form=card_form,
        card_label=_("Pay %(amount)s with this card") % {"amount": context["amount_due"]},
        mandate=invoice_card_mandate_text(merchant.name),
        stripe_key=getattr(provider, "publishable_key", "") if card_form.hosted_card_fields else "",
        stripe_js_url=settings.STRIPE_JS_URL,
        error_list=[(name, card_form[name].label, errors[0]) for name, errors in card_form.errors.items()
                    if name in card_form.fields] if card_form.is_bound else [],
    )
    return render(request, "checkout/invoice.html", context, status=status)


def _failure_text(data: InvoicePageData, needs_authentication: bool) -> str:
    if needs_authentication:
        return _("Your bank asks you to confirm this payment. Authenticate it below; nothing is taken until you do.")
    if data.last_failure is None:
        return ""
    return _("We could not charge your card for this invoice.")


def _not_found(request):
    return render(request, "checkout/not_found.html", status=404)


@sensitive_post_parameters("card_number", "card_cvc")
@hosted_page
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_page(request, token: str):
    """GET: the invoice in its current state. POST ``pay=saved``: pay now with the saved card
    (or authenticate it); ``pay=card``: with another card, saved as the new default."""
    try:
        data = _load(request, token)
    except HostedInvoiceNotFound:
        return _not_found(request)
    if request.method != "POST":
        return _render(request, data)
    if data.invoice.status != InvoiceStatus.OPEN or data.pending is not None:
        return HttpResponseRedirect(_page_url(data))
    mandate = _mandate(request, data)
    start = {}
    if request.POST.get("pay") == "card":
        provider = _provider(data)
        form = _card_form(data, provider, request.POST)
        if provider is None or not form.is_valid():
            return _render(request, data, card_form=form, status=422)
        choice = form.payment_choice()
        if provider.hosted_card_fields:
            # Stripe: one on-session PaymentIntent pays the invoice and saves the card (3-D
            # Secure, if the bank asks, on the page that follows).
            start = {"payment_method_reference": choice.payment_method_id, "provider_name": provider.name}
        else:
            method = invoice_payment_method_save(
                invoice=data.invoice, provider=provider, card=choice.card, mandate_text=mandate.text,
                ip_address=mandate.ip_address, user_agent=mandate.user_agent)
            if isinstance(method, ChargeResult):
                return _render(request, data, card_form=form, status=402,
                               error=method.failure_message or _("Your card was declined. Try another card."))
            start = {"method_id": method.pk}
    else:
        method = data.method
        provider = _provider(data, for_method=method)
        if method is None or provider is None:
            return _render(request, data, status=409, error=_("There is no saved card to pay with. Use another card."))
        start = {"method_id": method.pk}
    try:
        payment = invoice_payment_start(invoice_id=data.invoice.pk, **start)
        outcome = invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=mandate)
    except DomainError as error:
        return _render(request, _load(request, token), status=error.status, error=page_error(error))
    if outcome.status == "failed":
        return _render(request, _load(request, token), status=402,
                       error=outcome.failure_message or _("The payment did not go through. Try another card."))
    return HttpResponseRedirect(_page_url(data))  # paid, or 3-D Secure to complete: the page shows it


@hosted_page
@require_http_methods(["GET", "HEAD"])
def invoice_return(request, token: str):
    """Back from the bank's authentication: the outcome is read from the provider, never from
    the URL; then the page shows it."""
    try:
        data = _load(request, token)
    except HostedInvoiceNotFound:
        return _not_found(request)
    if data.pending is not None and data.pending.provider_reference:
        provider = _provider(data, for_method=data.pending.saved_payment_method)
        if provider is not None:
            invoice_payment_sync(payment_id=data.pending.pk, provider=provider, mandate=_mandate(request, data))
    return HttpResponseRedirect(_page_url(data))

