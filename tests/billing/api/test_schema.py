"""Billing's operations in the published OpenAPI document, and a schemathesis run over them
against the real app, with half the path ids pointing at real rows (a saved method, a contract, a
paid invoice and payment, a test clock): no server error, every response as documented."""

from datetime import UTC, date, datetime

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from billing.collection import invoices_collect_due
from billing.models import Invoice, Payment
from billing.renewals import contracts_renew_due
from billing.test_clocks import test_clock_create
from tests.checkout.api.test_schema import _keep_test_connection  # noqa: F401 - a fixture

OPERATIONS = {
    ("/api/v1/customers/{customer_id}/payment-methods", "get"): "customer_payment_methods_list",
    ("/api/v1/customers/{customer_id}/payment-methods/{method_id}/default", "post"):
        "customer_payment_methods_set_default",
    ("/api/v1/customers/{customer_id}/payment-methods/{method_id}/detach", "post"): "customer_payment_methods_detach",
    ("/api/v1/contracts", "get"): "contracts_list",
    ("/api/v1/contracts/{contract_id}", "get"): "contracts_retrieve",
    ("/api/v1/invoices", "get"): "invoices_list",
    ("/api/v1/invoices/{invoice_id}", "get"): "invoices_retrieve",
    ("/api/v1/payments/{payment_id}", "get"): "payments_retrieve",
    ("/api/v1/payments/{payment_id}/refunds", "post"): "payment_refunds_create",
    ("/api/v1/payments/{payment_id}/refunds", "get"): "payment_refunds_list",
    ("/api/v1/test-clocks", "post"): "test_clocks_create",
    ("/api/v1/test-clocks/{clock_id}", "get"): "test_clocks_retrieve",
    ("/api/v1/test-clocks/{clock_id}/advance", "post"): "test_clocks_advance",
}
BILLING_PATHS = r"^/api/v1/(customers|contracts|invoices|payments|test-clocks)"


@pytest.fixture
def openapi(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_every_billing_operation_is_published_with_its_errors(openapi):
    found = {(path, method): op["operationId"] for path, item in openapi["paths"].items()
             for method, op in item.items() if method in ("get", "post")}
    assert OPERATIONS.items() <= found.items()
    for (path, method), _name in OPERATIONS.items():
        operation = openapi["paths"][path][method]
        assert operation["security"] == [{"SecretApiKey": []}]
        assert {"401", "404", "500"} <= set(operation["responses"])
    refund = openapi["paths"]["/api/v1/payments/{payment_id}/refunds"]["post"]
    assert {"201", "409", "422"} <= set(refund["responses"])
    assert {"Idempotency-Key", "Idempotent-Replayed"} <= set(refund["responses"]["201"]["headers"])
    assert any(p["name"] == "Idempotency-Key" for p in refund["parameters"])
    text = str(refund)
    for code in ("payment_not_refundable", "refund_exceeds_payment", "refund_amount_invalid", "idempotency_key_reused"):
        assert f"`{code}`" in text
    advance = openapi["paths"]["/api/v1/test-clocks/{clock_id}/advance"]["post"]
    assert "403" in advance["responses"] and "`test_mode_only`" in str(advance)


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(path_regex=BILLING_PATHS)


@pytest.fixture
def known(organization, customer, sold):
    """Real ids for the path parameters (used for every other generated case)."""
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    clock = test_clock_create(organization_id=organization.pk, customer_id=customer.pk,
                              frozen_time=datetime(2027, 3, 1, tzinfo=UTC))
    return {"customer_id": str(customer.pk), "method_id": str(sold.method.pk), "contract_id": str(sold.contract.pk),
            "invoice_id": str(invoice.pk), "payment_id": str(Payment.objects.get(invoice=invoice).pk),
            "clock_id": str(clock.pk), "_turn": [0]}


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_schemathesis_billing_operations(case, api_key, known, _keep_test_connection):  # noqa: F811
    meta = case.meta
    key = api_key[1]
    known["_turn"][0] += 1
    if not (meta and meta.is_negative_at(ParameterLocation.PATH)) and known["_turn"][0] % 2:
        for name in list(case.path_parameters or {}):
            case.path_parameters[name] = known[name]
    if not (meta and meta.is_negative_at(ParameterLocation.HEADER)):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
