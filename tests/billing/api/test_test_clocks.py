"""POST /test-clocks, GET /test-clocks/{id}, POST /test-clocks/{id}/advance: test mode only (a live
key is 403 test_mode_only), for a test customer of the key's organization; advancing renews and
charges the customer's contracts on the way."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.models import Contract, Invoice, Payment, TestClock
from tests.billing.renewal_helpers import sell

from .conftest import error_of

pytestmark = pytest.mark.django_db

START = "2027-01-31T12:00:00Z"


def _create(api, customer, *, HTTP_IDEMPOTENCY_KEY=None, **extra):  # noqa: N803 - a header, as Django names it
    headers = {} if HTTP_IDEMPOTENCY_KEY is None else {"HTTP_IDEMPOTENCY_KEY": HTTP_IDEMPOTENCY_KEY}
    return api.post("/test-clocks", {"customer_id": str(customer.pk), **extra}, **headers)


def test_a_clock_for_a_test_customer_takes_their_contracts(api, customer, sold):
    response = _create(api, customer, frozen_time=START, name="Trial run")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["object"], body["livemode"], body["customer_id"], body["frozen_time"], body["status"],
            body["name"]) == ("test_clock", False, str(customer.pk), "2027-01-31T12:00:00Z", "ready", "Trial run")
    clock = TestClock.objects.get(pk=body["id"])
    assert Contract.objects.get(pk=sold.contract.pk).test_clock_id == clock.pk
    assert api.get(f"/test-clocks/{clock.pk}").json() == body
    assert api.get(f"/contracts/{sold.contract.pk}").json()["test_clock_id"] == str(clock.pk)


def test_advancing_a_month_renews_and_charges_the_saved_card(api, customer, sold, django_assert_max_num_queries):
    clock_id = _create(api, customer, frozen_time=START).json()["id"]
    response = api.post(f"/test-clocks/{clock_id}/advance", {"frozen_time": "2027-03-01T00:00:00Z"})
    assert response.status_code == 200, response.content
    assert (response.json()["frozen_time"], response.json()["status"]) == ("2027-03-01T00:00:00Z", "ready")
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert (invoice.invoice_date.isoformat(), invoice.status, invoice.total) == ("2027-02-28", "paid", Decimal("49.0000"))
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.amount, payment.off_session, payment.saved_payment_method_id) == (
        "succeeded", Decimal("49.0000"), True, sold.method.pk)
    with django_assert_max_num_queries(3):
        assert api.get(f"/test-clocks/{clock_id}").json()["frozen_time"] == "2027-03-01T00:00:00Z"
    listed = api.get("/invoices", contract_id=str(sold.contract.pk)).json()["data"]
    assert [(i["billing_reason"], i["total"], i["status"]) for i in listed] == [
        ("renewal", "49.00", "paid"), ("checkout", "49.00", "paid")]


def test_a_clock_only_moves_forward_and_two_years_at_most(api, customer, sold):
    clock_id = _create(api, customer, frozen_time=START).json()["id"]
    for when in ("2027-01-31T11:59:59Z", "2029-02-05T00:00:00Z"):
        response = api.post(f"/test-clocks/{clock_id}/advance", {"frozen_time": when})
        assert response.status_code == 422 and error_of(response)["code"] == "test_clock_invalid"
        assert "frozen_time" in error_of(response)["fields"]
    missing = api.post(f"/test-clocks/{clock_id}/advance", {})
    assert missing.status_code == 422 and error_of(missing)["code"] == "field_required"
    assert TestClock.objects.get(pk=clock_id).frozen_time == datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert not Invoice.objects.filter(billing_reason="renewal").exists()


def test_live_keys_get_test_mode_only(live_api, api, customer, sold):
    response = _create(live_api, customer)
    assert response.status_code == 403 and error_of(response)["code"] == "test_mode_only"
    assert not TestClock.objects.exists()
    clock_id = _create(api, customer, frozen_time=START).json()["id"]
    for response in (live_api.get(f"/test-clocks/{clock_id}"),
                     live_api.post(f"/test-clocks/{clock_id}/advance", {"frozen_time": "2027-03-01T00:00:00Z"})):
        assert response.status_code == 403 and error_of(response)["code"] == "test_mode_only"
    assert TestClock.objects.get(pk=clock_id).frozen_time == datetime(2027, 1, 31, 12, tzinfo=UTC)


def test_a_customer_with_live_contracts_gets_no_clock(api, customer):
    sell(customer, livemode=True, behaviour=None)
    response = _create(api, customer)
    assert response.status_code == 422 and error_of(response)["code"] == "test_clock_customer_live"
    assert not TestClock.objects.exists()


def test_one_clock_per_customer(api, customer):
    assert _create(api, customer).status_code == 201
    response = _create(api, customer)
    assert response.status_code == 409 and error_of(response)["code"] == "test_clock_exists"


def test_another_organizations_customer_and_clock_are_404(api, rival_api, customer, rival_customer):
    response = _create(rival_api, customer)
    assert response.status_code == 404 and error_of(response)["code"] == "customer_not_found"
    theirs = _create(rival_api, rival_customer, frozen_time=START).json()["id"]
    for response in (api.get(f"/test-clocks/{theirs}"),
                     api.post(f"/test-clocks/{theirs}/advance", {"frozen_time": "2027-03-01T00:00:00Z"})):
        assert response.status_code == 404 and error_of(response)["code"] == "test_clock_not_found"
    assert TestClock.objects.get(pk=theirs).frozen_time == datetime(2027, 1, 31, 12, tzinfo=UTC)


def test_an_advance_retried_with_its_idempotency_key_answers_the_first_answer(api, customer, sold):
    clock_id = _create(api, customer, frozen_time=START, HTTP_IDEMPOTENCY_KEY="clock-1").json()["id"]
    body = {"frozen_time": "2027-03-01T00:00:00Z"}
    first = api.post(f"/test-clocks/{clock_id}/advance", body, HTTP_IDEMPOTENCY_KEY="adv-1")
    again = api.post(f"/test-clocks/{clock_id}/advance", body, HTTP_IDEMPOTENCY_KEY="adv-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert again.content == first.content
    assert Invoice.objects.filter(contract=sold.contract, billing_reason="renewal").count() == 1
    without_key = api.post(f"/test-clocks/{clock_id}/advance", body)
    assert error_of(without_key)["code"] == "test_clock_invalid"  # the clock is already there
    other = api.post(f"/test-clocks/{clock_id}/advance", {"frozen_time": "2027-04-01T00:00:00Z"},
                     HTTP_IDEMPOTENCY_KEY="adv-1")
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
