"""Confirming a checkout session, and settling its payment.

One service for the hosted page, the merchant API and admin:

```
open ──confirm, paid now / invoice / nothing to pay──▶ completed
open ──confirm, payment settles later────────────────▶ processing ──settled──▶ completed
                                                       processing ──failed───▶ open (payment failed)
open ──card declined──▶ open (payment_status=failed; the customer may retry)
```

Guarantees
- Every transition is one transaction that first locks the session row
  (``checkout.sessions.transitions``: the same lock the expiry sweep, cancel, update and the
  settle task take, always session first) and ends with a compare-and-set on ``status``
  that writes the outbox event with it. Double submits, two tabs, a confirm racing the
  expiry sweep: the second caller waits for the lock, then finds the session no longer
  open and is refused. So exactly one outcome, one contract, one invoice
  (``Invoice.checkout_session`` is also unique) and one charge (``Payment``'s partial unique
  index allows one pending-or-succeeded charge per session).
- Everything that can refuse a confirm is decided before money moves, under the locks:
  the session is open and not due (a due one is expired, committed, and refused), the
  estimate is billable, an amendment's contract is the one it was priced on (locked), the
  coupon has a use left (locked), the customer's details and consent are there. Then the
  provider is asked to charge, and only a successful charge writes the customer, the
  contract, the invoice and the redemption, which nothing can refuse any more: a decline or
  a settle-later answer leaves nothing to undo, so no savepoint is needed.

A card payment is an attempt recorded before the provider is asked, and the provider is asked
outside every lock (as renewals are, ``billing.collection``):

1. under the session's lock, everything that can refuse is decided, then the attempt is written
   (a pending ``Payment`` with its gateway idempotency key ``checkout-<session>-<payment>`` and
   what is charged: amount, currency, the payment method id) and the session goes
   ``processing``; this commits. A double submit or a second tab now finds it not open.
2. the provider is called, the session unlocked (a hung gateway holds no row lock);
3. its answer is applied under the session's lock, once (``_payment_apply``): completed, still
   processing (3-D Secure, settles later) or declined (open again, payment failed).

No answer from the provider (network, timeout, its 5xx) is *unknown*, not a failure: the session
stays processing ("we're checking your payment"), and ``payment_settle`` (the sweep, within a
minute; a webhook about the intent, by its ``metadata.payment_id``) asks again with the same key
and the same parameters, which the gateway answers with the first outcome: never a second charge,
never a charge we think did not happen.
"""

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.enums import (
    CollectionMethod,
    InvoiceBillingReason,
    InvoiceStatus,
    PaymentAttemptStatus,
    PaymentMethod,
    PaymentProviderName,
    RefundReason,
)
from billing.errors import (
    AmountBelowProviderMinimum,
    AmountNotSupportedByProvider,
    ContractChanged,
    EstimateInconsistent,
    PaymentProviderUnavailable,
    PromotionCodeUsedUp,
)
from billing.estimates import Quote, estimate_new_contract
from billing.gateway import (
    TEST_PROVIDER,
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PaymentProvider,
    SavedMethod,
    SettleRequest,
    provider_for,
    stripe_amount_check,
    stripe_minimum_check,
    test_card_for,
)
from billing.models import Contract, Coupon, Invoice, Payment, PromotionCode, SavedPaymentMethod, TestClock
from billing.payment_methods import (
    provider_customer_remember,
    saved_payment_method_announce,
    saved_payment_method_record,
)
from billing.refunds import payment_refund_unapplied
from billing.renewals import contract_billing_resume
from billing.selectors import coupon_uses_left_check
from billing.services import (
    contract_amend_from_quote,
    contract_create_from_quote,
    contract_lock_for_amendment,
    coupon_redeem,
    invoice_create_from_estimate,
)
from checkout import effects
from checkout.enums import CheckoutType, EventType, PaymentStatus, SessionStatus
from checkout.errors import (
    CardRequired,
    ContractAmendmentInProgress,
    CustomerDetailsRequired,
    PaymentMethodNotAllowed,
    PaymentRequired,
    SessionNotPriced,
    SessionNotProcessing,
    SetupSessionNotConfirmable,
    TaxChanged,
    TermsNotAccepted,
)
from checkout.fastsql import EntityRow
from checkout.mandates import mandate_text, session_saves_card
from checkout.models import CheckoutSession
from checkout.selectors import checkout_session_amendment_in_flight, payment_settings_get
from checkout.services.card_setup import (
    checkout_session_card_set_up,
    checkout_session_provider_customer,
)
from checkout.services.create import checkout_tax_decide
from checkout.sessions.transitions import session_lock_open, session_locked, session_transition
from customers.models import Customer
from customers.services import customer_get_or_create_for_guest

logger = logging.getLogger(__name__)

# How long a customer has to complete 3-D Secure before the payment is given up.
AUTHENTICATION_WINDOW = timedelta(hours=1)
# An attempt whose answer never came is asked again this long after it was recorded (the
# settle sweep runs every minute): long enough for a slow gateway call still in flight.
UNKNOWN_GRACE = timedelta(seconds=20)


# --- results ------------------------------------------------------------------------------


class Outcome:
    COMPLETED = "completed"
    PROCESSING = "processing"
    PAYMENT_FAILED = "payment_failed"


@dataclass(frozen=True)
class ConfirmResult:
    session: CheckoutSession
    outcome: str
    payment: Payment | None = None
    contract: Contract | None = None
    invoice: Invoice | None = None
    failure_code: str = ""
    failure_message: str = ""
    payment_method: SavedPaymentMethod | None = None


@dataclass(frozen=True)
class _Fulfilment:
    customer: Customer
    customer_created: bool
    contract: Contract
    invoice: Invoice
    payment_method: SavedPaymentMethod | None = None


@dataclass(frozen=True)
class Mandate:
    """The customer's agreement to the renewals, as the page showed it: the card saved at
    confirm is charged later under it. ``text`` is filled by the confirm (``checkout.mandates``,
    in the page's language); the page gives where the click came from."""

    ip_address: str | None = None
    user_agent: str = ""


# --- helpers ------------------------------------------------------------------------------


def checkout_session_amount_due(session: CheckoutSession) -> Decimal:
    """What confirming charges: the locked estimate's current invoice, ``amount_due`` (after
    credit) or else its ``total``. Raises ``SessionNotPriced`` without a usable estimate, and
    ``EstimateInconsistent`` for one that does not add up (lines to the subtotal, subtotal and
    tax to the total): the invoice would refuse it, and that must be known before a charge."""
    current = (session.estimates or {}).get("current_invoice")
    if not current or not session.quote:
        raise SessionNotPriced()
    try:
        due = Decimal(current.get("amount_due", current["total"]))
        lines = sum((Decimal(line["amount"]) for line in current.get("line_items") or ()), Decimal(0))
        subtotal, tax, total = (Decimal(current[name]) for name in ("subtotal", "tax", "total"))
    except (KeyError, TypeError, InvalidOperation):
        raise SessionNotPriced("The checkout session's estimate is malformed.") from None
    included = Decimal(current.get("tax_included") or 0)
    if lines != subtotal + included or subtotal + tax != total:
        raise EstimateInconsistent()
    return due


def customer_details_merge(stored: dict | None, submitted: dict | None) -> dict:
    """The guest's details: what the merchant sent, overridden by what the customer typed.

    Keys the page does not collect (phone number, external id, custom data, ship-to address)
    are kept from the merchant's request; the address is replaced as a whole by the typed one
    so a cleared line stays cleared (``line3``, not on the page, is kept).
    """
    details = dict(stored or {})
    if submitted:
        typed_address = submitted.get("address")
        details.update({k: v for k, v in submitted.items() if k != "address"})
        if typed_address is not None:
            kept = {k: v for k, v in (details.get("address") or {}).items() if k == "line3"}
            details["address"] = {**kept, **typed_address}
    return details


def checkout_session_payment_provider(session: CheckoutSession) -> PaymentProvider | None:
    """The provider that takes this session's card payment (the organization's settings for
    the session's mode), or None when card payments are not available (live mode without
    Stripe)."""
    settings_row = payment_settings_get(organization_id=session.organization_id, livemode=session.livemode)
    return provider_for(settings_row, livemode=session.livemode)


def _payment_provider(payment: Payment) -> PaymentProvider | None:
    """The provider a payment was made with (its organization's settings, for Stripe)."""
    if payment.provider == TEST_PROVIDER.name:
        return TEST_PROVIDER
    session = CheckoutSession.objects.only("organization_id", "livemode").get(pk=payment.checkout_session_id)
    provider = checkout_session_payment_provider(session)
    return provider if provider is not None and provider.name == payment.provider else None


def _fulfil(session: CheckoutSession, *, invoice_status: str, enforce_redemption_limit: bool = True,
            saved: SavedMethod | None = None, provider_name: str = "", mandate: Mandate | None = None,
            language: str = "", collection_method: str = CollectionMethod.CHARGE_AUTOMATICALLY) -> _Fulfilment:
    """Customer (guests), the card saved for the renewals (``saved``, with its mandate), contract
    or new phase, the first invoice, from the locked quote, and the discount's redemption. Runs
    once nothing can refuse the confirm any more (for a card: after the charge succeeded). A new
    contract starts its renewals where the first invoice leaves them, in its own INSERT; an
    amendment moves them on (``contract_billing_resume``)."""
    clock_id = ...  # unknown: billing looks the customer's test clock up
    if session.guest_checkout and session.customer_id is None:
        customer, created = customer_get_or_create_for_guest(
            organization_id=session.organization_id,
            business_entity_id=session.business_entity_id,
            details=session.customer_details or {},
        )
        if created:
            clock_id = None
    else:
        customer, created = session.customer or Customer.objects.get(pk=session.customer_id), False
        if customer is session.customer:  # read with the session's lock, its test clock with it
            clock_id = _test_clock_id(customer)
    method = None
    if saved is not None:
        method = saved_payment_method_record(
            organization_id=session.organization_id, customer_id=customer.pk, livemode=session.livemode,
            provider=provider_name, saved=saved, mandate_text=_mandate_text(session, language),
            ip_address=(mandate or Mandate()).ip_address, user_agent=(mandate or Mandate()).user_agent,
            checkout_session_id=session.pk)
        provider_customer_remember(organization_id=session.organization_id, customer_id=customer.pk,
                                   livemode=session.livemode, provider=provider_name,
                                   reference=saved.customer_reference)
    quote = Quote.from_json(session.quote)
    new_contract = session.checkout_type == CheckoutType.NEW_CONTRACT
    if new_contract:
        contract = contract_create_from_quote(
            organization_id=session.organization_id,
            customer_id=customer.pk,
            business_entity_id=session.business_entity_id,
            quote=quote,
            livemode=session.livemode,
            test_clock_id=clock_id,
            first_invoice=session.estimates["current_invoice"],
            default_payment_method_id=method.pk if method else None,
            collection_method=collection_method,
        )
    else:
        contract, _phase = contract_amend_from_quote(
            organization_id=session.organization_id,
            contract_id=session.contract_id,
            quote=quote,
            expected_version=session.contract_version,
            expected_phase_id=session.contract_phase_id,
        )
    invoice = invoice_create_from_estimate(
        organization_id=session.organization_id,
        contract_id=contract.pk,
        customer_id=customer.pk,
        checkout_session_id=session.pk,
        estimate=session.estimates["current_invoice"],
        status=invoice_status,
        livemode=session.livemode,
        billing_reason=InvoiceBillingReason.CHECKOUT if new_contract else InvoiceBillingReason.AMENDMENT,
        business_entity_id=contract.business_entity_id,
        payment_terms_days=session.business_entity.payment_terms_days
        if collection_method == CollectionMethod.SEND_INVOICE else None,
    )
    if not new_contract:
        contract = contract_billing_resume(contract_id=contract.pk, invoice=invoice)
        if method is not None:
            Contract.objects.filter(pk=contract.pk).update(default_payment_method=method)
    if method is not None:
        saved_payment_method_announce(method)
    if session.terms_url and session.terms_accepted_at:
        Contract.objects.filter(pk=contract.pk).update(terms_url=session.terms_url,
                                                      terms_accepted_at=session.terms_accepted_at)
        contract.terms_url, contract.terms_accepted_at = session.terms_url, session.terms_accepted_at
    if session.coupon_id is not None:
        coupon_redeem(coupon_id=session.coupon_id, promotion_code_id=session.promotion_code_id,
                      checkout_session_id=session.pk, contract_id=contract.pk, customer_id=customer.pk,
                      enforce_limit=enforce_redemption_limit)
    return _Fulfilment(customer, created, contract, invoice, method)


def _mandate_text(session: CheckoutSession, language: str) -> str:
    """The agreement as the page showed it, in the page's language (English for the API)."""
    with translation.override(language or session.customer_language or "en"):
        return mandate_text(session)


def _test_clock_id(customer: Customer):
    """The customer's test clock id (None without one), as read with it (``select_related``)."""
    try:
        return customer.test_clock.pk
    except TestClock.DoesNotExist:
        return None


def _amendment_guard(session: CheckoutSession) -> None:
    """An amendment is confirmed only against the contract it was priced on, and one at a time.

    Locks the contract (after the session: the lock order everywhere) and checks its version
    and phase in force are the quote's (else ``ContractChanged``), and that no other
    amendment of it has a payment in flight (else ``ContractAmendmentInProgress``): two
    amendments confirmed at once queue on the contract lock, and the second sees the first's
    new version or its processing session. Nothing is charged when refused."""
    if session.checkout_type == CheckoutType.NEW_CONTRACT:
        return
    contract_lock_for_amendment(
        organization_id=session.organization_id, contract_id=session.contract_id,
        expected_version=session.contract_version, expected_phase_id=session.contract_phase_id,
        on=session.start_date,
    )
    if checkout_session_amendment_in_flight(
        organization_id=session.organization_id, contract_id=session.contract_id, exclude_id=session.pk
    ):
        raise ContractAmendmentInProgress()


def _complete(session: CheckoutSession, fulfilment: _Fulfilment, *, expected: str, payment_status: str,
              payment_method: str, payment: Payment | None = None, **clicked) -> None:
    receipt = bool(fulfilment.customer.email)
    data = {
        "invoice_id": str(fulfilment.invoice.pk),
        "payment_method": payment_method,
        "customer_created": fulfilment.customer_created,
    }
    if session.guest_checkout and not fulfilment.customer_created:
        data["customer_matched_existing"] = True
    if payment is not None:
        data["payment_id"] = str(payment.pk)
    if fulfilment.payment_method is not None:
        data["saved_payment_method_id"] = str(fulfilment.payment_method.pk)
    session_transition(
        session,
        expected=expected,
        status=SessionStatus.COMPLETED,
        payment_status=payment_status,
        payment_method=payment_method,
        customer_id=fulfilment.customer.pk,
        contract_id=fulfilment.contract.pk,
        completed_at=timezone.now(),
        receipt_pending=receipt,
        **clicked,
        event=EventType.COMPLETED,
        data=data,
    )
    if receipt:
        # Broker down: the receipt sweep (receipts_send_pending) sends it a minute later.
        effects.effect_enqueue_on_commit(effects.RECEIPT_SEND, session_id=str(session.pk))


def _queue_settle(payment_id) -> None:
    # Broker down: the periodic settle sweep (or ops in admin) resolves the payment.
    if not settings.PAYMENTS_AUTO_SETTLE:
        # The demo (`make run`): the session stays processing until ops settle it
        # (`manage.py settle_payments` or the admin action), so the story can be followed.
        return
    effects.effect_enqueue_on_commit(effects.PAYMENT_SETTLE, payment_id=str(payment_id))


# --- confirm ------------------------------------------------------------------------------


class _TaxRepriced(Exception):
    """The guest's typed details change the tax and the total: raised out of the confirm's
    transaction (nothing is charged), then the new estimate is locked and ``TaxChanged`` raised."""

    def __init__(self, estimates: dict, clicked: dict):
        super().__init__("tax changed")
        self.estimates, self.clicked = estimates, clicked


def checkout_session_confirm(*, session_id, **options) -> ConfirmResult:
    """``_checkout_session_confirm``; a guest whose billing country or VAT number changes the tax
    (``billing.tax``) and so the total is refused with ``TaxChanged`` (409) before any charge, and
    the session is priced again with that tax and what they typed: the page shows the new total
    and they confirm again. When the total stays the same (tax-inclusive prices, the same rate)
    the confirm simply goes on with the new tax on the invoice."""
    try:
        return _checkout_session_confirm(session_id=session_id, **options)
    except _TaxRepriced as repriced:
        with session_lock_open(session_id=session_id, organization_id=options.get("organization_id"),
                               livemode=options.get("livemode"), action="confirmed") as session:
            session_transition(session, estimates=repriced.estimates,
                               amount_total=Decimal(repriced.estimates["current_invoice"]["total"]),
                               **{k: v for k, v in repriced.clicked.items() if k == "customer_details"})
        raise TaxChanged() from None


def _guest_tax(session: CheckoutSession, clicked: dict) -> None:
    """A guest's new contract priced with the tax their typed details call for: unchanged, nothing
    to do; the same amount due, the new estimate goes in ``clicked`` (written with the
    completion); another amount, ``_TaxRepriced``."""
    if not session.guest_checkout or session.checkout_type != CheckoutType.NEW_CONTRACT:
        return
    details = session.customer_details or {}
    entity = session.business_entity
    tax = checkout_tax_decide(entity=EntityRow(entity.pk, entity.tax_rate, entity.address),
                              address=details.get("address"), tax_info=details.get("tax_info"))
    current = session.estimates["current_invoice"]
    rate = current.get("tax_rate")
    if (None if rate is None else Decimal(rate)) == tax.rate and (current.get("tax_reason") or "") == tax.reason:
        return
    estimates = estimate_new_contract(quote=Quote.from_json(session.quote), tax_rate=tax.rate,
                                      tax_reason=tax.reason).to_json()
    if estimates["current_invoice"]["amount_due"] != current.get("amount_due", current["total"]):
        raise _TaxRepriced(estimates, clicked)
    clicked["estimates"] = session.estimates = estimates


def _checkout_session_confirm(
    *,
    session_id,
    organization_id=None,
    livemode: bool | None = None,
    payment_method: str = PaymentMethod.CARD,
    card: CardDetails | None = None,
    payment_method_id: str = "",
    customer_details: dict | None = None,
    terms_accepted: bool = False,
    language: str = "",
    provider: PaymentProvider | None = None,
    mandate: Mandate | None = None,
    now=None,
) -> ConfirmResult:
    """Confirm an open session: pay (or choose to be invoiced) and fulfil.

    ``organization_id`` / ``livemode`` scope the lookup for the merchant API (another tenant's
    or mode's id is not found); the hosted page has already found the session by its token.
    ``customer_details`` (guest sessions) are what the customer typed, merged over what the
    merchant sent. ``language`` is the page's (the receipt is written in it). ``provider``: the
    card provider the page showed (else looked up). A session that bills again later keeps the
    card for those charges, under the agreement the page showed (``mandate``: where the click
    came from); with nothing due today the card is only saved (``payment_method_collection``
    says whether one is asked for). Returns the outcome (``completed``, ``processing`` or
    ``payment_failed``); raises for refusals (not found, not open, expired, method not allowed,
    details missing).
    """
    now = now or timezone.now()
    with session_lock_open(session_id=session_id, now=now, organization_id=organization_id, livemode=livemode,
                           related=("business_entity", "customer", "customer__test_clock"),
                           action="confirmed") as session:
        if session.checkout_type == CheckoutType.SETUP:
            # Its card is typed on the hosted page (checkout.services.setup), never sent here.
            raise SetupSessionNotConfirmable()
        amount_due = checkout_session_amount_due(session)
        _amendment_guard(session)
        clicked = _clicked(session, now=now, terms_accepted=terms_accepted, language=language,
                           customer_details=customer_details)
        _guest_tax(session, clicked)

        saves_card = session_saves_card(session, amount_due)
        if amount_due <= 0:
            if saves_card and payment_method != PaymentMethod.INVOICE:
                return _confirm_by_card_setup(session, provider=provider, card=card,
                                              payment_method_id=payment_method_id, mandate=mandate,
                                              language=language, clicked=clicked)
            fulfilment = _fulfil(session, invoice_status=InvoiceStatus.PAID)
            _complete(session, fulfilment, expected=SessionStatus.OPEN, payment_status=PaymentStatus.NO_PAYMENT_REQUIRED,
                      payment_method=PaymentMethod.NONE, **clicked)
            return ConfirmResult(session, Outcome.COMPLETED, contract=fulfilment.contract, invoice=fulfilment.invoice)

        if payment_method == PaymentMethod.NONE:
            raise PaymentRequired(f"{amount_due} {session.currency} is due; choose a way to pay.",
                                  field="mode")

        if payment_method == PaymentMethod.INVOICE:
            if not session.business_entity.allow_invoice_payment:
                raise PaymentMethodNotAllowed(
                    "This merchant does not accept payment by invoice.", field="payment_method"
                )
            # The renewals are invoiced the same way: e-mailed, paid by the customer.
            fulfilment = _fulfil(session, invoice_status=InvoiceStatus.OPEN,
                                 collection_method=CollectionMethod.SEND_INVOICE)
            # Completed, with the money still to come: the invoice is open and
            # payment_status stays pending until it is paid.
            _complete(session, fulfilment, expected=SessionStatus.OPEN, payment_status=PaymentStatus.PENDING,
                      payment_method=PaymentMethod.INVOICE, **clicked)
            return ConfirmResult(session, Outcome.COMPLETED, contract=fulfilment.contract, invoice=fulfilment.invoice)

        if payment_method != PaymentMethod.CARD:
            raise PaymentMethodNotAllowed(field="payment_method")
        provider, card = _card_provider(session, provider, card, payment_method_id)
        attempt = _card_attempt_record(session, provider=provider, card=card, payment_method_id=payment_method_id,
                                       amount=amount_due, clicked=clicked, saves_card=saves_card, mandate=mandate,
                                       language=language)
    # Committed: the attempt exists whatever happens to this process or to the answer.
    return _card_attempt_send(attempt)


def _card_provider(session: CheckoutSession, provider: PaymentProvider | None, card: CardDetails | None,
                   payment_method_id: str) -> tuple[PaymentProvider, CardDetails | None]:
    """The provider taking the card, and the card (the API's test payment method ids stand for
    test cards); refuses a confirm without what the provider needs."""
    provider = provider or _provider_for(session)
    if card is None and not provider.hosted_card_fields and payment_method_id:
        card = test_card_for(payment_method_id)  # the API's test payment method ids
    if (provider.hosted_card_fields and not payment_method_id) or (not provider.hosted_card_fields and card is None):
        raise CardRequired(field="payment_method_id")
    return provider, card


def _confirm_by_card_setup(session: CheckoutSession, *, provider: PaymentProvider | None, card: CardDetails | None,
                           payment_method_id: str, mandate: Mandate | None, language: str,
                           clicked: dict) -> ConfirmResult:
    """Nothing due today (a free trial, a 100 % discount), but the renewals will be charged: the
    card is saved, not charged (the test provider checks it; Stripe's card comes set up by a
    SetupIntent the page confirmed), then the session completes as with nothing to pay."""
    provider, card = _card_provider(session, provider, card, payment_method_id)
    result = checkout_session_card_set_up(session=session, provider=provider, card=card,
                                          payment_method_id=payment_method_id)
    if result.status != ChargeStatus.SUCCEEDED or result.saved_method is None:
        session_transition(session, expected=SessionStatus.OPEN, payment_status=PaymentStatus.FAILED, **clicked,
                           event=EventType.PAYMENT_FAILED, data={
                               "payment_id": None, "failure_code": result.failure_code[:64],
                               "failure_message": result.failure_message[:300]})
        return ConfirmResult(session, Outcome.PAYMENT_FAILED, failure_code=result.failure_code,
                             failure_message=result.failure_message)
    fulfilment = _fulfil(session, invoice_status=InvoiceStatus.PAID, saved=result.saved_method,
                         provider_name=provider.name, mandate=mandate, language=language)
    _complete(session, fulfilment, expected=SessionStatus.OPEN, payment_status=PaymentStatus.NO_PAYMENT_REQUIRED,
              payment_method=PaymentMethod.CARD, **clicked)
    return ConfirmResult(session, Outcome.COMPLETED, contract=fulfilment.contract, invoice=fulfilment.invoice,
                         payment_method=fulfilment.payment_method)


def _provider_for(session: CheckoutSession) -> PaymentProvider:
    provider = checkout_session_payment_provider(session)
    if provider is None:
        raise PaymentProviderUnavailable()
    return provider


def _clicked(session: CheckoutSession, *, now, terms_accepted: bool, language: str, customer_details) -> dict:
    """What the customer's click records, written with whichever transition the confirm ends
    in (even a payment that settles later): consent, the page's language, a guest's typed
    details. Refuses missing consent or a guest without a name."""
    clicked = {}
    if session.terms_url:
        if not terms_accepted:
            raise TermsNotAccepted(field="accept_terms")
        clicked["terms_accepted_at"] = now
    if language and language != session.customer_language:
        clicked["customer_language"] = language
    if session.guest_checkout:
        details = customer_details_merge(session.customer_details, customer_details)
        if not (details.get("customer_name") or "").strip():
            raise CustomerDetailsRequired(field="customer.customer_name")
        if details != session.customer_details:
            clicked["customer_details"] = details
    for name, value in clicked.items():  # fulfilment reads them (the guest's details, the consent)
        setattr(session, name, value)
    return clicked


@dataclass(frozen=True)
class _CardAttempt:
    session: CheckoutSession
    payment: Payment
    provider: PaymentProvider
    request: ChargeRequest
    saves_card: bool
    mandate: Mandate | None
    language: str


def _card_attempt_record(session: CheckoutSession, *, provider: PaymentProvider, card: CardDetails | None,
                         payment_method_id: str, amount: Decimal, clicked: dict, saves_card: bool = False,
                         mandate: Mandate | None = None, language: str = "") -> _CardAttempt:
    """The attempt, written before the provider is asked (the session locked): a pending payment
    with its key and parameters, and the session processing (no event yet: the answer decides
    which one). The partial unique index allows one such payment per session."""
    if session.coupon_id is not None:  # its last use may have gone meanwhile: refuse before charging
        coupon_uses_left_check(coupon_id=session.coupon_id, promotion_code_id=session.promotion_code_id)
        _coupon_in_flight_check(session)
    if provider.name == PaymentProviderName.STRIPE and (refusal := stripe_amount_check(amount, session.currency)):
        raise AmountNotSupportedByProvider(refusal, field="currency")
    if provider.name == PaymentProviderName.STRIPE and (refusal := stripe_minimum_check(amount, session.currency)):
        # Created payable by invoice (or before Stripe was set up): the card cannot take it.
        raise AmountBelowProviderMinimum(refusal, field="currency")
    payment = Payment(
        organization_id=session.organization_id, checkout_session=session, livemode=session.livemode,
        provider=provider.name, method=PaymentMethod.CARD, amount=amount, currency=session.currency,
        card_last4=card.last4 if card else "", status=PaymentAttemptStatus.PENDING,
        payment_method_reference=payment_method_id,
    )
    # One key per attempt, bound to this payment and so to its parameters: a retry of this
    # attempt repeats both, a new attempt (another card) gets a new key.
    payment.idempotency_key = f"checkout-{session.pk}-{payment.pk}"
    payment.save(force_insert=True)
    session_transition(session, expected=SessionStatus.OPEN, status=SessionStatus.PROCESSING,
                       payment_status=PaymentStatus.PENDING, payment_method=PaymentMethod.CARD, **clicked)
    return _CardAttempt(session, payment, provider, _charge_request(payment, card=card, saves_card=saves_card),
                        saves_card, mandate, language)


def _coupon_in_flight_check(session: CheckoutSession) -> None:
    """A card payment in flight holds a use of its coupon (and promotion code) until it ends: the
    coupon is locked only while the attempt is recorded, not for the gateway call, so the other
    sessions processing with it count as uses. Refuses with ``PromotionCodeUsedUp``."""
    rows = [(Coupon, session.coupon_id, "coupon_id",
             "code" if session.promotion_code_id is not None else "discount")]
    if session.promotion_code_id is not None:
        rows.insert(0, (PromotionCode, session.promotion_code_id, "promotion_code_id", "code"))
    for model, pk, field, noun in rows:
        row = model.objects.only("max_redemptions", "times_redeemed").get(pk=pk)  # locked by the check
        if row.max_redemptions is None:
            continue
        in_flight = (CheckoutSession.objects.filter(**{field: pk}, status=SessionStatus.PROCESSING)
                     .exclude(pk=session.pk).count())
        if row.times_redeemed + in_flight >= row.max_redemptions:
            raise PromotionCodeUsedUp(
                f"This {noun} has just been used for the last time. Remove it to continue at the full price.",
                field="promotion_code")


def _charge_request(payment: Payment, *, card: CardDetails | None = None, saves_card: bool = False,
                    customer_reference: str = "") -> ChargeRequest:
    """What the provider is asked for an attempt: built from the recorded payment only, so a
    retry sends exactly the parameters of the first call."""
    return ChargeRequest(
        amount=payment.amount, currency=payment.currency, card=card,
        payment_method_id=payment.payment_method_reference, idempotency_key=payment.idempotency_key,
        description=f"Checkout {payment.checkout_session_id}",
        metadata={"checkout_session_id": str(payment.checkout_session_id), "payment_id": str(payment.pk)},
        save_for_future=saves_card, customer_reference=customer_reference)


def _card_attempt_send(attempt: _CardAttempt) -> ConfirmResult:
    """Ask the provider (no lock held) and apply its answer; no answer leaves the attempt
    pending for ``payment_settle`` to ask again."""
    try:
        # A card kept for the renewals is attached to the provider's customer (Stripe: created
        # once, the same on a retry, so a retried call sends the same parameters; none for the
        # test provider). Asked here, with no row locked, like the charge.
        request = replace(attempt.request, customer_reference=checkout_session_provider_customer(
            session=attempt.session, provider=attempt.provider)) if attempt.saves_card else attempt.request
        result = attempt.provider.charge(request)
    except PaymentProviderUnavailable:
        logger.warning("payment %s: no answer from %s; asked again by its key", attempt.payment.pk,
                       attempt.provider.name)
        return ConfirmResult(attempt.session, Outcome.PROCESSING, attempt.payment)
    try:
        return _provider_answer_apply(attempt.session.pk, result=result, payment_id=attempt.payment.pk,
                                      saved=result.saved_method if attempt.saves_card else None, saved_known=True,
                                      mandate=attempt.mandate, language=attempt.language)
    except SessionNotProcessing:  # a webhook or the sweep applied the same answer first
        return _result_now(attempt.session.pk, attempt.payment.pk)


def _result_now(session_id, payment_id) -> ConfirmResult:
    session = CheckoutSession.objects.get(pk=session_id)
    payment = Payment.objects.get(pk=payment_id)
    if session.status == SessionStatus.COMPLETED:
        return ConfirmResult(session, Outcome.COMPLETED, payment, invoice=getattr(session, "invoice", None))
    if payment.status == PaymentAttemptStatus.FAILED:
        return ConfirmResult(session, Outcome.PAYMENT_FAILED, payment, failure_code=payment.failure_code,
                             failure_message=payment.failure_message)
    return ConfirmResult(session, Outcome.PROCESSING, payment)


def _payment_failed(session: CheckoutSession, payment: Payment, *, expected: str, **transition) -> ConfirmResult:
    """The session's side of a failed payment (recorded already): its ``payment_status`` (and
    whatever else ``transition`` changes) under a compare-and-set on ``expected``, and the
    event."""
    session_transition(session, expected=expected, payment_status=PaymentStatus.FAILED, **transition,
                       event=EventType.PAYMENT_FAILED, data={
                           "payment_id": str(payment.pk), "failure_code": payment.failure_code,
                           "failure_message": payment.failure_message})
    return ConfirmResult(session, Outcome.PAYMENT_FAILED, payment,
                         failure_code=payment.failure_code, failure_message=payment.failure_message)


def _payment_update(payment: Payment, **changes) -> None:
    changes["updated_at"] = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(**changes)
    for name, value in changes.items():
        setattr(payment, name, value)


# --- settling a processing payment ----------------------------------------------------------


@transaction.atomic
def _payment_apply(session_id, *, result: ChargeResult, payment_id=None, organization_id=None,
                   saved: SavedMethod | None = None, saved_known: bool = False, mandate: Mandate | None = None,
                   language: str = "", refund: bool = False) -> ConfirmResult:
    """Apply a provider's answer to a processing session's pending payment, exactly once (the
    session, then the payment, locked): succeeded → completed; pending or 3-D Secure → still
    processing, the answer kept; failed → open again, payment failed. ``saved``: the card the
    charge saved (``saved_known``), else asked from the provider when the session keeps it.
    ``refund``: a failure whose money came in all the same goes back through the provider.
    Raises ``SessionNotProcessing`` when the session or payment is no longer waiting for it, and
    ``ContractChanged`` (nothing written) when the amendment's contract changed meanwhile."""
    session = session_locked(session_id=session_id, organization_id=organization_id,
                             related=("business_entity", "customer", "customer__test_clock"))
    if session.status != SessionStatus.PROCESSING:
        raise SessionNotProcessing(f"The checkout session is {session.status}, not processing a payment.")
    payments = Payment.objects.select_for_update().filter(
        checkout_session_id=session.pk, status=PaymentAttemptStatus.PENDING
    )
    if payment_id is not None:
        payments = payments.filter(pk=payment_id)
    payment = payments.first()
    if payment is None:
        raise SessionNotProcessing("The checkout session has no pending payment.")
    reference = result.reference or payment.provider_reference
    if result.status == ChargeStatus.SUCCEEDED:
        # The money came in at the price the customer was shown: the discount is honoured
        # even if its last use went to someone else meanwhile. The card it came from is kept
        # for the renewals, as the page said.
        if not saved_known and session_saves_card(session, payment.amount):
            provider = _payment_provider(payment)
            saved = provider.saved_method_of(reference, payment.card_last4) if provider else None
        fulfilment = _fulfil(session, invoice_status=InvoiceStatus.PAID, enforce_redemption_limit=False,
                             saved=saved, provider_name=payment.provider, mandate=mandate, language=language)
        _payment_update(payment, status=PaymentAttemptStatus.SUCCEEDED, provider_reference=reference,
                        client_secret="", card_last4=result.card_last4 or payment.card_last4,
                        saved_payment_method=fulfilment.payment_method)
        _complete(session, fulfilment, expected=SessionStatus.PROCESSING, payment_status=PaymentStatus.PAID,
                  payment_method=PaymentMethod.CARD, payment=payment)
        return ConfirmResult(session, Outcome.COMPLETED, payment, fulfilment.contract, fulfilment.invoice,
                             payment_method=fulfilment.payment_method)
    if result.status in (ChargeStatus.PENDING, ChargeStatus.REQUIRES_ACTION):
        # Money in flight (or 3-D Secure to complete in the browser): processing never
        # expires, and the outcome arrives through payment_settle. The first answer says so.
        first_answer = not payment.provider_reference
        _payment_update(payment, provider_reference=reference,
                        client_secret=result.client_secret or payment.client_secret)
        if first_answer:
            session_transition(session, expected=SessionStatus.PROCESSING, event=EventType.PROCESSING,
                               data={"payment_id": str(payment.pk)})
            _queue_settle(payment.pk)
        return ConfirmResult(session, Outcome.PROCESSING, payment)
    _payment_update(payment, status=PaymentAttemptStatus.FAILED, provider_reference=reference, client_secret="",
                    failure_code=(result.failure_code or "payment_failed")[:64],
                    failure_message=(result.failure_message or str(_(
                        "The payment could not be completed. Try another card or payment method.")))[:300])
    if refund:
        payment_refund_unapplied(payment_id=payment.pk, reason=RefundReason.CONTRACT_CHANGED)
    # Back to open so the customer may retry; if it is past expires_at by now, the next
    # read expires it.
    return _payment_failed(session, payment, expected=SessionStatus.PROCESSING, status=SessionStatus.OPEN)


def _provider_answer_apply(session_id, *, result: ChargeResult, payment_id, **kwargs) -> ConfirmResult:
    """A provider's answer, applied (``_payment_apply``). Money that came in for a contract that
    changed meanwhile cannot happen through our services (a second amendment is refused while
    this one is processing) but an ops edit of the contract can: nothing is applied, the payment
    fails and its money goes back through the provider."""
    try:
        return _payment_apply(session_id, result=result, payment_id=payment_id, **kwargs)
    except ContractChanged:
        logger.warning("payment %s came in for a contract that changed meanwhile; refunded", payment_id)
        return _payment_apply(session_id, payment_id=payment_id, refund=True, result=ChargeResult(
            ChargeStatus.FAILED, result.reference, ContractChanged.code, str(_(
                "The contract changed while this payment was processing; the payment will be refunded."))))


def checkout_session_payment_resolve(*, session_id, succeeded: bool, organization_id=None) -> ConfirmResult:
    """Ops: mark a processing session's payment received (→ completed, contract and invoice
    created) or failed (→ open, payment_status failed). Refused unless processing."""
    result = ChargeResult(ChargeStatus.SUCCEEDED) if succeeded else ChargeResult(
        ChargeStatus.FAILED, failure_code="marked_failed_by_ops")
    return _payment_apply(session_id, result=result, organization_id=organization_id)


def payments_pending_unsettled(*, grace_seconds: float, limit: int = 500) -> list:
    """Ids of payments still pending ``grace_seconds`` after they were made (test provider,
    or a Stripe intent whose webhook has not come), and of attempts whose answer never came
    (no provider reference) ``UNKNOWN_GRACE`` after they were recorded: those are asked again
    within the minute. Bounded by created_at (indexed) so the read does not grow with the
    payments table."""
    now = timezone.now()
    pending = Payment.objects.filter(status=PaymentAttemptStatus.PENDING, checkout_session__isnull=False,
                                     created_at__gte=now - timedelta(days=7))
    return list(
        pending.filter(Q(created_at__lte=now - timedelta(seconds=grace_seconds))
                       | Q(provider_reference="", created_at__lte=now - UNKNOWN_GRACE))
        .values_list("id", flat=True)[:limit]
    )


def checkout_session_payment_sync(*, session_id) -> ConfirmResult | None:
    """Read a processing session's pending payment back from its provider and apply the
    outcome (the return page after 3-D Secure). Same path, and same guarantees, as a webhook
    or the settle sweep: whichever comes first applies it, the others find nothing to do."""
    payment = (Payment.objects.filter(checkout_session_id=session_id, status=PaymentAttemptStatus.PENDING)
               .only("id").first())
    return None if payment is None else payment_settle(payment_id=payment.pk)


def payment_settle(*, payment_id, reference: str = "") -> ConfirmResult | None:
    """Ask the provider how a pending checkout payment ended and apply it: by its reference
    (``reference``: the intent a webhook names), or, when its first answer never came, by
    sending the same attempt again (same key, same parameters: the gateway answers with the
    first outcome). Idempotent: a payment that is no longer pending (settled already, resolved
    by ops) is left alone; no answer again leaves it for the next run."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status != PaymentAttemptStatus.PENDING or payment.checkout_session_id is None:
        logger.info("payment %s is not pending; nothing to settle", payment_id)
        return None
    provider = _payment_provider(payment)
    if provider is None:
        logger.warning("payment %s: its provider (%s) is no longer configured", payment_id, payment.provider)
        return None
    reference = reference or payment.provider_reference
    try:
        if reference:
            result = provider.settle(SettleRequest(reference=reference, amount=payment.amount,
                                                   currency=payment.currency, card_last4=payment.card_last4))
        elif provider.hosted_card_fields and payment.payment_method_reference:
            session = CheckoutSession.objects.select_related("customer").get(pk=payment.checkout_session_id)
            saves_card = session_saves_card(session, payment.amount)
            customer_reference = checkout_session_provider_customer(session=session, provider=provider) \
                if saves_card else ""  # the same as the first call's: created once, kept
            result = provider.charge(_charge_request(payment, saves_card=saves_card,
                                                     customer_reference=customer_reference))
        else:
            # The card typed for the test provider lives only in memory: an attempt whose process
            # died before asking it cannot be sent again, and nothing was charged.
            result = ChargeResult(ChargeStatus.FAILED, failure_code="payment_interrupted", failure_message=str(_(
                "The payment was interrupted before it was sent; nothing was charged. Please try again.")))
    except PaymentProviderUnavailable:
        logger.warning("payment %s: still no answer from %s", payment_id, payment.provider)
        return None
    if result.status == ChargeStatus.REQUIRES_ACTION and timezone.now() - payment.created_at > AUTHENTICATION_WINDOW:
        # The customer never finished 3-D Secure: give up on the intent so the session
        # reopens (and can expire) instead of staying processing for ever.
        provider.cancel(result.reference or reference)
        result = ChargeResult(ChargeStatus.FAILED, result.reference or reference, "authentication_abandoned",
                              str(_("The payment was not authenticated in time. Please try again.")))
    if result.status in (ChargeStatus.PENDING, ChargeStatus.REQUIRES_ACTION) and payment.provider_reference:
        return None  # still in flight: a later run settles it
    try:
        return _provider_answer_apply(payment.checkout_session_id, result=result, payment_id=payment.pk)
    except SessionNotProcessing:
        logger.info("payment %s was resolved by someone else first", payment_id)
        return None
