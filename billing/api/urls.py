from django.urls import path

from .views import (
    ContractListApi,
    ContractRetrieveApi,
    CustomerPaymentMethodDetachApi,
    CustomerPaymentMethodListApi,
    CustomerPaymentMethodSetDefaultApi,
    InvoiceListApi,
    InvoiceRetrieveApi,
    PaymentRetrieveApi,
    TestClockAdvanceApi,
    TestClockCreateApi,
    TestClockRetrieveApi,
    payment_refunds_collection,
)

# Mounted under /api/v1/ next to checkout's routes; no trailing slashes.
urlpatterns = [
    path("customers/<uuid:customer_id>/payment-methods", CustomerPaymentMethodListApi.as_view(),
         name="customer-payment-methods"),
    path("customers/<uuid:customer_id>/payment-methods/<uuid:method_id>/default",
         CustomerPaymentMethodSetDefaultApi.as_view(), name="customer-payment-method-default"),
    path("customers/<uuid:customer_id>/payment-methods/<uuid:method_id>/detach",
         CustomerPaymentMethodDetachApi.as_view(), name="customer-payment-method-detach"),
    path("contracts", ContractListApi.as_view(), name="contract-list"),
    path("contracts/<uuid:contract_id>", ContractRetrieveApi.as_view(), name="contract-detail"),
    path("invoices", InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<uuid:invoice_id>", InvoiceRetrieveApi.as_view(), name="invoice-detail"),
    path("payments/<uuid:payment_id>", PaymentRetrieveApi.as_view(), name="payment-detail"),
    path("payments/<uuid:payment_id>/refunds", payment_refunds_collection, name="payment-refunds"),
    path("test-clocks", TestClockCreateApi.as_view(), name="test-clock-create"),
    path("test-clocks/<uuid:clock_id>", TestClockRetrieveApi.as_view(), name="test-clock-detail"),
    path("test-clocks/<uuid:clock_id>/advance", TestClockAdvanceApi.as_view(), name="test-clock-advance"),
]
