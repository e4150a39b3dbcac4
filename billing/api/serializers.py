"""Shapes of billing's merchant API: query strings and bodies in (shapes only: rules live in
the services), and, for the schema, the objects ``billing.representation`` builds out (keep
the two in step: the schemathesis test validates every response against these)."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from checkout.api.serializers import (
    ChoiceField,
    DateTimeField,
    IdempotencyKeyField,
    IdField,
    PageQuerySerializer,
    StrictSerializer,
    StringField,
    fail,
)

from ..enums import (
    ContractStatus,
    InvoiceBillingReason,
    InvoiceStatus,
    PaymentAttemptStatus,
    RefundReason,
    RefundStatus,
    SavedPaymentMethodStatus,
    TestClockStatus,
)

# A positive-looking decimal string; the service checks it is above zero and in the
# currency's precision (refund_amount_invalid).
REFUND_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")
# What the API lets a merchant give as a refund's reason (contract_changed is the system's own).
API_REFUND_REASONS = [RefundReason.REQUESTED_BY_CUSTOMER, RefundReason.DUPLICATE, RefundReason.FRAUDULENT,
                      RefundReason.OTHER]


# --- input -------------------------------------------------------------------------------------

# Lists page as the session list does (checkout's PageQuerySerializer, core.pagination): limit,
# and cursor, starting_after or ending_before; an unknown query parameter is 422 unknown_parameter.


class ContractListQuerySerializer(PageQuerySerializer):
    customer_id = IdField(required=False)
    status = ChoiceField(choices=ContractStatus.choices, required=False)


class InvoiceListQuerySerializer(PageQuerySerializer):
    customer_id = IdField(required=False)
    contract_id = IdField(required=False)
    status = ChoiceField(choices=InvoiceStatus.choices, required=False)


@extend_schema_field({"type": "string", "pattern": f"^{REFUND_AMOUNT.pattern}$", "maxLength": 20,
                      "description": 'A decimal string in the payment\'s currency, such as "10.50".'})
class RefundAmountField(StringField):
    def to_internal_value(self, data):
        if not (isinstance(data, str) and REFUND_AMOUNT.fullmatch(data)):
            raise fail('Amounts must be decimal strings, such as "12.50".', "invalid_amount")
        return data


class RefundCreateSerializer(StrictSerializer):
    amount = RefundAmountField(required=False, help_text="Leave out to refund all that is left of the payment.")
    reason = ChoiceField(choices=API_REFUND_REASONS, required=False, default=RefundReason.REQUESTED_BY_CUSTOMER)
    idempotency_key = IdempotencyKeyField(required=False,
                                          help_text="Or the Idempotency-Key header (the same value if both).")


class TestClockCreateSerializer(StrictSerializer):
    __test__ = False

    customer_id = IdField(help_text="The test customer whose test-mode contracts follow the clock.")
    frozen_time = DateTimeField(required=False, help_text="The clock's starting time (default: now).")
    name = StringField(max_length=100, required=False, allow_blank=True)


class TestClockAdvanceSerializer(StrictSerializer):
    __test__ = False

    frozen_time = DateTimeField(help_text="Where to move the clock: later than its time, at most two years on.")


# --- output (schema only) ------------------------------------------------------------------------


class CardSerializer(serializers.Serializer):
    brand = serializers.CharField(allow_null=True)
    last4 = serializers.CharField(allow_null=True)
    exp_month = serializers.IntegerField(allow_null=True)
    exp_year = serializers.IntegerField(allow_null=True)


class MandateSerializer(serializers.Serializer):
    text = serializers.CharField(allow_null=True, help_text="The exact agreement the customer accepted.")
    accepted_at = serializers.DateTimeField(allow_null=True)


class PaymentMethodSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="payment_method")
    customer_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    type = serializers.CharField(default="card")
    provider = serializers.CharField()
    provider_reference = serializers.CharField(help_text="Stripe's pm_…, or the test provider's pm_test_….")
    card = CardSerializer()
    status = serializers.ChoiceField(choices=SavedPaymentMethodStatus.choices)
    is_default = serializers.BooleanField(help_text="The customer's default in this mode.")
    mandate = MandateSerializer()
    created_at = serializers.DateTimeField()


class PaymentMethodListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = PaymentMethodSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as cursor to get the next page.")


class BillingContractSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="contract")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    customer_id = serializers.UUIDField()
    business_entity_id = serializers.UUIDField()
    plan_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=ContractStatus.choices)
    currency = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    trial_end = serializers.DateField(allow_null=True)
    next_billing_date = serializers.DateField(allow_null=True)
    collection_method = serializers.CharField()
    default_payment_method_id = serializers.UUIDField(
        allow_null=True, help_text="The contract's own method; null: its customer's default is charged.")
    default_payment_method = PaymentMethodSerializer(
        allow_null=True, help_text="The method the next renewal is charged to (the contract's own, else the "
        "customer's default in this mode), or null when there is none.")
    test_clock_id = serializers.UUIDField(allow_null=True)
    credit_balance = serializers.CharField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ContractListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = BillingContractSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


@extend_schema_field({"type": ["integer", "string"], "description": "Whole quantities as integers, "
                      "fractional ones as decimal strings."})
class QuantityField(serializers.Field):
    pass


class InvoiceLineItemSerializer(serializers.Serializer):
    product_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    pricing_model = serializers.CharField(allow_null=True)
    quantity = QuantityField()
    unit_amount = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    proration = serializers.BooleanField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="payment")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    checkout_session_id = serializers.UUIDField(allow_null=True)
    invoice_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=PaymentAttemptStatus.choices)
    amount = serializers.CharField()
    currency = serializers.CharField()
    provider = serializers.CharField()
    provider_reference = serializers.CharField(allow_null=True)
    payment_method_id = serializers.UUIDField(allow_null=True)
    off_session = serializers.BooleanField(help_text="Charged without the customer present (a renewal).")
    amount_refunded = serializers.CharField(help_text="Refunded so far, pending refunds included.")
    card_last4 = serializers.CharField(allow_null=True)
    failure_code = serializers.CharField(allow_null=True)
    failure_message = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class CreditNoteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="credit_note")
    invoice_id = serializers.UUIDField()
    refund_id = serializers.UUIDField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    created_at = serializers.DateTimeField()


class InvoiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="invoice")
    number = serializers.CharField(allow_null=True, help_text="Its gapless number once issued (null: none yet).")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    contract_id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    checkout_session_id = serializers.UUIDField(allow_null=True)
    billing_reason = serializers.ChoiceField(choices=InvoiceBillingReason.choices)
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    currency = serializers.CharField()
    invoice_date = serializers.DateField(allow_null=True)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    line_items = InvoiceLineItemSerializer(many=True)
    subtotal = serializers.CharField()
    tax = serializers.CharField()
    total = serializers.CharField()
    credit_applied = serializers.CharField()
    amount_due = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    tax_note = serializers.CharField(allow_blank=True, help_text="What the invoice must say about its tax "
                                     "(reverse charge, outside the EU), or empty.")
    attempt_count = serializers.IntegerField()
    next_payment_attempt = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    payments = PaymentSerializer(many=True, help_text="Every attempt to collect it, oldest first.")
    credit_notes = CreditNoteSerializer(many=True, help_text="One per refund of its payment, oldest first.")
    amount_credited = serializers.CharField(help_text="The credit notes' sum.")


class InvoiceListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = InvoiceSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


class RefundSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="refund")
    livemode = serializers.BooleanField()
    payment_id = serializers.UUIDField()
    invoice_id = serializers.UUIDField(allow_null=True)
    amount = serializers.CharField()
    currency = serializers.CharField()
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    status = serializers.ChoiceField(choices=RefundStatus.choices,
                                     help_text="pending: the provider completes it later (it is reserved meanwhile).")
    source = serializers.CharField(help_text="api, admin, or provider (made in the provider's dashboard).")
    provider_reference = serializers.CharField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class RefundListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = RefundSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


class TestClockSerializer(serializers.Serializer):
    __test__ = False

    id = serializers.UUIDField()
    object = serializers.CharField(default="test_clock")
    livemode = serializers.BooleanField(default=False)
    customer_id = serializers.UUIDField()
    name = serializers.CharField(allow_null=True)
    frozen_time = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=TestClockStatus.choices)
    created_at = serializers.DateTimeField()
