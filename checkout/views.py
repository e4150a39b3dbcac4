"""The hosted checkout page: found by its token, server-rendered, works without JavaScript.

Each view validates a form, calls one service, then redirects or renders.
"""

from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError

from billing.enums import PaymentAttemptStatus
from checkout.activity import page_view_record
from checkout.api.serializers import CheckoutSessionCreateSerializer, validated
from checkout.documents import invoice_document, invoice_document_get, invoice_pdf
from checkout.enums import CancellationReason, CheckoutType, PaymentStatus, SessionStatus
from checkout.errors import (
    PlanNotOffered,
    QuantityNotInRange,
    SessionNotFound,
    SessionNotOpen,
    SessionNotPriced,
    SessionNotProcessing,
    StripeWebhookRejected,
)
from checkout.forms import ConfirmForm, PromotionCodeForm
from checkout.i18n import browser_language, page_language
from checkout.mandates import mandate_text, session_saves_card
from checkout.models import CheckoutSession
from checkout.pages import (
    CSRF_PLACEHOLDER,
    open_page_cache,
    open_page_cached,
    open_page_key,
    page_error,
    page_probe,
    present_address,
    present_adjustable_items,
    present_invoice,
    present_plan_choices,
    present_promotion,
    present_purchase,
)
from checkout.selectors import (
    checkout_session_get_by_token,
    checkout_session_payment_latest,
    checkout_session_recovery_bought,
)
from checkout.services.card_setup import checkout_session_setup_intent_create
from checkout.services.confirm import (
    Mandate,
    Outcome,
    checkout_session_amount_due,
    checkout_session_confirm,
    checkout_session_payment_provider,
    checkout_session_payment_sync,
)
from checkout.services.discounts import checkout_session_promotion_code_apply
from checkout.services.lifecycle import checkout_session_cancel
from checkout.services.plan_choice import checkout_session_adjust
from checkout.services.recovery import checkout_session_recover
from checkout.services.stripe_events import stripe_event_handle
from checkout.sessions.expiry import checkout_session_expire_if_due
from checkout.sessions.terms import SessionTerms, quoted_quantities
from checkout.setup_views import setup_page
from checkout.urlrules import ascii_origin, url_ascii_host, url_problem, url_with_session_id
from core.errors import DomainError, error_body


def _csp() -> str:
    """No inline script; scripts, API calls and frames from us and from Stripe.js only (its
    origin from STRIPE_JS_URL, the API's from STRIPE_API_BASE: Stripe's own unless pointed
    elsewhere, e.g. at localstripe in tests), so pages in Stripe mode work and others lose
    nothing: the origins are Stripe's. ``form-action`` is completed per session below."""
    js = ascii_origin(settings.STRIPE_JS_URL) or ""
    api = ascii_origin(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else "https://api.stripe.com"
    return (f"default-src 'self'; script-src 'self' {js}; style-src 'self'; img-src 'self' data:; "
            f"font-src 'self'; connect-src 'self' {api}; frame-src {js} https://hooks.stripe.com; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


# --- security -----------------------------------------------------------------------------


def hosted_page(view):
    """Headers for every hosted page: no framing, no caching, no referrer to other sites,
    a CSP without inline script. ``form-action`` also lists the origins of the session's
    validated redirect URLs: Chromium applies it to the 302 our confirm/cancel POST answers."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        # The browser's language until the view finds the session (_use_language), whose
        # locale may fix another; restored when the response is built.
        with translation.override(browser_language(request.headers.get("Accept-Language", ""))):
            response = view(request, *args, **kwargs)
            response["Content-Language"] = translation.get_language()
        origins = " ".join(getattr(request, "checkout_redirect_origins", ()))
        response["Content-Security-Policy"] = f"{_csp()} {origins}".rstrip()
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        response["X-Frame-Options"] = "DENY"
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Cross-Origin-Opener-Policy"] = "same-origin"
        response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        return response

    return csrf_protect(wrapped)


def _safe_url(url: str) -> str | None:
    """A redirect target validated at creation; checked again by the same rules, never
    trusted blindly (a row edited by hand must not become an open redirect)."""
    if not url or url_problem(url) is not None:
        return None
    return url


def merchant_url(session: CheckoutSession, which: str) -> str | None:
    """``success_url`` / ``pending_url`` / ``cancel_url`` with the session id filled in."""
    url = _safe_url(getattr(session, which))
    if url is None:
        return None
    return url_with_session_id(url_ascii_host(url), session.pk)


def _page_url(session: CheckoutSession) -> str:
    return reverse("checkout:page", args=[session.token])


def _load(request, token: str) -> CheckoutSession:
    """The session behind ``token`` as the customer must see it: past ``expires_at``, expired
    now (read-time expiry; no statement when it is not due)."""
    session = checkout_session_expire_if_due(checkout_session_get_by_token(token=token))
    _allow_redirects(request, session)
    _use_language(request, session)
    return session


def _use_language(request, session) -> None:
    """The session's page language (inside ``hosted_page``'s override, which restores it)."""
    translation.activate(page_language(session.locale, request.headers.get("Accept-Language", "")))


def _allow_redirects(request, session) -> None:
    """The origins the CSP's ``form-action`` must allow: the session's redirect URLs'."""
    origins = {ascii_origin(url) for url in (session.success_url, session.pending_url, session.cancel_url)
               if _safe_url(url)}
    request.checkout_redirect_origins = sorted(origin for origin in origins if origin)


def _not_found(request):
    return render(request, "checkout/not_found.html", status=404)


# --- rendering ----------------------------------------------------------------------------


def _form(session: CheckoutSession, data=None, *, typed: dict | None = None) -> ConfirmForm:
    try:
        due = checkout_session_amount_due(session)
    except SessionNotPriced:  # the page still renders; confirming refuses it
        due = Decimal(0)
    saves_card = session_saves_card(session, due)
    provider = checkout_session_payment_provider(session) if due > 0 or saves_card else None
    form = ConfirmForm(
        data,
        guest=session.guest_checkout,
        payment_required=due > 0,
        invoice_allowed=session.business_entity.allow_invoice_payment,
        initial_details=session.customer_details if session.guest_checkout else None,
        hosted_card_fields=bool(provider and provider.hosted_card_fields),
        terms_required=bool(session.terms_url),
        card_setup=saves_card and provider is not None,
        card_available=provider is not None,
    )
    if typed:  # shown again, unbound: no "required" errors for what is still to type
        form.initial.update(typed)
    form.mandate = mandate_text(session) if saves_card else ""
    form.stripe_key = getattr(provider, "publishable_key", "")
    form.provider = provider  # the confirm charges through the provider the page showed
    return form


def _stripe_context(publishable_key: str) -> dict:
    return {"stripe_key": publishable_key, "stripe_js_url": settings.STRIPE_JS_URL} if publishable_key else {}


def _base_context(session: CheckoutSession) -> dict:
    entity = session.business_entity
    return {
        "session": session,
        "merchant": entity,
        "merchant_address": present_address(entity.address),
        "test_mode": not session.livemode,
        "billed_by": _("Billed by %(name)s") % {"name": entity.name},
        "return_to": _("and return to %(name)s") % {"name": entity.name},
    }


def _render_open(request, session: CheckoutSession, form: ConfirmForm | None = None, *, error: str = "",
                 status: int = 200, promotion: dict | None = None, plan_error: str = "",
                 items_error: tuple[str, str] | None = None):
    """The open page. A plain GET (unbound form, no error to show) is served from a per-process
    cache of its HTML, the CSRF token filled in per response; see ``pages.open_page_key``.
    ``promotion``: the promotion code box's typed value and error, after a refused code;
    ``plan_error``: the billing-interval switch's, after a refused plan; ``items_error``: the
    items box's (the input's name, the message), after a refused quantity or add-on."""
    if form is None and not error and not promotion and not plan_error and not items_error:
        html = open_page_cache.get_or_build(
            open_page_key(session.pk, session.updated_at),
            lambda: _open_html(session, _form(session), "", CSRF_PLACEHOLDER))
        return _cached_page_response(request, html, status)
    return HttpResponse(_open_html(session, form or _form(session), error, get_token(request), promotion,
                                   plan_error, items_error), status=status)


def _cached_page_response(request, html: str, status: int = 200) -> HttpResponse:
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)), status=status)


def _open_html(session: CheckoutSession, form: ConfirmForm, error: str, csrf_token: str,
               promotion: dict | None = None, plan_error: str = "",
               items_error: tuple[str, str] | None = None) -> str:
    estimates = session.estimates or {}
    trial = bool((session.quote or {}).get("trial_end"))
    current = present_invoice(estimates.get("current_invoice"), title=_("Due today"))
    payment_error = error
    if not payment_error and session.payment_status == PaymentStatus.FAILED:
        failed = checkout_session_payment_latest(session, PaymentAttemptStatus.FAILED)
        payment_error = (failed and failed.failure_message) or _(
            "Your last payment did not go through. Please try again.")
    customer = session.customer
    context = {
        **_base_context(session),
        "csrf_token": csrf_token,
        "form": form,
        **_stripe_context(form.stripe_key),
        "purchase": present_purchase(session),
        "current_invoice": current,
        "next_invoice": present_invoice(estimates.get("next_invoice"),
                                        title=_("First payment after your trial") if trial else _("Next invoice")),
        "consent": _consent(session, form),
        "promotion": present_promotion(session, reverse("checkout:promotion-code", args=[session.token]),
                                       **(promotion or {})),
        "plans": present_plan_choices(session, reverse("checkout:adjust", args=[session.token]), error=plan_error),
        "items": present_adjustable_items(session, reverse("checkout:adjust", args=[session.token]),
                                          error_field=(items_error or ("", ""))[0], error=(items_error or ("", ""))[1]),
        "payment_error": payment_error,
        "customer": customer,
        "customer_address": present_address(customer.address) if customer else [],
        "pay_label": (_("Pay %(amount)s") % {"amount": current.amount_due}) if form.payment_required and current
        else _("Start subscription") if form.card_setup else _("Confirm"),
        "mandate": form.mandate,
        "error_list": [(name, form[name].label, errors[0]) for name, errors in form.errors.items()
                       if name in form.fields] if form.is_bound else [],
    }
    return render_to_string("checkout/open.html", context)


def _consent(session: CheckoutSession, form: ConfirmForm) -> dict | None:
    """The consent checkbox's texts and state (the template has no translation tags)."""
    if "accept_terms" not in form.fields:
        return None
    bound = form["accept_terms"]
    # One sentence to translate (word order differs: "…の利用規約に同意します"), cut around
    # the link's place.
    # Translators: %(terms)s is the link "terms of service"; %(name)s the merchant's name.
    sentence = _("I agree to the %(terms)s of %(name)s") % {"terms": "\x00", "name": session.business_entity.name}
    before, _link, after = sentence.partition("\x00")
    return {
        "url": session.terms_url,
        "before": before,
        "link": _("terms of service"),
        "after": after,
        "checked": bool(bound.value()),
        "error": bound.errors[0] if bound.errors else "",
    }


def _render_state(request, session: CheckoutSession):
    if session.status == SessionStatus.OPEN:
        return _render_open(request, session)
    context = _base_context(session)
    if session.status == SessionStatus.PROCESSING:
        payment = checkout_session_payment_latest(session, PaymentAttemptStatus.PENDING)
        # No answer from the gateway yet (``payment_settle`` asks again): say so, not "processing".
        context.update(payment=payment, back_url=merchant_url(session, "pending_url"),
                       checking=payment is not None and not payment.provider_reference)
        if payment is not None and payment.client_secret:  # 3-D Secure to complete in this browser
            provider = checkout_session_payment_provider(session)
            context.update(**_stripe_context(getattr(provider, "publishable_key", "")),
                           return_url=reverse("checkout:return", args=[session.token]))
        return render(request, "checkout/processing.html", context)
    if session.status == SessionStatus.COMPLETED:
        return _render_completed(request, session)
    template = "checkout/expired.html" if session.status == SessionStatus.EXPIRED else "checkout/cancelled.html"
    context.update(back_url=merchant_url(session, "cancel_url"))
    if session.status == SessionStatus.EXPIRED and session.recovery_url:
        context.update(recovery_url=reverse("checkout:recover", args=[session.token]),
                       recovery_label=_("Start again with the same offer"))
    return render(request, template, context)


def _render_completed(request, session: CheckoutSession, *, already_bought: bool = False):
    """The thank-you page with the receipt; ``already_bought``: reached again through a recovery
    link whose purchase is done, so it says so instead of thanking again."""
    context = _base_context(session)
    invoice = getattr(session, "invoice", None)
    payment = checkout_session_payment_latest(session, PaymentAttemptStatus.SUCCEEDED)
    # A receipt only for money received; an invoice still to pay is the invoice.
    title = _("Receipt") if session.payment_status == PaymentStatus.PAID else _("Invoice")
    document = invoice_document(invoice_document_get(invoice_id=invoice.pk)) if invoice is not None else None
    context.update(invoice=invoice, payment=payment, back_url=merchant_url(session, "success_url"),
                   document=document, pdf_url=reverse("checkout:invoice-pdf", args=[session.token])
                   if document is not None else "",
                   amount_paid=present_invoice(session.estimates.get("current_invoice"), title=title)
                   if session.estimates else None,
                   email_note=_("A copy has been sent to %(email)s.") % {"email": session.customer.email}
                   if session.receipt_pending or session.receipt_sent_at else "",
                   already_bought=already_bought)
    return render(request, "checkout/completed.html", context)


def _redirect_for(session: CheckoutSession, which: str):
    return HttpResponseRedirect(merchant_url(session, which) or _page_url(session))


def _redirect_after_refusal(session: CheckoutSession):
    """A confirm that lost a race (double submit, second tab): send the customer where the
    winner went, or back to the page, which shows the final state."""
    session.refresh_from_db()
    if session.status == SessionStatus.COMPLETED:
        return _redirect_for(session, "success_url")
    if session.status == SessionStatus.PROCESSING:
        return _redirect_for(session, "pending_url")
    return HttpResponseRedirect(_page_url(session))


# --- views --------------------------------------------------------------------------------


@sensitive_post_parameters("card_number", "card_cvc")
@hosted_page
@require_http_methods(["GET", "HEAD", "POST"])
def checkout_page(request, token: str):
    """GET: the session in its current state. POST: confirm (pay, or be invoiced)."""
    if request.method != "POST":
        # Fast path: an open session whose page is cached costs one indexed lookup.
        probe = page_probe(token)
        if probe is None:
            return _not_found(request)
        page_view_record(probe.id)  # the dashboard's "page opened" (once per session and process)
        _use_language(request, probe)
        html = open_page_cached(probe)
        if html is not None:
            _allow_redirects(request, probe)
            return _cached_page_response(request, html)
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    if session.checkout_type == CheckoutType.SETUP and session.status in (SessionStatus.OPEN, SessionStatus.COMPLETED):
        return setup_page(request, session, _base_context(session), _redirect_for)
    if request.method != "POST":
        return _render_state(request, session)
    if session.status != SessionStatus.OPEN:
        return _redirect_after_refusal(session)
    if _adjustment_pending(session, request.POST):
        # Another billing interval, quantity or add-on picked but not applied (no JavaScript,
        # "Pay" clicked): priced first, so nobody pays for other items than the page shows.
        return _adjust_change(request, session)
    if _promotion_code_pending(session, request.POST):
        # A code typed but not applied (Enter pressed in its box, or "Pay" clicked): applied
        # first, so nobody pays a price other than the one the code they typed gives.
        return _promotion_change(request, session, remove=False)

    form = _form(session, data=request.POST)
    if not form.is_valid():
        return _render_open(request, session, form, status=422)
    choice = form.payment_choice()
    try:
        result = checkout_session_confirm(
            session_id=session.pk,
            payment_method=choice.method,
            card=choice.card,
            payment_method_id=choice.payment_method_id,
            customer_details=form.customer_details(),
            terms_accepted=form.cleaned_data.get("accept_terms", False),
            language=translation.get_language(),
            provider=form.provider,
            mandate=Mandate(ip_address=_client_ip(request), user_agent=request.headers.get("User-Agent", "")),
        )
    except (SessionNotOpen, SessionNotProcessing):
        return _redirect_after_refusal(session)
    except DomainError as error:
        session.refresh_from_db()
        return _render_open(request, session, form, error=page_error(error), status=error.status)

    if result.outcome == Outcome.COMPLETED:
        return _redirect_for(result.session, "success_url")
    if result.outcome == Outcome.PROCESSING:
        if result.payment is not None and result.payment.client_secret:
            # 3-D Secure: the customer authenticates on our processing page first.
            return HttpResponseRedirect(_page_url(session))
        return _redirect_for(result.session, "pending_url")
    # Declined: the page again, saying why, with what was typed (but the card number and code)
    # kept for the retry.
    session.refresh_from_db()
    return _render_open(request, session, _form(session, typed=_typed_values(session, request.POST)), status=402)


def _promotion_code_pending(session: CheckoutSession, data) -> bool:
    code = (data.get("promotion_code") or "").strip()
    if not code or not session.allow_promotion_codes:
        return False
    applied = ((session.quote or {}).get("discount") or {}).get("promotion_code") or ""
    return code.casefold() != applied.casefold()


def _adjustment_pending(session: CheckoutSession, data) -> bool:
    chosen = data.get("plan_id") or ""
    if chosen and session.plan_choices and chosen != str(session.plan_id):
        return True
    adjustments, current = _adjustments(data), quoted_quantities(session.quote)
    return (any(str(value).strip() != str(current.get(product_id)) for product_id, value in
                adjustments["quantities"].items())
            or any(keep != (product_id in current) for product_id, keep in adjustments["included"].items()))


def _adjustments(data) -> dict:
    """What the checkout form asks to change (``checkout_session_adjust``'s arguments): the
    plan (``plan_id``), quantities (``quantity_<product id>``) and add-ons (``addon_<product
    id>``: a hidden "0" before the checkbox's "1", the last one sent wins). Every such field is
    passed on, so a forged one is refused by the service, not ignored."""
    quantities, included = {}, {}
    for name in data:
        if name.startswith("quantity_"):
            quantities[name.removeprefix("quantity_")] = data.get(name)
        elif name.startswith("addon_"):
            included[name.removeprefix("addon_")] = data.getlist(name)[-1] == "1"
    # A plan_id sent, even empty, is a plan asked for (an empty one is not offered).
    return {"plan_id": data.get("plan_id", "") if "plan_id" in data else None, "quantities": quantities,
            "included": included}


def _client_ip(request) -> str | None:
    """Where the click came from, for the mandate: the address the request came from (behind a
    trusted proxy, Django's REMOTE_ADDR is set from it by the server)."""
    return request.META.get("REMOTE_ADDR") or None


@csrf_exempt
@require_POST
def stripe_webhook(request, settings_id: str):
    """Stripe's webhook for one organization's payment settings (the URL admin shows)."""
    try:
        outcome = stripe_event_handle(payment_settings_id=settings_id, payload=request.body,
                                      signature=request.headers.get("Stripe-Signature", ""))
    except StripeWebhookRejected as error:
        return JsonResponse(error_body(error.code, error.message), status=error.status)
    return JsonResponse({"received": True, "outcome": outcome})


@hosted_page
@require_POST
def checkout_setup_intent(request, token: str):
    """Nothing is charged today but the card is kept (Stripe): a SetupIntent for the page to
    confirm with Stripe.js. Answers its client secret, or the error envelope."""
    try:
        session = _load(request, token)
    except SessionNotFound as error:
        return JsonResponse(error_body(error.code, error.message), status=error.status)
    try:
        client_secret = checkout_session_setup_intent_create(session_id=session.pk)
    except DomainError as error:
        return JsonResponse(error_body(error.code, error.message), status=error.status)
    return JsonResponse({"client_secret": client_secret})


@hosted_page
@require_http_methods(["GET", "HEAD"])
def checkout_return(request, token: str):
    """Where the browser comes back after authenticating a payment (3-D Secure): the outcome
    is read from the payment provider, never from the URL, then the customer is sent on."""
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    if session.status == SessionStatus.PROCESSING:
        checkout_session_payment_sync(session_id=session.pk)
        session.refresh_from_db()
    if session.status == SessionStatus.COMPLETED:
        return _redirect_for(session, "success_url")
    if session.status == SessionStatus.PROCESSING and not _awaiting_authentication(session):
        return _redirect_for(session, "pending_url")
    return HttpResponseRedirect(_page_url(session))


@hosted_page
@require_http_methods(["GET", "HEAD"])
def checkout_invoice_pdf(request, token: str):
    """The completed session's invoice (or receipt) as a PDF, for whoever holds the page's
    token, as the thank-you page is: the same document the receipt e-mail carries."""
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    invoice = invoice_document_get(invoice_id=session.invoice.pk) if (
        session.status == SessionStatus.COMPLETED and hasattr(session, "invoice")) else None
    if invoice is None:
        return _not_found(request)
    document = invoice_document(invoice)
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    return response


def _awaiting_authentication(session: CheckoutSession) -> bool:
    payment = checkout_session_payment_latest(session, PaymentAttemptStatus.PENDING)
    return payment is not None and bool(payment.client_secret)


def _recovery_body(session: CheckoutSession) -> dict:
    """The expired session's create request, to be priced today: it starts today at the
    earliest (a plan-based contract or an amendment; a product-based contract keeps its phases'
    dates) and gets the default lifetime."""
    body = SessionTerms.of_session(session).request()
    body.pop("expires_at", None)
    today = timezone.now().date().isoformat()
    if "contract" in body:
        contract = body["contract"]
        if contract.get("is_plan_based") and contract["start_date"] < today:
            contract["start_date"] = today
    elif body.get("start_date") and body["start_date"] < today:
        body["start_date"] = today
    if body.get("trial_end") and body["trial_end"] <= today:
        body.pop("trial_end")  # a trial that has ended by now: the plan's own applies, if any
    return body


@hosted_page
@require_http_methods(["GET", "HEAD"])
def checkout_recover(request, token: str):
    """An expired session's recovery URL: a new session with the same terms, priced today (or
    the one already made from it), then its page; once a recovery has bought, its receipt. Terms that can no longer be sold (an archived
    plan, a contract that changed) show the expired page, with the merchant's address."""
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    if session.status != SessionStatus.EXPIRED:
        return HttpResponseRedirect(_page_url(session))
    recovered = checkout_session_recovery_bought(session_id=session.pk)
    if recovered is None:  # else the same offer is not priced again: it was bought
        try:
            data = validated(CheckoutSessionCreateSerializer, _recovery_body(session))
            recovered = checkout_session_recover(session_id=session.pk, terms=SessionTerms.from_request(data))
        except SessionNotFound:
            return _not_found(request)
        except (DomainError, ValidationError):
            context = _base_context(session)
            context.update(back_url=merchant_url(session, "cancel_url"))
            return render(request, "checkout/expired.html", context, status=409)
    return _recovered_page(request, recovered)


def _recovered_page(request, recovered: CheckoutSession):
    """Where a recovery link leads: the open session to pay, or, once the recovery bought,
    "you already completed this purchase" with its receipt (a payment still settling: its
    processing page)."""
    if recovered.status == SessionStatus.COMPLETED:
        _use_language(request, recovered)
        return _render_completed(request, recovered, already_bought=True)
    return HttpResponseRedirect(_page_url(recovered))


@hosted_page
@require_POST
def checkout_promotion_code(request, token: str):
    """The promotion code box: apply the typed code (``action=apply``) or remove the applied
    one; the page is priced again. The box's buttons submit the whole checkout form here, so
    the page comes back with everything the customer typed kept (but the card number and
    code); a post of the code alone is answered post/redirect/get. A refusal is shown on the
    field."""
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    return _promotion_change(request, session, remove=request.POST.get("action") == "remove")


def _promotion_change(request, session: CheckoutSession, *, remove: bool):
    form = PromotionCodeForm(request.POST)
    typed = _typed_values(session, request.POST)
    if not remove and not form.is_valid():
        return _render_open(request, session, _form(session, typed=typed), status=422,
                            promotion={"error": form.errors["promotion_code"][0], "value": ""})
    code = "" if remove else form.cleaned_data["promotion_code"]
    try:
        checkout_session_promotion_code_apply(session_id=session.pk, code=None if remove else code)
    except (SessionNotOpen, SessionNotProcessing):
        return HttpResponseRedirect(_page_url(session))
    except DomainError as error:
        session.refresh_from_db()
        if session.status != SessionStatus.OPEN:
            return HttpResponseRedirect(_page_url(session))
        return _render_open(request, session, _form(session, typed=typed), status=error.status,
                            promotion={"error": page_error(error), "value": code})
    if not typed:
        return HttpResponseRedirect(_page_url(session))
    session.refresh_from_db()
    return _render_open(request, session, _form(session, typed=typed))


@hosted_page
@require_POST
def checkout_adjust(request, token: str):
    """What the customer adjusts (``checkout_session_adjust``): the billing-interval switch
    ("Billed monthly / Billed yearly", ``plan_id``, one of the merchant's ``plan_choices``), the
    quantity of an adjustable line, an optional add-on kept or removed. The session is priced
    again with the change and locked. The boxes' buttons
    submits the whole checkout form here (with JavaScript, in the background: only the priced
    parts of the page are replaced). When the customer has typed nothing yet the answer is a
    redirect back to the page (post/redirect/get); else the page, re-priced, with what they
    typed kept (but the card number and code), as the promotion code box does. A plan not
    offered is refused on the switch (400), a forged line (400) or a quantity out of its bounds
    (422) on the items box, and nothing changes."""
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    return _adjust_change(request, session)


def _adjust_change(request, session: CheckoutSession):
    typed = _typed_values(session, request.POST)
    try:
        checkout_session_adjust(session_id=session.pk, **_adjustments(request.POST))
    except (SessionNotOpen, SessionNotProcessing):
        return HttpResponseRedirect(_page_url(session))
    except DomainError as error:
        session.refresh_from_db()
        if session.status != SessionStatus.OPEN:
            return HttpResponseRedirect(_page_url(session))
        if isinstance(error, PlanNotOffered):
            return _render_open(request, session, _form(session, typed=typed), status=error.status,
                                plan_error=page_error(error))
        field = next(iter(error.fields), "")
        message = (_("Choose a quantity from %(minimum)d to %(maximum)d.") % {
            "minimum": error.minimum, "maximum": error.maximum}) if isinstance(error, QuantityNotInRange) \
            else page_error(error)
        return _render_open(request, session, _form(session, typed=typed), status=error.status,
                            items_error=(field, message))
    # The page's script (X-Requested-With) swaps the priced parts in place: it needs the page
    # itself, whatever was typed (the card number it never sends).
    if request.headers.get("X-Requested-With") != "fetch" and not _typed_anything(session, typed):
        return HttpResponseRedirect(_page_url(session))
    session.refresh_from_db()
    return _render_open(request, session, _form(session, typed=typed))


def _typed_anything(session: CheckoutSession, typed: dict) -> bool:
    """Whether ``typed`` holds anything the customer entered (not just the form's defaults)."""
    blank = _form(session)
    return any(value not in ("", False, None) and value != blank[name].value() for name, value in typed.items())


def _typed_values(session: CheckoutSession, data) -> dict:
    """What the customer typed into the checkout form, to show again after the promotion code
    box re-priced the page: every field but the card number and security code (never echoed)
    and a Stripe payment method id. Values are shown, not trusted: the confirm validates them."""
    kept = {}
    for name, field_ in _form(session).fields.items():
        if name in KEPT_NEVER or name not in data:
            continue
        if name == "accept_terms":
            kept[name] = data.get(name) == "on"
            continue
        value = data.get(name, "").replace("\x00", "")
        kept[name] = value[:field_.max_length] if getattr(field_, "max_length", None) else value[:254]
    return kept


# Typed fields the page never shows again (PCI DSS: no card number or code in a response).
KEPT_NEVER = frozenset({"card_number", "card_cvc", "payment_method_id"})


@hosted_page
@require_POST
def checkout_cancel(request, token: str):
    try:
        session = _load(request, token)
    except SessionNotFound:
        return _not_found(request)
    try:
        session = checkout_session_cancel(
            organization_id=session.organization_id,
            session_id=session.pk,
            reason=CancellationReason.REQUESTED_BY_CUSTOMER,
        )
    except SessionNotOpen:
        return HttpResponseRedirect(_page_url(session))
    return _redirect_for(session, "cancel_url")
