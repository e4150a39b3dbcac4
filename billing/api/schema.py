"""OpenAPI for billing's merchant API: each operation's summary, its error codes (documented
from the same tables as the session operations', ``checkout.api.schema``), and examples."""

from drf_spectacular.utils import OpenApiExample, extend_schema

from checkout.api.schema import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENT_WRITES,
    LIST_ERRORS_422,
    REQUEST_ID_HEADER,
    SHAPE_ERRORS,
    _common,
    _documented,
    _merge,
    _responses,
    _table,
)
from checkout.api.serializers import EmptyBodySerializer

from .serializers import (
    BillingContractSerializer,
    ContractListQuerySerializer,
    ContractListSerializer,
    InvoiceListQuerySerializer,
    InvoiceListSerializer,
    InvoiceSerializer,
    PageQuerySerializer,
    PaymentMethodListSerializer,
    PaymentMethodSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundListSerializer,
    RefundSerializer,
    TestClockAdvanceSerializer,
    TestClockCreateSerializer,
    TestClockSerializer,
)

CUSTOMER_NOT_FOUND = {"customer_not_found": "No such customer in your organization."}
METHOD_NOT_FOUND = {"payment_method_not_found": "No such payment method of this customer in the key's mode "
                    "(setting a detached method as the default is refused the same way)."}
CONTRACT_NOT_FOUND = {"contract_not_found": "No such contract in your organization and the key's mode."}
INVOICE_NOT_FOUND = {"invoice_not_found": "No such invoice in your organization and the key's mode."}
PAYMENT_NOT_FOUND = {"payment_not_found": "No such payment in your organization and the key's mode."}
CLOCK_NOT_FOUND = {"test_clock_not_found": "No such test clock in your organization."}
TEST_MODE_ONLY = {"test_mode_only": "A live key: test clocks exist in test mode only (live mode always bills on "
                  "the real date)."}
EMPTY_BODY_422 = {"invalid_type": SHAPE_ERRORS["invalid_type"], "unknown_field": "The operation takes no fields."}
REFUND_409 = {
    "payment_not_refundable": "The payment did not go through (failed or still pending): nothing to refund.",
    "idempotency_key_in_use": "A request with this key is still running; retry shortly.",
}
REFUND_422 = {
    **SHAPE_ERRORS,
    "invalid_amount": 'amount is not a decimal string (a JSON number, or text such as "ten").',
    "refund_amount_invalid": "amount is zero, or finer than the currency's minor unit (1.005 USD).",
    "refund_exceeds_payment": "amount is more than what is left to refund (pending refunds included); the "
    "message says how much is left.",
    "invalid_idempotency_key": "Idempotency key: 1–255 printable ASCII characters, no spaces.",
    "idempotency_key_mismatch": "The Idempotency-Key header and idempotency_key field differ.",
    "idempotency_key_reused": "The idempotency key was used with a different body (or another operation).",
}
CLOCK_CREATE_409 = {"test_clock_exists": "The customer already has a test clock (one per customer)."}
CLOCK_CREATE_422 = {
    **SHAPE_ERRORS,
    "test_clock_customer_live": "The customer has live-mode contracts: a test clock is for test customers.",
}
CLOCK_ADVANCE_409 = {"test_clock_advancing": "The clock is being advanced by another request; retry when ready."}
CLOCK_ADVANCE_422 = {
    **SHAPE_ERRORS,
    "test_clock_invalid": "frozen_time is not after the clock's time, or more than two years after it.",
}

# Billing's writes answered through checkout/api/idempotent.py (the refund has its own protocol).
IDEMPOTENT_WRITES.update({"customer_payment_methods_set_default", "customer_payment_methods_detach",
                          "test_clocks_create", "test_clocks_advance"})

_documented(CUSTOMER_NOT_FOUND, METHOD_NOT_FOUND, CONTRACT_NOT_FOUND, INVOICE_NOT_FOUND, PAYMENT_NOT_FOUND,
            CLOCK_NOT_FOUND, TEST_MODE_ONLY, EMPTY_BODY_422, REFUND_409, REFUND_422, CLOCK_CREATE_409,
            CLOCK_CREATE_422, CLOCK_ADVANCE_409, CLOCK_ADVANCE_422)

ORG = "0f6c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
CUSTOMER = "3c9e2f1a-7b6d-4e5c-a4b3-c2d1e0f9a8b7"
CONTRACT = "9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a"
METHOD = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"
INVOICE = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
PAYMENT = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
REFUND = "5f6a7b8c-9d0e-4f1a-b2c3-d4e5f6a7b8c9"
CLOCK = "6a7b8c9d-0e1f-4a2b-c3d4-e5f6a7b8c9d0"

_METHOD = {
    "id": METHOD, "object": "payment_method", "customer_id": CUSTOMER, "livemode": False, "type": "card",
    "provider": "stripe", "provider_reference": "pm_1Q…", "status": "active", "is_default": True,
    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    "mandate": {"text": "By subscribing you authorise Acme Cloud to charge this card $49.00 every month until you "
                "cancel.", "accepted_at": "2026-01-15T10:00:00Z"},
    "created_at": "2026-01-15T10:00:00Z",
}
_PAYMENT = {
    "id": PAYMENT, "object": "payment", "organization_id": ORG, "livemode": False, "checkout_session_id": None,
    "invoice_id": INVOICE, "status": "succeeded", "amount": "53.90", "currency": "USD", "provider": "stripe",
    "provider_reference": "pi_3Q…", "payment_method_id": METHOD, "off_session": True, "amount_refunded": "10.00",
    "card_last4": "4242", "failure_code": None, "failure_message": None, "created_at": "2026-02-15T00:00:05Z",
}
_REFUND = {
    "id": REFUND, "object": "refund", "livemode": False, "payment_id": PAYMENT, "invoice_id": INVOICE,
    "amount": "10.00", "currency": "USD", "reason": "requested_by_customer", "status": "succeeded",
    "source": "api", "provider_reference": "re_3Q…", "failure_reason": None, "created_at": "2026-02-16T09:00:00Z",
}
_INVOICE = {
    "id": INVOICE, "object": "invoice", "number": "ACME-2026-000042", "organization_id": ORG, "livemode": False, "contract_id": CONTRACT,
    "customer_id": CUSTOMER, "checkout_session_id": None, "billing_reason": "renewal", "status": "paid",
    "currency": "USD", "invoice_date": "2026-02-15", "period_start": "2026-02-15", "period_end": "2026-03-15",
    "line_items": [{"product_id": None, "name": "Platform fee", "description": "", "pricing_model": "flat_fee",
                    "quantity": 1, "unit_amount": "49.00", "amount": "49.00", "period_start": "2026-02-15",
                    "period_end": "2026-03-15", "proration": False}],
    "subtotal": "49.00", "tax": "4.90", "total": "53.90", "credit_applied": "0.00", "amount_due": "53.90",
    "due_date": None, "tax_note": "",
    "attempt_count": 1, "next_payment_attempt": None, "paid_at": "2026-02-15T00:00:05Z",
    "created_at": "2026-02-15T00:00:01Z", "payments": [_PAYMENT],
    "credit_notes": [{"id": "7b8c9d0e-1f2a-4b3c-d4e5-f6a7b8c9d0e1", "object": "credit_note", "invoice_id": INVOICE,
                      "refund_id": REFUND, "amount": "10.00", "currency": "USD", "reason": "requested_by_customer",
                      "created_at": "2026-02-16T09:00:00Z"}],
    "amount_credited": "10.00",
}
_CONTRACT = {
    "id": CONTRACT, "object": "contract", "organization_id": ORG, "livemode": False, "customer_id": CUSTOMER,
    "business_entity_id": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d", "plan_id": "5b1f7c8e-2d3a-4f6b-9e0c-1a2b3c4d5e6f",
    "status": "active", "currency": "USD", "start_date": "2026-01-15", "end_date": None, "trial_end": None,
    "next_billing_date": "2026-02-15", "collection_method": "charge_automatically", "default_payment_method_id": None,
    "default_payment_method": _METHOD, "test_clock_id": None, "credit_balance": "0.00", "cancelled_at": None,
    "cancellation_reason": None, "version": 1, "created_at": "2026-01-15T10:00:00Z",
}
_CLOCK = {"id": CLOCK, "object": "test_clock", "livemode": False, "customer_id": CUSTOMER, "name": "Trial run",
          "frozen_time": "2026-02-15T00:00:00Z", "status": "ready", "created_at": "2026-01-15T10:00:00Z"}


def _ok(value, status=200):
    return OpenApiExample(str(status), response_only=True, status_codes=[str(status)], value=value)


def _list(value):
    return _ok({"object": "list", "data": [value], "has_more": False, "next_cursor": None})


def _operation(*, operation_id, summary, description, success, errors, tag, with_body, examples=(), request=None,
               parameters=(), success_status=200):
    errors = _merge(_common(with_body=with_body), errors)
    responses, error_examples = _responses((success_status, success, summary), errors)
    return extend_schema(
        operation_id=operation_id, summary=summary, description=description + "\n\n" + _table(errors),
        request=request, responses=responses, parameters=[*parameters, REQUEST_ID_HEADER],
        examples=[*examples, *error_examples], tags=[tag],
    )


_LIST_422 = {422: LIST_ERRORS_422}

payment_methods_list_schema = _operation(
    operation_id="customer_payment_methods_list", summary="List a customer's saved payment methods",
    description="The customer's active saved cards in the key's mode, newest first, with cursor pagination like "
    "the session list; `is_default` marks the one renewals are charged to (unless a contract names its own). "
    "Another organization's customer is 404.",
    success=PaymentMethodListSerializer, errors={404: CUSTOMER_NOT_FOUND, **_LIST_422}, tag="payment methods",
    with_body=False, parameters=[PageQuerySerializer], examples=[_list(_METHOD)])
payment_method_set_default_schema = _operation(
    operation_id="customer_payment_methods_set_default", summary="Make a saved payment method the default",
    description="Renewals of the customer's contracts that have no method of their own are charged to it from "
    "now on. No body, or `{}`.",
    success=PaymentMethodSerializer, errors={404: METHOD_NOT_FOUND, 422: EMPTY_BODY_422}, tag="payment methods",
    with_body=True, request=EmptyBodySerializer, examples=[_ok(_METHOD)])
payment_method_detach_schema = _operation(
    operation_id="customer_payment_methods_detach", summary="Detach a saved payment method",
    description="It is never charged again; contracts that named it fall back to the customer's default. "
    "Detaching a detached method answers it again. No body, or `{}`.",
    success=PaymentMethodSerializer, errors={404: METHOD_NOT_FOUND, 422: EMPTY_BODY_422}, tag="payment methods",
    with_body=True, request=EmptyBodySerializer,
    examples=[_ok({**_METHOD, "status": "detached", "is_default": False})])

contracts_list_schema = _operation(
    operation_id="contracts_list", summary="List contracts",
    description="Your organization's contracts in the key's mode, newest first, each with the payment method "
    "its next renewal is charged to (`default_payment_method`).",
    success=ContractListSerializer, errors=_LIST_422, tag="contracts", with_body=False,
    parameters=[ContractListQuerySerializer], examples=[_list(_CONTRACT)])
contract_retrieve_schema = _operation(
    operation_id="contracts_retrieve", summary="Retrieve a contract",
    description="With `default_payment_method`: the contract's own method, else its customer's default.",
    success=BillingContractSerializer, errors={404: CONTRACT_NOT_FOUND}, tag="contracts", with_body=False,
    examples=[_ok(_CONTRACT)])

invoices_list_schema = _operation(
    operation_id="invoices_list", summary="List invoices",
    description="Checkout, amendment and renewal invoices in the key's mode, newest first, each with its lines, "
    "totals, status, payment attempts and credit notes.",
    success=InvoiceListSerializer, errors=_LIST_422, tag="invoices", with_body=False,
    parameters=[InvoiceListQuerySerializer], examples=[_list(_INVOICE)])
invoice_retrieve_schema = _operation(
    operation_id="invoices_retrieve", summary="Retrieve an invoice",
    description="Lines, totals (decimal strings), status, every payment attempt (oldest first; renewals retried "
    "on the dunning schedule show one per attempt) and the credit notes of its refunds.",
    success=InvoiceSerializer, errors={404: INVOICE_NOT_FOUND}, tag="invoices", with_body=False,
    examples=[_ok(_INVOICE)])
payment_retrieve_schema = _operation(
    operation_id="payments_retrieve", summary="Retrieve a payment",
    description="A checkout's charge or a renewal's (`off_session`), with what was refunded so far.",
    success=PaymentSerializer, errors={404: PAYMENT_NOT_FOUND}, tag="payments", with_body=False,
    examples=[_ok(_PAYMENT)])

refund_create_schema = _operation(
    operation_id="payment_refunds_create", summary="Refund a payment",
    description="Give back all of a payment (leave `amount` out) or part of it, through its provider (the test "
    "provider refunds at once; Stripe may answer `pending` and complete later). The refunded total never exceeds "
    "what was paid, even with concurrent requests. Each refund adds a credit note to the invoice the payment paid "
    "and sends `payment.refunded`. A refund the provider refuses is `failed` and gives its amount back.\n\n"
    "Idempotency: `Idempotency-Key` header or `idempotency_key`, with the session create's rules. Same key and "
    "body → the first response (`Idempotent-Replayed: true`); a different body → 422 `idempotency_key_reused`; "
    "while the first is running → 409 `idempotency_key_in_use`. Refused requests are not stored.",
    success=RefundSerializer, success_status=201,
    errors={404: PAYMENT_NOT_FOUND, 409: REFUND_409, 422: REFUND_422}, tag="payments", with_body=True,
    request=RefundCreateSerializer, parameters=[IDEMPOTENCY_HEADER],
    examples=[OpenApiExample("partial", request_only=True, value={"amount": "10.00", "reason": "requested_by_customer"}),
              OpenApiExample("full", request_only=True, value={}), _ok(_REFUND, 201)])
refunds_list_schema = _operation(
    operation_id="payment_refunds_list", summary="List a payment's refunds",
    description="Newest first, every status (pending, succeeded, failed), with cursor pagination.",
    success=RefundListSerializer, errors={404: PAYMENT_NOT_FOUND, **_LIST_422}, tag="payments", with_body=False,
    parameters=[PageQuerySerializer], examples=[_list(_REFUND)])

_CLOCK_INTRO = "Test mode only (a live key answers 403 `test_mode_only`). "
test_clock_create_schema = _operation(
    operation_id="test_clocks_create", summary="Create a test clock",
    description=_CLOCK_INTRO + "A test customer's test-mode contracts (those they have and those they get later) "
    "follow the clock instead of the real date; one clock per customer.",
    success=TestClockSerializer, success_status=201,
    errors={403: TEST_MODE_ONLY, 404: CUSTOMER_NOT_FOUND, 409: CLOCK_CREATE_409, 422: CLOCK_CREATE_422},
    tag="test clocks", with_body=True, request=TestClockCreateSerializer,
    examples=[OpenApiExample("create", request_only=True, value={"customer_id": CUSTOMER, "name": "Trial run"}),
              _ok(_CLOCK, 201)])
test_clock_retrieve_schema = _operation(
    operation_id="test_clocks_retrieve", summary="Retrieve a test clock", description=_CLOCK_INTRO,
    success=TestClockSerializer, errors={403: TEST_MODE_ONLY, 404: CLOCK_NOT_FOUND}, tag="test clocks",
    with_body=False, examples=[_ok(_CLOCK)])
test_clock_advance_schema = _operation(
    operation_id="test_clocks_advance", summary="Advance a test clock",
    description=_CLOCK_INTRO + "Moves the clock forward (at most two years at a time) and runs, in time order, "
    "everything its contracts have due on the way: each renewal invoice on its billing date, each charge and "
    "dunning retry at its time, with their events. Answers when done.",
    success=TestClockSerializer,
    errors={403: TEST_MODE_ONLY, 404: CLOCK_NOT_FOUND, 409: CLOCK_ADVANCE_409, 422: CLOCK_ADVANCE_422},
    tag="test clocks", with_body=True, request=TestClockAdvanceSerializer,
    examples=[OpenApiExample("a month on", request_only=True, value={"frozen_time": "2026-02-15T00:00:00Z"}),
              _ok(_CLOCK)])
