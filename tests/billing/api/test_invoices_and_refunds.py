"""GET /invoices, /invoices/{id}, /payments/{id}; POST and GET /payments/{id}/refunds: amounts to
the cent, credit notes on the invoice, the error codes, Idempotency-Key replays, tenancy and
modes; concurrent refunds (real threads) never exceed what was paid."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.collection import invoices_collect_due
from billing.models import CreditNote, Invoice, Payment, Refund
from billing.renewals import contracts_renew_due
from checkout.models import IdempotencyRecord
from tests.billing.renewal_helpers import EventLog, sell
from tests.helpers import run_together

from .conftest import Api, error_of

pytestmark = pytest.mark.django_db


def _renew(customer, behaviour="succeeds"):
    sold = sell(customer, behaviour=behaviour)
    contracts_renew_due(today=date(2027, 2, 28))
    invoices_collect_due(now=datetime(2027, 2, 28, tzinfo=UTC), inline=True)
    return sold, Invoice.objects.get(contract=sold.contract, billing_reason="renewal")


@pytest.fixture
def renewal(customer):
    """The paid $49.00 renewal invoice of 28 Feb 2027 and its payment."""
    _sold, invoice = _renew(customer)
    return invoice, Payment.objects.get(invoice=invoice, status="succeeded")


def _refund(api, payment, body=None, **headers):
    return api.post(f"/payments/{payment.pk}/refunds", body if body is not None else {}, **headers)


# --- reads --------------------------------------------------------------------------------------


def test_invoice_shows_lines_totals_status_and_its_payment_attempts(api, customer, django_assert_max_num_queries):
    _sold, invoice = _renew(customer, behaviour="charges_fail")
    with django_assert_max_num_queries(6):
        response = api.get(f"/invoices/{invoice.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["billing_reason"], body["invoice_date"]) == ("open", "renewal", "2027-02-28")
    assert (body["subtotal"], body["tax"], body["total"], body["amount_due"]) == ("49.00", "0.00", "49.00", "49.00")
    assert [(line["name"], line["amount"], line["quantity"]) for line in body["line_items"]] == [
        (invoice.lines.get().name, "49.00", 1)]
    assert [(p["status"], p["amount"], p["off_session"]) for p in body["payments"]] == [("failed", "49.00", True)]
    assert body["payments"][0]["failure_code"]
    assert (body["credit_notes"], body["amount_credited"], body["attempt_count"]) == ([], "0.00", 1)
    assert body["next_payment_attempt"] is not None


def test_invoice_list_filters_and_pages_in_a_fixed_number_of_queries(
        api, customer, customer_factory, django_assert_max_num_queries):
    for _ in range(3):
        _renew(customer_factory(organization=customer.organization, business_entity=customer.business_entity))
    sold, renewal = _renew(customer)
    with django_assert_max_num_queries(7):
        response = api.get("/invoices")
    data = response.json()["data"]
    assert len(data) == 8 and all(len(i["payments"]) <= 1 for i in data)
    mine = api.get("/invoices", contract_id=str(sold.contract.pk)).json()["data"]
    assert [(i["billing_reason"], i["status"]) for i in mine] == [("renewal", "paid"), ("checkout", "paid")]
    assert [i["id"] for i in api.get("/invoices", customer_id=str(customer.pk), limit=1).json()["data"]] == [
        str(renewal.pk)]
    assert api.get("/invoices", status="open").json()["data"] == []
    assert error_of(api.get("/invoices", status="late"))["code"] == "invalid_choice"


def test_invoices_and_payments_of_another_tenant_or_mode_are_404(api, live_api, rival_api, renewal):
    invoice, payment = renewal
    for client in (live_api, rival_api):
        assert error_of(client.get(f"/invoices/{invoice.pk}"))["code"] == "invoice_not_found"
        assert error_of(client.get(f"/payments/{payment.pk}"))["code"] == "payment_not_found"
        assert error_of(client.get(f"/payments/{payment.pk}/refunds"))["code"] == "payment_not_found"
        response = _refund(client, payment, {"amount": "1.00"})
        assert response.status_code == 404 and error_of(response)["code"] == "payment_not_found"
        assert client.get("/invoices").json()["data"] == []
    assert not Refund.objects.exists()


def test_payment_shows_what_was_charged_and_refunded(api, renewal, django_assert_max_num_queries):
    invoice, payment = renewal
    with django_assert_max_num_queries(3):
        body = api.get(f"/payments/{payment.pk}").json()
    assert (body["amount"], body["amount_refunded"], body["invoice_id"], body["status"]) == (
        "49.00", "0.00", str(invoice.pk), "succeeded")


# --- refunds -------------------------------------------------------------------------------------


def test_a_partial_then_a_full_refund_leave_credit_notes_to_the_cent(api, renewal, django_assert_max_num_queries):
    invoice, payment = renewal
    events = EventLog()
    try:
        partial = _refund(api, payment, {"amount": "10.50", "reason": "duplicate"})
        rest = _refund(api, payment)
    finally:
        events.close()
    assert (partial.status_code, rest.status_code) == (201, 201), (partial.content, rest.content)
    assert [(r.json()["amount"], r.json()["status"], r.json()["reason"]) for r in (partial, rest)] == [
        ("10.50", "succeeded", "duplicate"), ("38.50", "succeeded", "requested_by_customer")]
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("49.0000")
    assert list(CreditNote.objects.filter(invoice=invoice).order_by("created_at").values_list("amount", flat=True)) == [
        Decimal("10.5000"), Decimal("38.5000")]
    assert events.types() == ["payment.refunded", "payment.refunded"]

    shown = api.get(f"/invoices/{invoice.pk}").json()
    assert [n["amount"] for n in shown["credit_notes"]] == ["10.50", "38.50"]
    assert shown["amount_credited"] == "49.00" and shown["payments"][0]["amount_refunded"] == "49.00"
    with django_assert_max_num_queries(3):
        listed = api.get(f"/payments/{payment.pk}/refunds").json()
    assert [r["amount"] for r in listed["data"]] == ["38.50", "10.50"]

    more = _refund(api, payment, {"amount": "0.01"})
    assert more.status_code == 422 and error_of(more)["code"] == "refund_exceeds_payment"
    assert error_of(more)["fields"] == {"amount": [error_of(more)["message"]]}
    assert Refund.objects.count() == 2


@pytest.mark.parametrize(("amount", "code"), [
    ("1.005", "refund_amount_invalid"), ("0", "refund_amount_invalid"), ("0.00", "refund_amount_invalid"),
    (10.5, "invalid_amount"), ("ten", "invalid_amount"), ("-1", "invalid_amount"), ("49.01", "refund_exceeds_payment"),
])
def test_amounts_that_are_not_refundable_money_are_refused(api, renewal, amount, code):
    _invoice, payment = renewal
    response = _refund(api, payment, {"amount": amount})
    assert response.status_code == 422 and error_of(response)["code"] == code
    assert "amount" in error_of(response)["fields"]
    assert not Refund.objects.exists() and Payment.objects.get(pk=payment.pk).amount_refunded == 0


def test_a_reason_of_the_system_or_an_unknown_field_is_refused(api, renewal):
    _invoice, payment = renewal
    assert error_of(_refund(api, payment, {"reason": "contract_changed"}))["code"] == "invalid_choice"
    assert error_of(_refund(api, payment, {"amount_cents": 100}))["code"] == "unknown_field"


def test_a_failed_payment_is_not_refundable(api, customer):
    _sold, invoice = _renew(customer, behaviour="charges_fail")
    payment = Payment.objects.get(invoice=invoice)
    response = _refund(api, payment)
    assert response.status_code == 409 and error_of(response)["code"] == "payment_not_refundable"


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_answer_and_refund_once(api, renewal):
    _invoice, payment = renewal
    first = _refund(api, payment, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    again = _refund(api, payment, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    in_body = _refund(api, payment, {"amount": "5.00", "idempotency_key": "rf-1"})
    assert (first.status_code, again.status_code, in_body.status_code) == (201, 201, 201)
    assert again.content == first.content == in_body.content
    assert (first.get("Idempotent-Replayed"), again["Idempotent-Replayed"], again["Idempotency-Key"]) == (
        None, "true", "rf-1")
    assert first.json()["status"] == "succeeded"  # the stored answer shows the provider's outcome
    assert Refund.objects.count() == 1 and Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("5.0000")


def test_a_key_reused_with_another_body_payment_or_a_mismatched_header_is_refused(api, customer, renewal):
    _invoice, payment = renewal
    assert _refund(api, payment, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="rf-1").status_code == 201
    other = _refund(api, payment, {"amount": "6.00"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    mismatch = _refund(api, payment, {"amount": "5.00", "idempotency_key": "rf-2"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    assert mismatch.status_code == 422 and error_of(mismatch)["code"] == "idempotency_key_mismatch"
    bad = _refund(api, payment, {}, HTTP_IDEMPOTENCY_KEY="has space")
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_idempotency_key"
    assert Refund.objects.count() == 1


def test_a_refused_refund_is_not_stored_so_the_fixed_request_may_reuse_the_key(api, renewal):
    _invoice, payment = renewal
    refused = _refund(api, payment, {"amount": "50.00"}, HTTP_IDEMPOTENCY_KEY="rf-9")
    assert error_of(refused)["code"] == "refund_exceeds_payment"
    assert not IdempotencyRecord.objects.filter(key="rf-9").exists()
    fixed = _refund(api, payment, {"amount": "49.00"}, HTTP_IDEMPOTENCY_KEY="rf-9")
    assert fixed.status_code == 201 and fixed.json()["amount"] == "49.00"


def test_the_keys_answer_is_recorded_with_the_reservation_when_the_provider_never_answers(
        api, renewal, monkeypatch):
    """A lost provider answer (or a worker killed after reserving): the key already answers the
    pending refund, so a retry never reserves a second one."""
    from billing import gateway
    from billing.errors import PaymentProviderUnavailable

    _invoice, payment = renewal

    def no_answer(self, **kwargs):
        raise PaymentProviderUnavailable()

    monkeypatch.setattr(type(gateway.TEST_PROVIDER), "refund", no_answer)
    first = _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-lost")
    again = _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-lost")
    assert (first.status_code, first.json()["status"]) == (201, "pending")
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert Refund.objects.get().amount == Decimal("7.0000")
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("7.0000")


def test_a_request_killed_after_reserving_is_finished_by_the_retry_never_refunded_twice(api, renewal, monkeypatch):
    from datetime import timedelta

    from billing import gateway

    _invoice, payment = renewal
    provider = type(gateway.TEST_PROVIDER)
    real_refund = provider.refund

    def killed(self, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(provider, "refund", killed)
    api.client.raise_request_exception = False
    crashed = _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-crash")
    assert crashed.status_code == 500
    reserved = Refund.objects.get()
    assert reserved.status == "pending"
    busy = _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-crash")
    assert busy.status_code == 409 and error_of(busy)["code"] == "idempotency_key_in_use"

    monkeypatch.setattr(provider, "refund", real_refund)
    record = IdempotencyRecord.objects.get(key="rf-crash")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=record.created_at - timedelta(minutes=3))
    retried = _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-crash")
    assert retried.status_code == 201, retried.content
    assert (retried.json()["id"], retried.json()["status"]) == (str(reserved.pk), "succeeded")
    assert Refund.objects.count() == 1 and Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("7.0000")
    assert _refund(api, payment, {"amount": "7.00"}, HTTP_IDEMPOTENCY_KEY="rf-crash").content == retried.content


# --- races ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refund_requests_never_exceed_the_amount_paid(organization, customer):
    _sold, invoice = _renew(customer)
    payment = Payment.objects.get(invoice=invoice, status="succeeded")
    clients = [Api(organization) for _ in range(6)]
    results, errors = run_together(*[
        (lambda c=c, n=n: _refund(c, payment, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY=f"race-{n}"))
        for n, c in enumerate(clients)])
    assert not errors, errors
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201, 422, 422, 422, 422]
    assert {error_of(r)["code"] for r in results if r.status_code == 422} == {"refund_exceeds_payment"}
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("40.0000")
    assert sorted(CreditNote.objects.filter(invoice=invoice).values_list("amount", flat=True)) == [
        Decimal("20.0000"), Decimal("20.0000")]
    # what is left can still be refunded, to the cent
    rest = _refund(clients[0], payment)
    assert rest.status_code == 201 and rest.json()["amount"] == "9.00"
    assert sum(CreditNote.objects.filter(invoice=invoice).values_list("amount", flat=True)) == Decimal("49.0000")


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_refund_once(organization, customer):
    _sold, invoice = _renew(customer)
    payment = Payment.objects.get(invoice=invoice, status="succeeded")
    clients = [Api(organization) for _ in range(4)]
    results, errors = run_together(*[
        (lambda c=c: _refund(c, payment, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="same")) for c in clients])
    assert not errors, errors
    created = [r for r in results if r.status_code == 201]
    busy = [r for r in results if r.status_code == 409]
    assert created and len(created) + len(busy) == 4
    assert {error_of(r)["code"] for r in busy} <= {"idempotency_key_in_use"}
    # a request that came after the first completed replays it, byte for byte
    assert len({r.content for r in created}) == 1 and created[0].json()["status"] == "succeeded"
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("10.0000")
