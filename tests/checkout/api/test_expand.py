"""``expand[]`` on retrieve and list (#28): the customer, contract and invoice a completed session
leads to, as the API shows them, under ``expanded``."""

import pytest

from billing.models import Contract, Invoice
from billing.representation import contract_json, invoice_json

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

ALL = "?expand[]=customer&expand[]=contract&expand[]=invoice"


def _completed(merchant) -> str:
    session_id = merchant.post(plan_body(merchant)).json()["id"]
    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                              path=f"{URL}/{session_id}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    return session_id


def test_retrieve_expands_customer_contract_and_invoice(merchant):
    session_id = _completed(merchant)

    body = merchant.client.get(f"{URL}/{session_id}{ALL}").json()

    invoice = Invoice.objects.get(checkout_session_id=session_id)
    contract = Contract.objects.get(pk=body["contract_id"])
    expanded = body["expanded"]
    assert expanded["customer"]["id"] == str(merchant.customer.id)
    assert expanded["customer"]["object"] == "customer"
    assert expanded["customer"]["customer_name"] == merchant.customer.customer_name
    assert expanded["contract"] == contract_json(contract)
    assert expanded["invoice"] == invoice_json(invoice)
    assert expanded["invoice"]["total"] == body["amount_total"]
    # Without expand[], no expanded key (the object is unchanged for everyone else).
    assert "expanded" not in merchant.get(f"{URL}/{session_id}").json()


def test_expand_only_what_is_asked_and_null_until_it_exists(merchant):
    open_id = merchant.post(plan_body(merchant)).json()["id"]
    body = merchant.client.get(f"{URL}/{open_id}?expand[]=invoice&expand[]=contract").json()
    assert body["expanded"] == {"invoice": None, "contract": None}


def test_list_expands_every_session_in_a_constant_number_of_queries(merchant, django_assert_max_num_queries):
    completed = [_completed(merchant) for _ in range(3)]

    with django_assert_max_num_queries(9):
        response = merchant.client.get(f"{URL}{ALL}")

    assert response.status_code == 200, response.content
    by_id = {item["id"]: item["expanded"] for item in response.json()["data"]}
    assert set(by_id) == set(completed)
    for session_id, expanded in by_id.items():
        assert expanded["invoice"]["checkout_session_id"] == session_id
        assert expanded["contract"]["id"] == expanded["invoice"]["contract_id"]


def test_expand_never_reaches_another_organizations_objects(merchant, rival):
    session_id = _completed(merchant)
    assert merchant.client.get(f"{URL}/{session_id}{ALL}").status_code == 200
    assert rival.client.get(f"{URL}/{session_id}{ALL}").status_code == 404
    assert rival.client.get(f"{URL}{ALL}").json()["data"] == []


@pytest.mark.parametrize("query, code", [("?expand[]=plan", "invalid_choice"), ("?expand=customer", "unknown_parameter")])
def test_expand_refusals(merchant, query, code):
    session_id = merchant.post(plan_body(merchant)).json()["id"]
    for path in (f"{URL}/{session_id}{query}", f"{URL}{query}"):
        response = merchant.client.get(path)
        assert (response.status_code, error_of(response)["code"]) == (422, code), response.content
