"""GET /customers/{id}/payment-methods (paginated), set a default, detach; the contract's method on
GET /contracts and /contracts/{id}. Tenants and modes never see each other's rows."""

import pytest

from billing.models import Contract, SavedPaymentMethod
from billing.payment_methods import customer_default_payment_method

from .conftest import card_save, error_of

pytestmark = pytest.mark.django_db


def _methods_path(customer):
    return f"/customers/{customer.pk}/payment-methods"


def test_list_marks_the_one_default_and_pages_newest_first(api, customer, sold, django_assert_max_num_queries):
    second = card_save(customer, last4="1881")
    third = card_save(customer, last4="0005", make_default=False)
    with django_assert_max_num_queries(5):
        response = api.get(_methods_path(customer))
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["data"]] == [str(third.pk), str(second.pk), str(sold.method.pk)]
    assert [m["is_default"] for m in body["data"]] == [False, True, False]
    assert body["data"][1]["card"] == {"brand": "visa", "last4": "1881", "exp_month": None, "exp_year": None}
    assert body["data"][1]["mandate"]["text"].startswith("By subscribing")
    assert (body["has_more"], body["next_cursor"]) == (False, None)

    first_page = api.get(_methods_path(customer), limit=2).json()
    assert [m["id"] for m in first_page["data"]] == [str(third.pk), str(second.pk)] and first_page["has_more"]
    rest = api.get(_methods_path(customer), limit=2, cursor=first_page["next_cursor"]).json()
    assert [m["id"] for m in rest["data"]] == [str(sold.method.pk)] and rest["has_more"] is False


def test_list_pages_by_id_both_ways_like_the_session_list(api, customer, sold):
    second = card_save(customer, last4="1881")
    third = card_save(customer, last4="0005")
    older = api.get(_methods_path(customer), starting_after=str(third.pk), limit=1).json()
    assert [m["id"] for m in older["data"]] == [str(second.pk)] and older["has_more"] is True
    newer = api.get(_methods_path(customer), ending_before=str(sold.method.pk)).json()
    assert [m["id"] for m in newer["data"]] == [str(third.pk), str(second.pk)] and newer["has_more"] is False


def test_list_refuses_a_bad_cursor_limit_or_parameter(api, rival_customer, customer, sold):
    assert error_of(api.get(_methods_path(customer), cursor="nope"))["code"] == "invalid_cursor"
    response = api.get(_methods_path(customer), limit=101)
    assert response.status_code == 422 and error_of(response)["code"] == "value_out_of_range"
    assert error_of(api.get(_methods_path(customer), limt=5))["code"] == "unknown_parameter"
    both = api.get(_methods_path(customer), cursor="x", starting_after=str(sold.method.pk))
    assert error_of(both)["code"] == "pagination_conflict"
    stranger = card_save(rival_customer, last4="7777")
    foreign = api.get(_methods_path(customer), starting_after=str(stranger.pk))
    assert foreign.status_code == 422 and error_of(foreign)["code"] == "invalid_cursor"


def test_another_organizations_customer_is_404_and_the_other_mode_sees_nothing(
        api, live_api, rival_api, customer, sold):
    response = rival_api.get(_methods_path(customer))
    assert response.status_code == 404 and error_of(response)["code"] == "customer_not_found"
    live = live_api.get(_methods_path(customer))
    assert live.status_code == 200 and live.json()["data"] == []


def test_set_default_makes_renewals_charge_it(api, customer, sold):
    other = card_save(customer, last4="1881", make_default=False)
    response = api.post(f"{_methods_path(customer)}/{other.pk}/default")
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is True and response.json()["id"] == str(other.pk)
    assert customer_default_payment_method(customer_id=customer.pk, livemode=False).pk == other.pk
    listed = {m["id"]: m["is_default"] for m in api.get(_methods_path(customer)).json()["data"]}
    assert listed == {str(other.pk): True, str(sold.method.pk): False}


def test_set_default_refuses_another_customers_tenants_or_modes_method(
        api, live_api, rival_api, customer, customer_factory, sold):
    stranger = customer_factory(organization=customer.organization, business_entity=customer.business_entity)
    theirs = card_save(stranger, last4="9999")
    for client, path in ((api, f"{_methods_path(customer)}/{theirs.pk}/default"),
                         (rival_api, f"{_methods_path(customer)}/{sold.method.pk}/default"),
                         (live_api, f"{_methods_path(customer)}/{sold.method.pk}/default"),
                         (api, f"{_methods_path(customer)}/{theirs.pk}/detach"),
                         (rival_api, f"{_methods_path(customer)}/{sold.method.pk}/detach")):
        response = client.post(path)
        assert response.status_code == 404 and error_of(response)["code"] == "payment_method_not_found", path
    assert SavedPaymentMethod.objects.get(pk=sold.method.pk).status == "active"
    assert SavedPaymentMethod.objects.get(pk=theirs.pk).status == "active"
    assert customer_default_payment_method(customer_id=stranger.pk, livemode=False).pk == theirs.pk


def test_detach_stops_charging_it_and_the_contract_falls_back_to_the_customers_default(api, customer, sold):
    backup = card_save(customer, last4="1881", make_default=False)
    api.post(f"{_methods_path(customer)}/{backup.pk}/default")
    response = api.post(f"{_methods_path(customer)}/{sold.method.pk}/detach", {})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["is_default"]) == ("detached", False)
    assert Contract.objects.get(pk=sold.contract.pk).default_payment_method_id is None
    assert [m["id"] for m in api.get(_methods_path(customer)).json()["data"]] == [str(backup.pk)]
    contract = api.get(f"/contracts/{sold.contract.pk}").json()
    assert contract["default_payment_method_id"] is None
    assert contract["default_payment_method"]["id"] == str(backup.pk)
    # detached methods cannot become the default again
    again = api.post(f"{_methods_path(customer)}/{sold.method.pk}/default")
    assert again.status_code == 404 and error_of(again)["code"] == "payment_method_not_found"


def test_a_set_default_retried_with_its_key_replays_and_a_detach_cannot_reuse_it(api, customer, sold):
    other = card_save(customer, last4="1881", make_default=False)
    path = f"{_methods_path(customer)}/{other.pk}/default"
    first = api.post(path, HTTP_IDEMPOTENCY_KEY="pm-1")
    again = api.post(path, HTTP_IDEMPOTENCY_KEY="pm-1")
    assert (first.status_code, again["Idempotent-Replayed"], again.content) == (200, "true", first.content)
    reused = api.post(f"{_methods_path(customer)}/{other.pk}/detach", HTTP_IDEMPOTENCY_KEY="pm-1")
    assert reused.status_code == 422 and error_of(reused)["code"] == "idempotency_key_reused"
    assert SavedPaymentMethod.objects.get(pk=other.pk).status == "active"


def test_set_default_takes_no_fields(api, customer, sold):
    response = api.post(f"{_methods_path(customer)}/{sold.method.pk}/default", {"make": True})
    assert response.status_code == 422 and error_of(response)["code"] == "unknown_field"


# --- contracts ----------------------------------------------------------------------------------


def test_contract_shows_its_own_method(api, sold, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = api.get(f"/contracts/{sold.contract.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["default_payment_method_id"] == str(sold.method.pk)
    assert body["default_payment_method"]["card"]["last4"] == "4242"
    assert (body["status"], body["next_billing_date"], body["credit_balance"]) == ("active", "2027-02-28", "0.00")


def test_contract_of_another_tenant_or_mode_is_404(live_api, rival_api, sold):
    for client in (live_api, rival_api):
        response = client.get(f"/contracts/{sold.contract.pk}")
        assert response.status_code == 404 and error_of(response)["code"] == "contract_not_found"


def test_contract_list_in_a_fixed_number_of_queries_with_each_default(
        api, rival_api, customer, customer_factory, django_assert_max_num_queries):
    from tests.billing.renewal_helpers import sell

    contracts = []
    for _ in range(3):
        other = customer_factory(organization=customer.organization, business_entity=customer.business_entity)
        sold = sell(other)
        Contract.objects.filter(pk=sold.contract.pk).update(default_payment_method=None)
        contracts.append(sold)
    no_card = sell(customer, behaviour=None)
    with django_assert_max_num_queries(5):
        response = api.get("/contracts")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [c["id"] for c in data] == [str(no_card.contract.pk)] + [str(s.contract.pk) for s in reversed(contracts)]
    assert data[0]["default_payment_method"] is None
    assert [c["default_payment_method"]["id"] for c in data[1:]] == [str(s.method.pk) for s in reversed(contracts)]
    assert [c["id"] for c in api.get("/contracts", customer_id=str(customer.pk)).json()["data"]] == [
        str(no_card.contract.pk)]
    assert rival_api.get("/contracts").json()["data"] == []
    page = api.get("/contracts", limit=3).json()
    assert page["has_more"] and len(page["data"]) == 3
    assert len(api.get("/contracts", limit=3, cursor=page["next_cursor"]).json()["data"]) == 1
