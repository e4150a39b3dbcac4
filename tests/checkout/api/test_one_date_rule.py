"""One rule, one answer: an end date not after the start is end_date_before_start_date at its own
path, whether the start was given, defaulted to today, or came in a contract object, on create,
preview and PATCH alike."""

import datetime
import json

import pytest

from .conftest import START, URL, URLS, error_of, plan_body

TODAY = datetime.date(2026, 1, 10)  # the API tests' frozen today


def _top_level(m, **dates):
    return {"plan_id": str(m.plan.id), "customer_id": str(m.customer.id), **URLS, **dates}


@pytest.mark.parametrize("path", [URL, f"{URL}/preview"])
@pytest.mark.parametrize("body, field", [
    (lambda m: _top_level(m, start_date=START.isoformat(), end_date=START.isoformat()), "end_date"),
    (lambda m: _top_level(m, start_date=START.isoformat(), end_date="2026-01-14"), "end_date"),
    # No start_date: it is today, and an end on or before today breaks the same rule.
    (lambda m: _top_level(m, end_date=TODAY.isoformat()), "end_date"),
    (lambda m: _top_level(m, end_date="2026-01-05"), "end_date"),
    (lambda m: plan_body(m) | {"contract": {**plan_body(m)["contract"], "end_date": START.isoformat()}},
     "contract.end_date"),
])
def test_an_end_not_after_the_start_is_one_error_wherever_the_start_came_from(merchant, path, body, field):
    response = merchant.post(body(merchant), path=path)
    assert response.status_code == 422, response.content
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("end_date_before_start_date", [field])


def test_patch_moving_the_end_before_the_start_is_the_same_error(merchant):
    created = merchant.post(_top_level(merchant, start_date=START.isoformat())).json()
    response = merchant.client.patch(f"{URL}/{created['id']}", data=json.dumps({"end_date": "2026-01-02"}),
                                     content_type="application/json")
    assert response.status_code == 422, response.content
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("end_date_before_start_date",
                                                                                ["end_date"])
