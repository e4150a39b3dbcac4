"""The hosted page of a setup session (``checkout_type`` setup): the customer saves a new card,
which becomes their default (and their contract's) for the payments that follow; nothing is
charged. Reached through ``checkout.views.checkout_page`` (same URL, token, headers and CSP)."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import SavedPaymentMethod
from checkout.enums import SessionStatus
from checkout.errors import SessionNotOpen, SessionNotProcessing
from checkout.forms import ConfirmForm
from checkout.models import CheckoutSession
from checkout.pages import page_error
from checkout.services.confirm import Mandate, checkout_session_payment_provider
from checkout.services.setup import (
    checkout_session_setup_confirm,
    setup_mandate_text,
    setup_session_current_method,
)
from core.errors import DomainError


def _form(session: CheckoutSession, provider, data=None) -> ConfirmForm:
    return ConfirmForm(data, guest=False, payment_required=False, invoice_allowed=False, card_setup=True,
                       hosted_card_fields=bool(provider and provider.hosted_card_fields))


def _render(request, session: CheckoutSession, context_base: dict, *, form=None, error: str = "", status=200):
    provider = checkout_session_payment_provider(session)
    form = form or _form(session, provider)
    if session.status == SessionStatus.COMPLETED:
        method = SavedPaymentMethod.objects.filter(checkout_session_id=session.pk).order_by("-created_at").first()
        return render(request, "checkout/setup_completed.html", {**context_base, "method": method}, status=status)
    context = {
        **context_base,
        "stripe_key": getattr(provider, "publishable_key", "") if form.hosted_card_fields else "",
        "stripe_js_url": settings.STRIPE_JS_URL,
        "form": form,
        "current": setup_session_current_method(session),
        "payment_error": error or (_("Your card was declined. Try another card.")
                                   if session.payment_status == "failed" else ""),
        "mandate": setup_mandate_text(session),
        "csrf_token": get_token(request),
        "card_unavailable": provider is None,
        "error_list": [(name, form[name].label, errors[0]) for name, errors in form.errors.items()
                       if name in form.fields] if form.is_bound else [],
    }
    return render(request, "checkout/setup.html", context, status=status)


def setup_page(request, session: CheckoutSession, context_base: dict, redirect_for):
    """GET: the setup session's page. POST: save the typed card (``checkout_session_setup_confirm``)."""
    if request.method != "POST" or session.status != SessionStatus.OPEN:
        if request.method == "POST":
            return HttpResponseRedirect(reverse("checkout:page", args=[session.token]))
        return _render(request, session, context_base)
    provider = checkout_session_payment_provider(session)
    form = _form(session, provider, request.POST)
    if provider is None or not form.is_valid():
        return _render(request, session, context_base, form=form, status=422)
    choice = form.payment_choice()
    try:
        result = checkout_session_setup_confirm(
            session_id=session.pk, provider=provider, card=choice.card, payment_method_id=choice.payment_method_id,
            mandate=Mandate(ip_address=request.META.get("REMOTE_ADDR") or None,
                            user_agent=request.headers.get("User-Agent", "")),
            language=translation.get_language())
    except (SessionNotOpen, SessionNotProcessing):
        return HttpResponseRedirect(reverse("checkout:page", args=[session.token]))
    except DomainError as error:
        return _render(request, session, context_base, form=form, error=page_error(error), status=error.status)
    if result.method is None:
        session.refresh_from_db()
        return _render(request, session, context_base, form=form, status=402,
                       error=result.failure_message or _("Your card was declined. Try another card."))
    return redirect_for(result.session, "success_url")
