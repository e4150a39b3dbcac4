"""Saved payment methods: cards kept for charges made without the customer present
(renewals), each with the customer's agreement to them (the mandate).

A card checkout saves the card it charged (or, when nothing is due today, the card it set up),
records the text the customer agreed to and when, and makes it the customer's default for the
contract's mode and the contract's own method. One default per customer and mode
(``saved_payment_method_one_default``); a detached method is never charged again.
"""

from django.db import transaction
from django.utils import timezone

from core.errors import NotFound

from .enums import BillingEventType, PaymentProviderName, SavedPaymentMethodStatus
from .errors import SavedPaymentMethodNotFound
from .gateway import SavedMethod
from .models import Contract, ProviderCustomer, SavedPaymentMethod
from .representation import saved_payment_method_json
from .signals import billing_event_send


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


@transaction.atomic
def saved_payment_method_attach(*, organization_id, customer_id, livemode: bool, provider: str, saved: SavedMethod,
                                mandate_text: str, mandate_accepted_at=None, ip_address: str | None = None,
                                user_agent: str = "", checkout_session_id=None, contract_id=None,
                                make_default: bool = True) -> SavedPaymentMethod:
    """Record a card the provider saved for ``customer_id``, with its mandate; make it the
    customer's default (and ``contract_id``'s method) unless ``make_default`` is false. The same
    provider reference saved twice (a retried confirm) is one row."""
    method, _created = SavedPaymentMethod.objects.get_or_create(
        organization_id=organization_id, livemode=livemode, provider=provider, provider_reference=saved.reference,
        defaults={
            "customer_id": customer_id, "provider_customer": saved.customer_reference, "brand": saved.brand,
            "last4": saved.last4, "exp_month": saved.exp_month, "exp_year": saved.exp_year,
            "mandate_text": mandate_text, "mandate_accepted_at": mandate_accepted_at or timezone.now(),
            "mandate_ip_address": ip_address or None, "mandate_user_agent": (user_agent or "")[:300],
            "checkout_session_id": checkout_session_id,
        },
    )
    if make_default:
        _default_set(method)
    if contract_id is not None:
        Contract.objects.filter(pk=contract_id).update(default_payment_method=method, updated_at=timezone.now())
    billing_event_send(type=BillingEventType.PAYMENT_METHOD_ATTACHED, organization_id=organization_id,
                       livemode=livemode, object=saved_payment_method_json(method))
    return method


def _default_set(method: SavedPaymentMethod) -> None:
    SavedPaymentMethod.objects.filter(customer_id=method.customer_id, livemode=method.livemode,
                                      is_default=True).exclude(pk=method.pk).update(is_default=False)
    if not method.is_default:
        method.is_default = True
        method.save(update_fields=["is_default", "updated_at"])


def _get(organization_id, method_id, livemode: bool) -> SavedPaymentMethod:
    method = (SavedPaymentMethod.objects.select_for_update()
              .filter(pk=method_id, organization_id=organization_id, livemode=livemode).first())
    if method is None:
        raise SavedPaymentMethodNotFound()
    return method


@transaction.atomic
def saved_payment_method_set_default(*, organization_id, livemode: bool, method_id) -> SavedPaymentMethod:
    """Make a saved method its customer's default: renewals of contracts without their own
    method are charged to it."""
    method = _get(organization_id, method_id, livemode)
    if method.status != SavedPaymentMethodStatus.ACTIVE:
        raise SavedPaymentMethodNotFound("The payment method is detached.")
    _default_set(method)
    return method


@transaction.atomic
def saved_payment_method_detach(*, organization_id, livemode: bool, method_id) -> SavedPaymentMethod:
    """Stop using a saved method: it is never charged again, and contracts that named it fall
    back to the customer's default."""
    method = _get(organization_id, method_id, livemode)
    if method.status == SavedPaymentMethodStatus.DETACHED:
        return method
    method.status = SavedPaymentMethodStatus.DETACHED
    method.is_default = False
    method.detached_at = timezone.now()
    method.save(update_fields=["status", "is_default", "detached_at", "updated_at"])
    Contract.objects.filter(default_payment_method=method).update(default_payment_method=None,
                                                                 updated_at=timezone.now())
    return method


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
