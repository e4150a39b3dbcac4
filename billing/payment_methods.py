"""Saved payment methods: cards kept for charges made without the customer present
(renewals), each with the customer's agreement to them (the mandate).

A card checkout saves the card it charged (or, when nothing is due today, the card it set up),
records the text the customer agreed to and when, and makes it the customer's default for the
contract's mode and the contract's own method. One default per customer and mode
(``saved_payment_method_one_default``); a detached method is never charged again.
"""

import logging
import uuid
from dataclasses import dataclass

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.queue import task_enqueue_on_commit

from . import fastsql
from .enums import BillingEventType, PaymentProviderName, SavedPaymentMethodStatus
from .errors import PaymentProviderUnavailable, SavedPaymentMethodNotFound
from .gateway import SavedMethod
from .models import Contract, ProviderCustomer, SavedPaymentMethod
from .payment_settings import provider_named
from .representation import saved_payment_method_json
from .signals import billing_event_send

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardMandate:
    """The agreement shown next to a card the customer typed, and where they accepted it."""

    text: str
    ip_address: str | None = None
    user_agent: str = ""


def invoice_card_mandate_text(merchant_name: str) -> str:
    """The agreement the hosted invoice page shows under "another card"."""
    return _("By saving this card, you authorise %(merchant)s to charge it for this invoice and your "
             "subscription's future payments until you cancel.") % {"merchant": merchant_name}


def provider_customer_reference(*, provider, organization_id, customer, livemode: bool) -> str:
    """The provider's customer for ``customer`` (Stripe: ``cus_…``), created once per customer,
    mode and provider; "" for the test provider, which has none. Safe to call concurrently:
    Stripe returns the same customer for the same idempotency key, and the row is unique."""
    if provider.name == PaymentProviderName.TEST:
        return ""
    found = ProviderCustomer.objects.filter(customer_id=customer.pk, livemode=livemode,
                                            provider=provider.name).values_list("provider_reference", flat=True).first()
    if found:
        return found
    reference = provider.customer_create(
        idempotency_key=f"customer-{customer.pk}-{'live' if livemode else 'test'}",
        email=customer.email or "", name=customer.customer_name,
        metadata={"customer_id": str(customer.pk), "organization_id": str(organization_id)})
    row, _created = ProviderCustomer.objects.get_or_create(
        customer_id=customer.pk, livemode=livemode, provider=provider.name,
        defaults={"organization_id": organization_id, "provider_reference": reference})
    return row.provider_reference


def provider_customer_remember(*, organization_id, customer_id, livemode: bool, provider: str,
                               reference: str) -> None:
    """Keep ``reference`` as the provider's customer for ``customer_id`` unless one is kept
    already (a guest's checkout made its own Stripe Customer before it was one of ours; a
    returning guest keeps their first one, and each saved card names the one it is attached to)."""
    if not reference or provider == PaymentProviderName.TEST:
        return
    ProviderCustomer.objects.get_or_create(customer_id=customer_id, livemode=livemode, provider=provider,
                                           defaults={"organization_id": organization_id,
                                                     "provider_reference": reference})


def saved_payment_method_record(*, organization_id, customer_id, livemode: bool, provider: str,
                                saved: SavedMethod, mandate_text: str, mandate_accepted_at=None,
                                ip_address: str | None = None, user_agent: str = "", checkout_session_id=None,
                                make_default: bool = True) -> SavedPaymentMethod:
    """Record a card the provider saved for ``customer_id``, with its mandate, as the customer's
    default (unless ``make_default`` is false): one INSERT. The same provider reference saved
    twice (a retried confirm) is one row. Returns the row; callers announce it."""
    now = timezone.now()
    return fastsql.saved_payment_method_upsert({
        "id": uuid.uuid4(), "created_at": now, "updated_at": now,
        "organization_id": organization_id, "livemode": livemode, "provider": provider,
        "provider_reference": saved.reference, "customer_id": customer_id,
        "provider_customer": saved.customer_reference, "brand": saved.brand, "last4": saved.last4,
        "exp_month": saved.exp_month, "exp_year": saved.exp_year, "mandate_text": mandate_text,
        "mandate_accepted_at": mandate_accepted_at or now, "mandate_ip_address": ip_address or None,
        "mandate_user_agent": (user_agent or "")[:300], "checkout_session_id": checkout_session_id,
        "default_since": now if make_default else None,
    })


def saved_payment_method_announce(method: SavedPaymentMethod) -> None:
    billing_event_send(type=BillingEventType.PAYMENT_METHOD_ATTACHED, organization_id=method.organization_id,
                       livemode=method.livemode, object=saved_payment_method_json(method))


@transaction.atomic
def saved_payment_method_attach(*, contract_id=None, **record) -> SavedPaymentMethod:
    """``saved_payment_method_record`` (its arguments), made ``contract_id``'s method too when
    given, and announced (``payment_method.attached``)."""
    method = saved_payment_method_record(**record)
    if contract_id is not None:
        Contract.objects.filter(pk=contract_id).update(default_payment_method=method, updated_at=timezone.now())
    saved_payment_method_announce(method)
    return method


def customer_default_payment_method(*, customer_id, livemode: bool) -> SavedPaymentMethod | None:
    """The customer's default method in a mode: their active one made default last."""
    return (SavedPaymentMethod.objects.filter(customer_id=customer_id, livemode=livemode,
                                              status=SavedPaymentMethodStatus.ACTIVE, default_since__isnull=False)
            .order_by("-default_since").first())


def _get(organization_id, method_id, livemode: bool, customer_id=None) -> SavedPaymentMethod:
    methods = SavedPaymentMethod.objects.select_for_update().filter(pk=method_id, organization_id=organization_id,
                                                                    livemode=livemode)
    if customer_id is not None:
        methods = methods.filter(customer_id=customer_id)
    method = methods.first()
    if method is None:
        raise SavedPaymentMethodNotFound()
    return method


@transaction.atomic
def saved_payment_method_set_default(*, organization_id, livemode: bool, method_id,
                                     customer_id=None) -> SavedPaymentMethod:
    """Make a saved method its customer's default: renewals of contracts without their own
    method are charged to it. ``customer_id``: the method must be that customer's (else not
    found)."""
    method = _get(organization_id, method_id, livemode, customer_id)
    if method.status != SavedPaymentMethodStatus.ACTIVE:
        raise SavedPaymentMethodNotFound("The payment method is detached.")
    method.default_since = timezone.now()
    method.save(update_fields=["default_since", "updated_at"])
    return method


@transaction.atomic
def saved_payment_method_detach(*, organization_id, livemode: bool, method_id,
                                customer_id=None) -> SavedPaymentMethod:
    """Stop using a saved method: it is never charged again, and contracts that named it fall
    back to the customer's default. The provider is told after commit (Stripe detaches the
    PaymentMethod from its Customer; asked again by the beat until it answers), and
    ``payment_method.detached`` announces it. ``customer_id``: the method must be that
    customer's."""
    method = _get(organization_id, method_id, livemode, customer_id)
    if method.status == SavedPaymentMethodStatus.DETACHED:
        return method
    method.status = SavedPaymentMethodStatus.DETACHED
    method.default_since = None
    method.detached_at = timezone.now()
    method.save(update_fields=["status", "default_since", "detached_at", "updated_at"])
    Contract.objects.filter(default_payment_method=method).update(default_payment_method=None,
                                                                 updated_at=timezone.now())
    billing_event_send(type=BillingEventType.PAYMENT_METHOD_DETACHED, organization_id=method.organization_id,
                       livemode=method.livemode, object=saved_payment_method_json(method))
    task_enqueue_on_commit(current_app.signature("billing.saved_payment_method_provider_detach"),
                           kwargs={"method_id": str(method.pk)})
    return method


def saved_payment_method_provider_detach(*, method_id) -> bool:
    """Tell the provider a detached method is gone; True once it has confirmed (or has nothing to
    do). No answer leaves it for the next pass. Outside any transaction: the provider's call is
    not made under a row lock, and detaching twice is harmless (Stripe answers the second with an
    error we treat as done)."""
    method = SavedPaymentMethod.objects.filter(pk=method_id, status=SavedPaymentMethodStatus.DETACHED,
                                               provider_detached_at__isnull=True).first()
    if method is None:
        return True
    provider = provider_named(organization_id=method.organization_id, livemode=method.livemode,
                              name=method.provider)
    if provider is not None:
        try:
            provider.detach(method.provider_reference)
        except PaymentProviderUnavailable:
            logger.warning("payment method %s: no answer from %s; detached again later", method.pk, method.provider)
            return False
    else:  # the provider is no longer configured: nothing we can tell it, and nothing it can charge for us
        logger.warning("payment method %s: %s no longer configured; not detached there", method.pk, method.provider)
    SavedPaymentMethod.objects.filter(pk=method.pk).update(provider_detached_at=timezone.now())
    return True


def saved_payment_methods_provider_detach_due(*, limit: int = 200) -> int:
    """The beat's safety net: detached methods the provider has not confirmed (the task was not
    queued, or the provider did not answer). Returns how many were confirmed."""
    ids = list(SavedPaymentMethod.objects.filter(status=SavedPaymentMethodStatus.DETACHED,
                                                 provider_detached_at__isnull=True)
               .order_by("detached_at").values_list("pk", flat=True)[:limit])
    return sum(saved_payment_method_provider_detach(method_id=pk) for pk in ids)


@transaction.atomic
def contract_payment_method_set(*, organization_id, livemode: bool, contract_id, method_id) -> Contract:
    """The saved method a contract's renewals are charged to (one of its customer's)."""
    contract = Contract.objects.select_for_update().filter(pk=contract_id, organization_id=organization_id,
                                                           livemode=livemode).first()
    if contract is None:
        raise NotFound("No such contract.", code="contract_not_found")
    method = _get(organization_id, method_id, livemode)
    if method.customer_id != contract.customer_id or method.status != SavedPaymentMethodStatus.ACTIVE:
        raise SavedPaymentMethodNotFound(field="payment_method_id")
    contract.default_payment_method = method
    contract.save(update_fields=["default_payment_method", "updated_at"])
    return contract
