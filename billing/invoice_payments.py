"""Paying an open invoice with the customer present: the hosted invoice page's "pay now" (the
saved card, another card, or completing 3-D Secure the bank asked for).

As with collection (``billing.collection``), the attempt is recorded before the provider is
called and the provider is called outside every lock:

1. ``invoice_payment_start`` locks the invoice, refuses one that is not open, and writes a pending
   on-session ``Payment`` of the chosen saved method (``one_live_payment_per_invoice``: none while
   a retry or another page payment is in flight);
2. ``invoice_payment_send`` charges it (customer present: ``off_session=False``, so the bank may
   ask for 3-D Secure, which the page then completes) and applies the answer through
   ``collection.invoice_payment_apply``: paid → the invoice is paid, no more retries, the contract
   active again (events), and the card it was paid with becomes the customer's and the
   contract's default. A decline here does not move dunning on: the schedule stays as it was.

A new card with the test provider is saved first (``invoice_payment_method_save`` checks it), not
as the default: it becomes the default when it pays. With Stripe it is not set up on its own (a
SetupIntent confirmed on our server cannot do 3-D Secure, so a card whose bank asks for it could
never be saved): the attempt records the PaymentMethod id Stripe.js made
(``payment_method_reference``, no saved method yet) and is charged as one on-session PaymentIntent
with ``setup_future_usage=off_session`` on the customer's Stripe Customer
(docs.stripe.com/payments/save-during-payment). If the bank asks, the page completes 3-D Secure
with Stripe.js; when the intent succeeds the card, now attached to the Customer, is recorded with
the agreement the page showed and becomes the default.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from .collection import invoice_attempt_send, invoice_new_card_saved, invoice_payment_apply
from .enums import InvoiceStatus, PaymentAttemptStatus, PaymentMethod, SavedPaymentMethodStatus
from .errors import InvoiceNotPayable, InvoicePaymentInProgress, PaymentProviderUnavailable
from .gateway import CardDetails, ChargeResult, ChargeStatus, PaymentProvider
from .models import Invoice, Payment, SavedPaymentMethod
from .payment_methods import CardMandate, saved_payment_method_record


@dataclass(frozen=True)
class InvoicePaymentOutcome:
    status: str  # the payment's: succeeded, pending, failed
    payment: Payment
    failure_message: str = ""

    @property
    def needs_authentication(self) -> bool:
        return self.status == PaymentAttemptStatus.PENDING and bool(self.payment.client_secret)


def invoice_payment_method_save(*, invoice: Invoice, provider: PaymentProvider, card: CardDetails, mandate_text: str,
                                ip_address: str | None = None, user_agent: str = "") -> SavedPaymentMethod | ChargeResult:
    """Save the card the customer typed on the page for ``invoice``'s customer, with the
    agreement shown next to it (not yet the default): the test provider checks it. Returns the
    method, or the provider's refusal (a ``ChargeResult`` with the reason to show)."""
    # Stripe's card is saved by the intent that pays with it (``invoice_payment_start`` with
    # its PaymentMethod id), where 3-D Secure can happen in the browser.
    result = provider.save(card)
    if result.status != ChargeStatus.SUCCEEDED or result.saved_method is None:
        return result
    saved = result.saved_method
    return saved_payment_method_record(
        organization_id=invoice.organization_id, customer_id=invoice.customer_id, livemode=invoice.livemode,
        provider=provider.name, saved=saved, mandate_text=mandate_text, ip_address=ip_address,
        user_agent=user_agent, make_default=False)


@transaction.atomic
def invoice_payment_start(*, invoice_id, method_id=None, payment_method_reference: str = "",
                          provider_name: str = "") -> Payment:
    """Record a pending on-session attempt on open ``invoice_id`` with the customer's saved
    method ``method_id``, or with a card new to us (``payment_method_reference``: Stripe.js's
    PaymentMethod id, for ``provider_name``; saved when it pays). Raises ``InvoiceNotPayable``
    (not open) or ``InvoicePaymentInProgress`` (a retry or another payment is in flight)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
        raise InvoiceNotPayable()
    method = None
    if method_id is not None or not payment_method_reference:
        method = SavedPaymentMethod.objects.filter(pk=method_id, customer_id=invoice.customer_id,
                                                   livemode=invoice.livemode,
                                                   status=SavedPaymentMethodStatus.ACTIVE).first()
        if method is None:
            raise InvoiceNotPayable("That card cannot be used for this invoice.")
    earlier = Payment.objects.filter(invoice=invoice, off_session=False).count()
    try:
        with transaction.atomic():
            return Payment.objects.create(
                organization_id=invoice.organization_id, invoice=invoice, livemode=invoice.livemode,
                saved_payment_method=method, off_session=False, method=PaymentMethod.CARD,
                provider=method.provider if method else provider_name,
                payment_method_reference="" if method else payment_method_reference[:255],
                amount=invoice.amount_due, currency=invoice.currency, card_last4=method.last4 if method else "",
                status=PaymentAttemptStatus.PENDING, idempotency_key=f"invoice-{invoice.pk}-page-{earlier + 1}")
    except IntegrityError:
        raise InvoicePaymentInProgress() from None


def invoice_payment_send(*, payment_id, provider: PaymentProvider,
                         mandate: CardMandate | None = None) -> InvoicePaymentOutcome:
    """Charge a pending on-session attempt (``invoice_payment_start``) and apply the answer;
    a new card that pays is recorded with ``mandate`` (what the page showed, and where it was
    accepted). The provider's silence leaves it pending (``payments_reconcile_pending`` sends it
    again, same key, same parameters)."""
    payment = Payment.objects.select_related("saved_payment_method").get(pk=payment_id)
    try:
        result = invoice_attempt_send(payment, provider)  # back from 3-D Secure: its outcome read
        saved = invoice_new_card_saved(payment, provider, result)
    except PaymentProviderUnavailable:
        return InvoicePaymentOutcome(PaymentAttemptStatus.PENDING, payment)
    status = invoice_payment_apply(payment_id=payment.pk, result=result, saved=saved, mandate=mandate)
    payment.refresh_from_db()
    return InvoicePaymentOutcome(status, payment, payment.failure_message if status == "failed" else "")


def invoice_payment_sync(*, payment_id, provider: PaymentProvider,
                         mandate: CardMandate | None = None) -> InvoicePaymentOutcome | None:
    """The page's return from 3-D Secure: the outcome of the pending attempt, read from the
    provider (never from the browser). None when it is no longer pending."""
    payment = Payment.objects.filter(pk=payment_id, status=PaymentAttemptStatus.PENDING).first()
    if payment is None or not payment.provider_reference:
        return None
    return invoice_payment_send(payment_id=payment.pk, provider=provider, mandate=mandate)

