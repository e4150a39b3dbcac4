"""Billing's merchant API: saved payment methods, contracts, invoices, payments, refunds and
test clocks. One view per operation: validate, call one selector or service, render.

Every read and write is scoped to the key's organization and mode: another tenant's id, or a
test object asked for with a live key, is 404 (never 403, which would confirm it exists).
"""

from rest_framework.response import Response

from checkout.api.idempotent import idempotency_key_of, idempotent_http_response, idempotent_response
from checkout.api.routing import MethodRouter
from checkout.api.serializers import EmptyBodySerializer, query_validated, validated
from checkout.api.views import MerchantApi, _json_object
from core.money import to_str

from ..errors import TestModeOnly
from ..payment_methods import saved_payment_method_detach, saved_payment_method_set_default
from ..refund_requests import payment_refund_fingerprint, payment_refund_request
from ..representation import (
    contract_json,
    credit_note_json,
    invoice_json,
    payment_json,
    refund_json,
    saved_payment_method_json,
    test_clock_json,
)
from ..test_clocks import test_clock_advance, test_clock_create
from . import schema
from . import selectors as read
from .serializers import (
    ContractListQuerySerializer,
    InvoiceListQuerySerializer,
    PageQuerySerializer,
    RefundCreateSerializer,
    TestClockAdvanceSerializer,
    TestClockCreateSerializer,
)


def _list(page, render) -> dict:
    return {"object": "list", "data": [render(row) for row in page.items], "has_more": page.has_more,
            "next_cursor": page.next_cursor}


# --- payment methods ---------------------------------------------------------------------------


class CustomerPaymentMethodListApi(MerchantApi):
    @schema.payment_methods_list_schema
    def get(self, request, customer_id):
        query = query_validated(PageQuerySerializer, request)
        page, default_id = read.customer_payment_methods_list(
            organization_id=request.auth.organization_id, livemode=request.auth.livemode, customer_id=customer_id,
            **query)
        return Response(_list(page, lambda m: saved_payment_method_json(m, is_default=m.pk == default_id)))


class CustomerPaymentMethodSetDefaultApi(MerchantApi):
    @schema.payment_method_set_default_schema
    def post(self, request, customer_id, method_id):
        def set_default():
            validated(EmptyBodySerializer, request.data)
            method = saved_payment_method_set_default(organization_id=request.auth.organization_id,
                                                      livemode=request.auth.livemode, customer_id=customer_id,
                                                      method_id=method_id)
            return 200, saved_payment_method_json(method, is_default=True)

        return idempotent_response(request, operation="customer_payment_method_set_default", target=method_id,
                                   call=set_default)


class CustomerPaymentMethodDetachApi(MerchantApi):
    @schema.payment_method_detach_schema
    def post(self, request, customer_id, method_id):
        def detach():
            validated(EmptyBodySerializer, request.data)
            method = saved_payment_method_detach(organization_id=request.auth.organization_id,
                                                 livemode=request.auth.livemode, customer_id=customer_id,
                                                 method_id=method_id)
            return 200, saved_payment_method_json(method, is_default=False)

        return idempotent_response(request, operation="customer_payment_method_detach", target=method_id,
                                   call=detach)


# --- contracts ---------------------------------------------------------------------------------


def _contract_body(contract, method) -> dict:
    return {**contract_json(contract),
            "default_payment_method": None if method is None else saved_payment_method_json(method)}


class ContractListApi(MerchantApi):
    @schema.contracts_list_schema
    def get(self, request):
        query = query_validated(ContractListQuerySerializer, request)
        page = read.contracts_list(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                                   **query)
        methods = read.contracts_payment_methods(page.items, livemode=request.auth.livemode)
        return Response(_list(page, lambda c: _contract_body(c, methods[c.pk])))


class ContractRetrieveApi(MerchantApi):
    @schema.contract_retrieve_schema
    def get(self, request, contract_id):
        contract = read.contract_get(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                                     contract_id=contract_id)
        methods = read.contracts_payment_methods([contract], livemode=request.auth.livemode)
        return Response(_contract_body(contract, methods[contract.pk]))


# --- invoices and payments ---------------------------------------------------------------------


def _invoice_body(invoice) -> dict:
    notes = list(invoice.credit_notes.all())
    return {
        **invoice_json(invoice, lines=list(invoice.lines.all())),
        "payments": [payment_json(p) for p in invoice.attempts],
        "credit_notes": [credit_note_json(n) for n in notes],
        "amount_credited": _sum_text(notes, invoice.currency),
    }


def _sum_text(notes, currency) -> str:
    return to_str(sum((n.amount for n in notes), start=0), currency)


class InvoiceListApi(MerchantApi):
    @schema.invoices_list_schema
    def get(self, request):
        query = query_validated(InvoiceListQuerySerializer, request)
        page = read.invoices_list(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                                  **query)
        return Response(_list(page, _invoice_body))


class InvoiceRetrieveApi(MerchantApi):
    @schema.invoice_retrieve_schema
    def get(self, request, invoice_id):
        invoice = read.invoice_get(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                                   invoice_id=invoice_id)
        return Response(_invoice_body(invoice))


class PaymentRetrieveApi(MerchantApi):
    @schema.payment_retrieve_schema
    def get(self, request, payment_id):
        payment = read.payment_get(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                                   payment_id=payment_id)
        return Response(payment_json(payment))


# --- refunds -----------------------------------------------------------------------------------


class PaymentRefundCreateApi(MerchantApi):
    @schema.refund_create_schema
    def post(self, request, payment_id):
        payload = _json_object(request.data)
        key = idempotency_key_of(request, payload.get("idempotency_key"))
        data = validated(RefundCreateSerializer, payload)
        outcome = payment_refund_request(
            organization_id=request.auth.organization_id, livemode=request.auth.livemode, payment_id=payment_id,
            amount=data.get("amount"), reason=data["reason"], key=key,
            fingerprint=payment_refund_fingerprint(livemode=request.auth.livemode, payment_id=payment_id,
                                                   payload=payload))
        return idempotent_http_response(outcome, key)


class PaymentRefundListApi(MerchantApi):
    @schema.refunds_list_schema
    def get(self, request, payment_id):
        query = query_validated(PageQuerySerializer, request)
        page = read.payment_refunds_list(organization_id=request.auth.organization_id,
                                         livemode=request.auth.livemode, payment_id=payment_id, **query)
        return Response(_list(page, refund_json))


# --- test clocks -------------------------------------------------------------------------------


def _test_mode(request) -> None:
    if request.auth.livemode:
        raise TestModeOnly()


class TestClockCreateApi(MerchantApi):
    __test__ = False

    @schema.test_clock_create_schema
    def post(self, request):
        _test_mode(request)

        def create():
            data = validated(TestClockCreateSerializer, _json_object(request.data))
            customer = read.customer_get(organization_id=request.auth.organization_id,
                                         customer_id=data["customer_id"])
            clock = test_clock_create(organization_id=request.auth.organization_id, customer_id=customer.pk,
                                      frozen_time=data.get("frozen_time"), name=data.get("name", ""))
            return 201, test_clock_json(clock)

        return idempotent_response(request, operation="test_clock_create", call=create)


class TestClockRetrieveApi(MerchantApi):
    __test__ = False

    @schema.test_clock_retrieve_schema
    def get(self, request, clock_id):
        _test_mode(request)
        clock = read.test_clock_get(organization_id=request.auth.organization_id, clock_id=clock_id)
        return Response(test_clock_json(clock))


class TestClockAdvanceApi(MerchantApi):
    __test__ = False

    @schema.test_clock_advance_schema
    def post(self, request, clock_id):
        _test_mode(request)

        def advance():
            data = validated(TestClockAdvanceSerializer, _json_object(request.data))
            clock = test_clock_advance(organization_id=request.auth.organization_id, clock_id=clock_id,
                                       frozen_time=data["frozen_time"])
            return 200, test_clock_json(clock)

        return idempotent_response(request, operation="test_clock_advance", target=clock_id, call=advance)


payment_refunds_collection = MethodRouter(get=PaymentRefundListApi.as_view(), post=PaymentRefundCreateApi.as_view())
