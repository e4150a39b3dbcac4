"""Collecting invoices: the off-session charge of a renewal, its retries (dunning), and the
outcome of every attempt.

An attempt is recorded before the provider is called, and the provider is called outside
every lock:

1. ``invoices_collect_due`` claims due invoices (``SKIP LOCKED``), and for each writes a
   ``Payment`` (pending, with the gateway idempotency key ``invoice-<id>-<attempt>``) in the same
   transaction as the invoice's claim; after commit each attempt is sent, by a task or inline;
2. ``payment_collect`` sends the attempt (the saved method, off-session, the key) and applies the
   answer (``invoice_payment_apply``, locking the invoice, then the payment, then the contract).
   No answer (the provider is down, the worker died) leaves the payment pending, and
   ``payments_reconcile_pending`` sends the same attempt again, same key, same parameters: the
   provider answers with the first outcome, never a second charge;
3. ``one_live_payment_per_invoice`` (one pending-or-succeeded payment per invoice) refuses a
   second attempt while one is in flight, whatever runs at once.

Dunning: a failed charge makes the contract ``past_due`` and is retried on the organization's
schedule (``BillingSettings.retry_schedule_days``, days after the first failure; default 1, 3, 5,
7). After the last retry fails, the contract is cancelled (the invoice is uncollectible) or left
``unpaid``, as the organization chose. A bank asking for authentication
(``authentication_required``) is not retried blindly: the invoice waits for the customer, who is
e-mailed a link to the hosted invoice page. Every step is an event.
"""

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone

from core.queue import task_enqueue_on_commit
from core.wire import datetime_text

from .dunning import DEFAULT_RETRY_DAYS, retry_schedule_of  # noqa: F401 - re-exported
from .enums import (
    BillingEventType,
    ContractStatus,
    InvoiceStatus,
    PaymentAttemptStatus,
    PaymentMethod,
    PaymentProviderName,
    SavedPaymentMethodStatus,
)
from .errors import PaymentProviderUnavailable
from .gateway import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    SavedMethod,
    SettleRequest,
    stripe_below_minimum,
    stripe_minimum_check,
)
from .models import (
    BillingSettings,
    Contract,
    Invoice,
    Payment,
    SavedPaymentMethod,
    TestClock,
)
from .payment_methods import (
    CardMandate,
    customer_default_payment_method,
    invoice_card_mandate_text,
    provider_customer_reference,
    saved_payment_method_record,
)
from .payment_settings import provider_named
from .representation import contract_json, invoice_json, saved_payment_method_json
from .signals import billing_events_send

logger = logging.getLogger(__name__)

COLLECTION_BATCH = 100
# A pending attempt with no answer for this long is sent again (same key).
RECONCILE_AFTER = timedelta(seconds=60)
AUTHENTICATION_REQUIRED = "authentication_required"
# A customer who started 3-D Secure on the hosted invoice page and never finished: after this,
# the attempt is failed, so retries (and another try on the page) may go ahead.
AUTHENTICATION_ABANDONED_AFTER = timedelta(hours=1)
PAYMENT_METHOD_MISSING = "payment_method_missing"
# A renewal invoice whose amount due is below Stripe's minimum charge (billing.gateway
# .STRIPE_MINIMUM_CHARGES): never sent, never retried. Stripe Billing carries such an amount
# forward to the next invoice; contracts here carry only credits (``credit_balance`` >= 0), so the
# invoice is left open instead, for the merchant to collect or void.
AMOUNT_BELOW_PROVIDER_MINIMUM = "amount_below_provider_minimum"


# --- claiming due invoices --------------------------------------------------------------------


def invoices_collect_due(*, now: datetime | None = None, test_clock_id=None, inline: bool = False,
                         batch_size: int = COLLECTION_BATCH) -> int:
    """Start an attempt for every open invoice whose ``next_payment_attempt`` has come: on the
    real clock (the beat sweep), or on one test clock (``test_clock_id``, its time as ``now``).
    The attempts are sent after each batch commits: queued as tasks, or here (``inline``: test
    clocks, the demo). Returns how many invoices were claimed."""
    now = now or timezone.now()
    claimed = 0
    while True:
        with transaction.atomic():
            invoices = (Invoice.objects.filter(status=InvoiceStatus.OPEN, next_payment_attempt__lte=now)
                        # the customer is paying it on the hosted page right now: next sweep
                        .exclude(payments__status=PaymentAttemptStatus.PENDING))
            invoices = (invoices.filter(test_clock_id=test_clock_id) if test_clock_id is not None
                        else invoices.filter(test_clock__isnull=True))
            batch = list(invoices.order_by("next_payment_attempt", "id").select_for_update(skip_locked=True)
                         [:batch_size])
            if not batch:
                return claimed
            payments = [_attempt_start(invoice, now) for invoice in batch]
            if not inline:
                for payment in payments:
                    if payment is not None:
                        task_enqueue_on_commit(current_app.signature("billing.payment_collect"),
                                               kwargs={"payment_id": str(payment.pk)})
        claimed += len(batch)
        if inline:
            for payment in payments:
                if payment is not None:
                    payment_collect(payment_id=payment.pk, now=now)


def _attempt_start(invoice: Invoice, now: datetime) -> Payment | None:
    """Record the next attempt on ``invoice`` (locked): a pending payment of its saved method,
    or, when there is none to charge, a failed attempt that starts dunning at once."""
    invoice.attempt_count += 1
    invoice.next_payment_attempt = None
    invoice.save(update_fields=["attempt_count", "next_payment_attempt", "updated_at"])
    method = _method_for(invoice)
    payment = Payment.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, livemode=invoice.livemode,
        saved_payment_method=method, off_session=True, method=PaymentMethod.CARD,
        provider=method.provider if method else "", amount=invoice.amount_due, currency=invoice.currency,
        card_last4=method.last4 if method else "",
        status=PaymentAttemptStatus.PENDING if method else PaymentAttemptStatus.FAILED,
        idempotency_key=f"invoice-{invoice.pk}-{invoice.attempt_count}",
        failure_code="" if method else PAYMENT_METHOD_MISSING,
        failure_message="" if method else "No saved payment method to charge.",
    )
    if method is None:
        _failed(invoice, payment, now)
        return None
    if method.provider == PaymentProviderName.STRIPE and stripe_below_minimum(invoice.amount_due, invoice.currency):
        # Stripe would refuse the charge (``amount_too_small``), today and at every retry: not
        # sent, and no dunning (the customer did nothing wrong). The invoice stays open with no
        # attempt scheduled, marked by this attempt's code, for the merchant to settle.
        payment.status, payment.failure_code = PaymentAttemptStatus.FAILED, AMOUNT_BELOW_PROVIDER_MINIMUM
        payment.failure_message = f"Not charged: {stripe_minimum_check(invoice.amount_due, invoice.currency)}"
        payment.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
        logger.warning("invoice %s: %s %s is below Stripe's minimum charge; not charged", invoice.pk,
                       invoice.amount_due, invoice.currency)
        # The merchant hears it (nobody else will collect it): invoice.payment_failed, no retry.
        data = {**_failure_data(invoice, payment, first=invoice.first_failed_at is None), "next_payment_attempt": None}
        billing_events_send([_event(BillingEventType.INVOICE_PAYMENT_FAILED, invoice, invoice_json(invoice), data)])
        return None
    return payment


def _method_for(invoice: Invoice) -> SavedPaymentMethod | None:
    contract = Contract.objects.only("default_payment_method_id", "customer_id", "livemode").get(pk=invoice.contract_id)
    methods = SavedPaymentMethod.objects.filter(status=SavedPaymentMethodStatus.ACTIVE, livemode=invoice.livemode)
    if contract.default_payment_method_id is not None:
        method = methods.filter(pk=contract.default_payment_method_id).first()
        if method is not None:
            return method
    return customer_default_payment_method(customer_id=contract.customer_id, livemode=invoice.livemode)


# --- sending an attempt -----------------------------------------------------------------------


def payment_collect(*, payment_id, now: datetime | None = None) -> str:
    """Send a pending invoice payment to its provider (again, after a lost answer: same key,
    same parameters) and apply the outcome. Returns the payment's status afterwards."""
    payment = Payment.objects.select_related("saved_payment_method").filter(pk=payment_id).first()
    if payment is None or payment.invoice_id is None or payment.status != PaymentAttemptStatus.PENDING:
        return payment.status if payment else "missing"
    provider = _provider(payment)
    saved = None
    if provider is None:
        result = ChargeResult(ChargeStatus.FAILED, failure_code="payment_method_unavailable",
                              failure_message="The saved payment method's provider is no longer configured.")
    else:
        try:
            result = invoice_attempt_send(payment, provider)
            if _authentication_abandoned(payment, result):
                result = _abandoned_intent_cancel(payment, provider, result)
            saved = invoice_new_card_saved(payment, provider, result)
        except PaymentProviderUnavailable:
            logger.warning("invoice payment %s: no answer from %s; reconciled later", payment.pk, payment.provider)
            return payment.status
    mandate = None
    if saved is not None:  # the customer left before the page came back: the wording they were shown
        merchant = Invoice.objects.select_related("contract__business_entity").get(pk=payment.invoice_id)
        mandate = CardMandate(invoice_card_mandate_text(merchant.contract.business_entity.name))
    return invoice_payment_apply(payment_id=payment.pk, result=result, now=now, saved=saved, mandate=mandate)


def _authentication_abandoned(payment: Payment, result: ChargeResult) -> bool:
    return (result.status == ChargeStatus.REQUIRES_ACTION and not payment.off_session
            and payment.created_at <= timezone.now() - AUTHENTICATION_ABANDONED_AFTER)


def _abandoned_intent_cancel(payment: Payment, provider, result: ChargeResult) -> ChargeResult:
    """3-D Secure started on the hosted invoice page and never finished: cancel the intent before
    the attempt is failed, so the customer cannot complete it later and pay for an attempt we
    recorded as failed; then read how it ended (it may have succeeded meanwhile)."""
    reference = result.reference or payment.provider_reference
    provider.cancel(reference)
    ended = provider.settle(SettleRequest(reference, payment.amount, payment.currency, payment.card_last4))
    if ended.status == ChargeStatus.FAILED:
        return ChargeResult(ChargeStatus.FAILED, reference, "authentication_abandoned",
                            "The payment was not authenticated in time. Please try again.")
    return ended


def invoice_attempt_send(payment: Payment, provider) -> ChargeResult:
    """Send a pending invoice attempt to ``provider``: its outcome read back when the provider
    already made the intent (after 3-D Secure), else the charge (``invoice_charge_request``: the
    same key and parameters every time it is sent). Raises ``PaymentProviderUnavailable``."""
    if payment.provider_reference:
        return provider.settle(SettleRequest(payment.provider_reference, payment.amount, payment.currency,
                                             payment.card_last4))
    return provider.charge(invoice_charge_request(payment, provider))


def invoice_charge_request(payment: Payment, provider) -> ChargeRequest:
    """What an invoice attempt asks the provider, the same every time it is sent (same key, same
    parameters). A card typed on the hosted invoice page (Stripe: no saved method yet, the
    PaymentMethod id Stripe.js made) is charged on-session on the customer's Stripe Customer with
    ``setup_future_usage=off_session``: one intent pays the invoice (3-D Secure in the browser if
    the bank asks) and saves the card for the renewals."""
    method = payment.saved_payment_method
    if method is None:
        card = {"payment_method_id": payment.payment_method_reference, "off_session": False, "save_for_future": True,
                "customer_reference": _provider_customer_of(payment, provider)}
    else:
        card = {"payment_method_id": method.provider_reference, "off_session": payment.off_session,
                "customer_reference": method.provider_customer}
    return ChargeRequest(
        amount=payment.amount, currency=payment.currency, idempotency_key=payment.idempotency_key,
        description=f"Invoice {payment.invoice_id}",
        metadata={"invoice_id": str(payment.invoice_id), "payment_id": str(payment.pk)}, **card)


def _provider_customer_of(payment: Payment, provider) -> str:
    """The provider's customer (Stripe: ``cus_…``) of the invoice's customer."""
    invoice = Invoice.objects.select_related("customer").get(pk=payment.invoice_id)
    return provider_customer_reference(provider=provider, organization_id=invoice.organization_id,
                                       customer=invoice.customer, livemode=invoice.livemode)


def invoice_new_card_saved(payment: Payment, provider, result: ChargeResult) -> SavedMethod | None:
    """The card a new-card attempt (no saved method; ``payment_method_reference``) saved, once
    its intent succeeded: read from the provider (a failed read keeps it by its id)."""
    if (result.status != ChargeStatus.SUCCEEDED or payment.saved_payment_method_id is not None
            or not payment.payment_method_reference):
        return None
    if result.saved_method is not None:
        return result.saved_method
    return provider.card_saved(payment.payment_method_reference, _provider_customer_of(payment, provider))


def _provider(payment: Payment):
    return provider_named(organization_id=payment.organization_id, livemode=payment.livemode, name=payment.provider)


def payments_reconcile_pending(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send again every invoice payment still pending ``RECONCILE_AFTER`` after it was recorded
    (its answer was lost, or its worker died before sending it). The beat's safety net."""
    now = now or timezone.now()
    ids = list(Payment.objects.filter(status=PaymentAttemptStatus.PENDING, invoice__isnull=False,
                                      created_at__lte=now - RECONCILE_AFTER,
                                      created_at__gte=now - timedelta(days=7))
               .values_list("id", flat=True)[:limit])
    for payment_id in ids:
        payment_collect(payment_id=payment_id)
    return len(ids)


# --- applying the outcome ---------------------------------------------------------------------


@transaction.atomic
def invoice_payment_apply(*, payment_id, result: ChargeResult, now: datetime | None = None,
                          saved: SavedMethod | None = None, mandate: CardMandate | None = None) -> str:
    """Apply a provider's answer to a pending invoice payment, exactly once (the invoice, then the
    payment, locked; a payment no longer pending is left alone). Returns the payment's status.
    ``saved``: the card a new-card attempt saved (``invoice_new_card_saved``), recorded with
    ``mandate`` when it pays, and made the default."""
    payment = Payment.objects.filter(pk=payment_id).only("invoice_id").first()
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != PaymentAttemptStatus.PENDING:
        return payment.status
    now = now or _now_for(invoice)
    payment.provider_reference = result.reference or payment.provider_reference
    if result.status == ChargeStatus.SUCCEEDED:
        payment.status = PaymentAttemptStatus.SUCCEEDED
        payment.client_secret = ""
        if payment.saved_payment_method_id is None and saved is not None:
            mandate = mandate or CardMandate("")
            method = saved_payment_method_record(
                organization_id=invoice.organization_id, customer_id=invoice.customer_id, livemode=invoice.livemode,
                provider=payment.provider, saved=saved, mandate_text=mandate.text, ip_address=mandate.ip_address,
                user_agent=mandate.user_agent, make_default=False)
            payment.saved_payment_method_id = method.pk
            payment.card_last4 = saved.last4 or payment.card_last4
        payment.save(update_fields=["status", "provider_reference", "client_secret", "saved_payment_method",
                                    "card_last4", "updated_at"])
        if not payment.off_session and payment.saved_payment_method_id:
            _default_method_set(invoice, payment.saved_payment_method_id, now)
        invoice_mark_paid(invoice, now=now)
    elif result.status == ChargeStatus.PENDING or (
            result.status == ChargeStatus.REQUIRES_ACTION and not payment.off_session
            and payment.created_at > timezone.now() - AUTHENTICATION_ABANDONED_AFTER):
        # On the hosted invoice page, "requires action" is 3-D Secure for the customer there.
        payment.client_secret = result.client_secret or payment.client_secret
        payment.save(update_fields=["provider_reference", "client_secret", "updated_at"])
    elif not payment.off_session:
        # The customer's own attempt on the page: declined, nothing else changes (dunning
        # keeps its schedule; the page shows why).
        payment.status = PaymentAttemptStatus.FAILED
        payment.client_secret = ""
        abandoned = result.status == ChargeStatus.REQUIRES_ACTION  # never authenticated: frees the invoice
        payment.failure_code = ("authentication_abandoned" if abandoned else result.failure_code or "payment_failed")[:64]
        payment.failure_message = (result.failure_message or "The payment did not go through.")[:300]
        payment.save(update_fields=["status", "provider_reference", "client_secret", "failure_code",
                                    "failure_message", "updated_at"])
    else:
        # Off-session, "requires action" is the bank asking for the customer: the same as
        # Stripe's authentication_required decline.
        code = AUTHENTICATION_REQUIRED if result.status == ChargeStatus.REQUIRES_ACTION else result.failure_code
        payment.status = PaymentAttemptStatus.FAILED
        payment.failure_code = (code or "payment_failed")[:64]
        payment.failure_message = (result.failure_message or "The payment did not go through.")[:300]
        payment.save(update_fields=["status", "provider_reference", "failure_code", "failure_message", "updated_at"])
        _failed(invoice, payment, now)
    return payment.status


def _now_for(invoice: Invoice) -> datetime:
    if invoice.test_clock_id is not None:
        return TestClock.objects.get(pk=invoice.test_clock_id).frozen_time
    return timezone.now()


def _default_method_set(invoice: Invoice, method_id, now: datetime) -> None:
    """The card the customer paid an invoice with on the hosted page: their default from now,
    and the contract's own (a card new to them is announced)."""
    method = SavedPaymentMethod.objects.select_for_update().get(pk=method_id)
    is_new = method.default_since is None
    method.default_since = timezone.now()
    method.save(update_fields=["default_since", "updated_at"])
    Contract.objects.filter(pk=invoice.contract_id).update(default_payment_method=method, updated_at=timezone.now())
    if is_new:
        billing_events_send([_event(BillingEventType.PAYMENT_METHOD_ATTACHED, method,
                                    saved_payment_method_json(method))])


def invoice_mark_paid(invoice: Invoice, *, now: datetime) -> None:
    """``invoice`` (locked) is paid: no more attempts; its contract is current again if it was
    behind only on this invoice."""
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now
    invoice.next_payment_attempt = None
    invoice.save(update_fields=["status", "paid_at", "next_payment_attempt", "updated_at"])
    events = [_event(BillingEventType.INVOICE_PAID, invoice, invoice_json(invoice))]
    contract = Contract.objects.select_for_update().get(pk=invoice.contract_id)
    behind = (Invoice.objects.filter(contract_id=contract.pk, status=InvoiceStatus.OPEN, attempt_count__gt=0)
              .exclude(pk=invoice.pk).exists())
    if contract.status in (ContractStatus.PAST_DUE, ContractStatus.UNPAID) and not behind:
        contract.status = ContractStatus.ACTIVE
        contract.save(update_fields=["status", "updated_at"])
        events.append(_event(BillingEventType.CONTRACT_ACTIVE, contract, contract_json(contract)))
    billing_events_send(events)


def _failed(invoice: Invoice, payment: Payment, now: datetime) -> None:
    """A failed attempt on ``invoice`` (locked): schedule the next retry, or wait for the
    customer (authentication), or apply the organization's final action after the last one."""
    contract = Contract.objects.select_for_update().get(pk=invoice.contract_id)
    policy = BillingSettings.objects.filter(organization_id=invoice.organization_id).first()
    schedule = retry_schedule_of(policy)
    first = invoice.first_failed_at is None
    if first:
        invoice.first_failed_at = now
    events = []
    data = _failure_data(invoice, payment, first=first)
    final = False
    if payment.failure_code == AUTHENTICATION_REQUIRED:
        invoice.next_payment_attempt = None  # the customer must authenticate; no blind retry
        events.append(_event(BillingEventType.INVOICE_PAYMENT_ACTION_REQUIRED, invoice, None, data))
    elif invoice.attempt_count <= len(schedule):
        invoice.next_payment_attempt = invoice.first_failed_at + timedelta(days=schedule[invoice.attempt_count - 1])
        data["last_retry"] = invoice.attempt_count == len(schedule)
    else:
        final = True
        invoice.next_payment_attempt = None
    data["next_payment_attempt"] = datetime_text(invoice.next_payment_attempt)
    # Ops read each attempt's outcome and the retry it scheduled on the invoice (admin).
    payment.next_retry_at = invoice.next_payment_attempt
    payment.save(update_fields=["next_retry_at", "updated_at"])
    action = policy.final_action if policy else "cancel"
    if final and action == "cancel":
        invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.save(update_fields=["first_failed_at", "next_payment_attempt", "status", "updated_at"])
    events.insert(0, _event(BillingEventType.INVOICE_PAYMENT_FAILED, invoice, None, data))
    if final and action == "cancel":
        contract.status = ContractStatus.CANCELLED
        contract.cancelled_at = now
        contract.cancellation_reason = "payment_failed"
        contract.next_billing_date = None
        contract.version += 1
        contract.save(update_fields=["status", "cancelled_at", "cancellation_reason", "next_billing_date",
                                     "version", "updated_at"])
        events.append(_event(BillingEventType.CONTRACT_CANCELLED, contract, contract_json(contract)))
    elif final:
        contract.status = ContractStatus.UNPAID
        contract.save(update_fields=["status", "updated_at"])
        events.append(_event(BillingEventType.CONTRACT_UNPAID, contract, contract_json(contract)))
    elif contract.status == ContractStatus.ACTIVE:
        contract.status = ContractStatus.PAST_DUE
        contract.save(update_fields=["status", "updated_at"])
        events.append(_event(BillingEventType.CONTRACT_PAST_DUE, contract, contract_json(contract)))
    body = invoice_json(invoice)
    for event in events:
        if event["object"] is None:
            event["object"] = body
    billing_events_send(events)


def _failure_data(invoice: Invoice, payment: Payment, *, first: bool) -> dict:
    """What ``invoice.payment_failed`` says of a failed attempt (beside the invoice itself)."""
    return {"payment_id": str(payment.pk), "failure_code": payment.failure_code,
            "failure_message": payment.failure_message, "attempt_count": invoice.attempt_count,
            "first_failure": first}


def _event(type, obj, body, data=None) -> dict:
    return {"type": type, "organization_id": obj.organization_id, "livemode": obj.livemode, "object": body,
            "data": data or {}}
