"""Input the billing vendor's own examples use, and Stripe habits (issue #13)."""

import pytest

from checkout.models import CheckoutSession

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("given, stored", [
    ("2026-01-15T00:00:00Z", "2026-01-15"),
    ("2026-01-15T23:30:00-05:00", "2026-01-16"),   # its date in UTC
    ("2026-01-15T01:00:00+02:00", "2026-01-14"),
    ("2026-01-15T12:00:00", "2026-01-15"),         # naive: taken as UTC
])
def test_start_date_as_an_iso_datetime_is_its_date_in_utc(merchant, given, stored):
    body = plan_body(merchant)
    body["contract"]["start_date"] = given
    response = merchant.post(body)
    assert response.status_code == 201, response.content
    assert response.json()["start_date"] == stored


@pytest.mark.parametrize("given", ["2026-13-01T00:00:00Z", "2026-01-15Tnoon", "2026-01-15T25:00:00Z"])
def test_a_malformed_datetime_is_invalid_date(merchant, given):
    body = plan_body(merchant)
    body["contract"]["start_date"] = given
    response = merchant.post(body)
    assert response.status_code == 422
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("invalid_date", ["contract.start_date"])


def test_cancel_without_a_reason_defaults_to_requested_by_customer(merchant):
    created = merchant.post(plan_body(merchant)).json()
    response = merchant.post({}, path=f"{URL}/{created['id']}/cancel")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["cancellation_reason"]) == (
        "cancelled", "requested_by_customer")


def test_moving_the_idempotency_key_from_header_to_body_is_a_replay(merchant):
    first = merchant.post(plan_body(merchant), HTTP_IDEMPOTENCY_KEY="order-77")
    again = merchant.post(plan_body(merchant, idempotency_key="order-77"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert CheckoutSession.objects.count() == 1
