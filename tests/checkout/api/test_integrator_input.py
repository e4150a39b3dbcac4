"""Input the billing vendor's own examples use, and Stripe habits (issue #13)."""

from decimal import Decimal

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


# --- POST /checkout-sessions/{id}/expire -------------------------------------------------------


def test_expire_an_open_session_now_records_the_event(merchant, django_capture_on_commit_callbacks):
    from checkout.models import Event

    created = merchant.post(plan_body(merchant)).json()
    response = merchant.post({}, path=f"{URL}/{created['id']}/expire")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "expired" and response.json()["expired_at"]
    assert list(Event.objects.filter(checkout_session_id=created["id"]).values_list("type", flat=True)) == [
        "checkout_session.expired"]


def test_expire_without_a_body_works_and_a_field_is_refused(merchant):
    created = merchant.post(plan_body(merchant)).json()
    refused = merchant.post({"reason": "x"}, path=f"{URL}/{created['id']}/expire")
    assert (refused.status_code, error_of(refused)["code"]) == (422, "unknown_field")
    assert merchant.client.post(f"{URL}/{created['id']}/expire").status_code == 200


@pytest.mark.parametrize("status", ["processing", "completed", "cancelled", "expired"])
def test_expire_a_session_that_is_not_open_is_409(merchant, status):
    created = merchant.post(plan_body(merchant)).json()
    CheckoutSession.objects.filter(pk=created["id"]).update(status=status)
    response = merchant.post({}, path=f"{URL}/{created['id']}/expire")
    assert response.status_code == 409
    assert error_of(response)["code"] == "checkout_session_not_open"
    assert CheckoutSession.objects.get(pk=created["id"]).status == status


def test_expire_another_tenants_or_modes_session_is_404(merchant, rival):
    from core.services import api_key_create
    from tests.helpers import api_client_with_key

    created = merchant.post(plan_body(merchant)).json()
    assert rival.post({}, path=f"{URL}/{created['id']}/expire").status_code == 404
    live = api_client_with_key(api_key_create(organization=merchant.organization, livemode=True)[1])
    assert live.post(f"{URL}/{created['id']}/expire", {}, format="json").status_code == 404
    assert CheckoutSession.objects.get(pk=created["id"]).status == "open"


@pytest.mark.django_db(transaction=True)
def test_expire_racing_a_confirm_ends_in_one_outcome():
    from checkout.services.confirm import checkout_session_confirm
    from tests.checkout.pages.helpers import card
    from tests.helpers import threads_run

    from .conftest import build_merchant

    m = build_merchant("Racing Expire")
    created = m.post(plan_body(m)).json()
    results = threads_run(
        lambda: m.post({}, path=f"{URL}/{created['id']}/expire").status_code,
        lambda: checkout_session_confirm(session_id=created["id"], card=card()).outcome,
        together=True,
    )
    final = CheckoutSession.objects.get(pk=created["id"]).status
    assert final in ("expired", "completed")
    if final == "expired":
        assert results[0] == 200 and isinstance(results[1], Exception)
    else:
        assert results == [409, "completed"]


# --- POST /checkout-sessions/preview ------------------------------------------------------------


def test_preview_prices_like_create_and_stores_nothing(merchant):
    from checkout.models import IdempotencyRecord

    preview = merchant.post(plan_body(merchant), path=f"{URL}/preview", HTTP_IDEMPOTENCY_KEY="pv-1")
    assert preview.status_code == 200, preview.content
    assert preview.json()["object"] == "checkout_session_preview"
    assert "id" not in preview.json() and "url" not in preview.json()
    assert not CheckoutSession.objects.exists() and not IdempotencyRecord.objects.exists()
    created = merchant.post(plan_body(merchant)).json()
    assert preview.json()["estimates"] == created["estimates"]
    assert preview.json()["estimates"]["current_invoice"]["total"] == created["estimates"]["current_invoice"]["total"]


def test_preview_of_a_plan_switch_shows_the_proration(merchant):
    response = merchant.post({"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                              "start_date": "2026-01-20"}, path=f"{URL}/preview")
    assert response.status_code == 200, response.content
    assert response.json()["checkout_type"] == "plan_switch"
    assert any(line["proration"] for line in response.json()["estimates"]["current_invoice"]["line_items"])


def test_preview_applies_the_create_rules_and_tenancy(merchant, rival):
    bad = plan_body(merchant)
    bad["contract"]["currency"] = "XAU"
    assert error_of(merchant.post(bad, path=f"{URL}/preview"))["code"] == "invalid_currency"
    foreign = rival.post(plan_body(merchant), path=f"{URL}/preview")
    assert foreign.status_code == 404


# --- POST /checkout-sessions/{id}/confirm --------------------------------------------------------


def _confirm(merchant, session_id, **body):
    return merchant.post(body, path=f"{URL}/{session_id}/confirm")


def test_confirm_charge_now_completes_with_one_contract_and_invoice(merchant):
    from billing.models import Invoice

    created = merchant.post(plan_body(merchant)).json()
    response = _confirm(merchant, created["id"], mode="charge_now", payment_method_id="pm_test_succeeds")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["payment_status"]) == ("completed", "paid")
    invoice = Invoice.objects.get(checkout_session_id=created["id"])
    assert invoice.total == Decimal(created["estimates"]["current_invoice"]["total"])
    again = _confirm(merchant, created["id"], mode="charge_now", payment_method_id="pm_test_succeeds")
    assert (again.status_code, error_of(again)["code"]) == (409, "checkout_session_not_open")


def test_confirm_declined_is_402_and_the_session_stays_open(merchant):
    created = merchant.post(plan_body(merchant)).json()
    response = _confirm(merchant, created["id"], mode="charge_now", payment_method_id="pm_test_declined")
    assert response.status_code == 402
    assert error_of(response)["code"] == "payment_failed"
    assert "declined" in error_of(response)["message"]
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == ("open", "failed")


def test_confirm_settles_later_is_processing(merchant):
    created = merchant.post(plan_body(merchant)).json()
    response = _confirm(merchant, created["id"], mode="charge_now", payment_method_id="pm_test_settles_later")
    assert (response.status_code, response.json()["status"]) == (200, "processing")


@pytest.mark.parametrize("body, status, code, field", [
    ({"mode": "no_payment"}, 422, "payment_required", "mode"),
    ({"mode": "invoice"}, 422, "payment_method_not_allowed", "payment_method"),
    ({"mode": "charge_now"}, 422, "card_required", "payment_method_id"),
    ({"mode": "charge_now", "payment_method_id": "pm_unknown"}, 422, "card_required", "payment_method_id"),
    ({"mode": "wire"}, 422, "invalid_choice", "mode"),
    ({}, 422, "field_required", "mode"),
])
def test_confirm_refusals_change_nothing(merchant, body, status, code, field):
    from core.models import BusinessEntity

    BusinessEntity.objects.filter(pk=merchant.entity.pk).update(allow_invoice_payment=False)
    created = merchant.post(plan_body(merchant)).json()
    response = _confirm(merchant, created["id"], **body)
    assert response.status_code == status, response.content
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == (code, [field])
    assert CheckoutSession.objects.get(pk=created["id"]).status == "open"


def test_confirm_invoice_where_allowed_completes_payment_pending(merchant):
    from core.models import BusinessEntity

    BusinessEntity.objects.filter(pk=merchant.entity.pk).update(allow_invoice_payment=True)
    created = merchant.post(plan_body(merchant)).json()
    response = _confirm(merchant, created["id"], mode="invoice")
    assert (response.status_code, response.json()["status"], response.json()["payment_status"]) == (
        200, "completed", "pending")


def test_confirm_no_payment_completes_a_seat_reduction_that_credits(merchant):
    from billing.models import Invoice
    from tests.checkout.api.conftest import CHANGE, URLS

    created = merchant.post({
        "contract_id": str(merchant.contract.id), "start_date": CHANGE.isoformat(),
        "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 1}], **URLS}).json()
    assert Decimal(created["estimates"]["current_invoice"]["total"]) < 0  # nothing to charge

    response = _confirm(merchant, created["id"], mode="no_payment")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["payment_status"]) == ("completed", "no_payment_required")
    invoice = Invoice.objects.get(checkout_session_id=created["id"])
    assert invoice.total == Decimal(created["estimates"]["current_invoice"]["total"])
    merchant.contract.refresh_from_db()
    assert merchant.contract.version == 2


def test_confirm_another_tenants_or_modes_session_is_404(merchant, rival):
    from core.services import api_key_create
    from tests.helpers import api_client_with_key

    created = merchant.post(plan_body(merchant)).json()
    assert _confirm(rival, created["id"], mode="charge_now", payment_method_id="pm_test_succeeds").status_code == 404
    live = api_client_with_key(api_key_create(organization=merchant.organization, livemode=True)[1])
    answer = live.post(f"{URL}/{created['id']}/confirm", {"mode": "charge_now", "payment_method_id": "pm_test_succeeds"},
                       format="json")
    assert answer.status_code == 404
    assert CheckoutSession.objects.get(pk=created["id"]).status == "open"


# --- PATCH /checkout-sessions/{id} -------------------------------------------------------------


def _patch(merchant, session_id, body):
    import json

    return merchant.client.patch(f"{URL}/{session_id}", data=json.dumps(body), content_type="application/json")


def test_update_reprices_and_relocks_and_the_page_shows_it(merchant, client):
    created = merchant.post(plan_body(merchant)).json()
    before = Decimal(created["estimates"]["current_invoice"]["total"])
    response = _patch(merchant, created["id"], {
        "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 8}],
        "metadata": {"order": "B-2"}, "success_url": "https://merchant.example/new-ok"})
    assert response.status_code == 200, response.content
    after = Decimal(response.json()["estimates"]["current_invoice"]["total"])
    # 5 more seats at 12.00, plus 10 % tax.
    assert after - before == Decimal("66.00")
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.estimates == response.json()["estimates"] and session.metadata == {"order": "B-2"}
    page = client.get(f"/pay/{session.token}").content.decode()
    assert f"${after:,.2f}" in page


def test_update_with_invalid_terms_changes_nothing(merchant):
    created = merchant.post(plan_body(merchant)).json()
    response = _patch(merchant, created["id"], {
        "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 500}]})
    assert response.status_code == 422
    assert error_of(response)["code"] == "quantity_out_of_bounds"
    assert CheckoutSession.objects.get(pk=created["id"]).estimates == created["estimates"]
    unknown = _patch(merchant, created["id"], {"plan_id": str(merchant.plan_pro.id)})
    assert (unknown.status_code, error_of(unknown)["code"]) == (422, "unknown_field")
    guestless = _patch(merchant, created["id"], {"customer": {"customer_name": "X"}})
    assert (guestless.status_code, error_of(guestless)["code"]) == (422, "field_not_allowed")


def test_update_of_a_completed_or_foreign_session_is_refused(merchant, rival):
    created = merchant.post(plan_body(merchant)).json()
    assert _patch(rival, created["id"], {"metadata": {}}).status_code == 404
    CheckoutSession.objects.filter(pk=created["id"]).update(status="completed")
    refused = _patch(merchant, created["id"], {"metadata": {"a": "b"}})
    assert (refused.status_code, error_of(refused)["code"]) == (409, "checkout_session_not_open")


def test_update_an_amendment_change_date(merchant):
    created = merchant.post({"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                             "start_date": "2026-01-20", "success_url": "https://merchant.example/ok"}).json()
    response = _patch(merchant, created["id"], {"start_date": "2026-01-25"})
    assert response.status_code == 200, response.content
    assert response.json()["start_date"] == "2026-01-25"
    assert response.json()["estimates"] != created["estimates"]


@pytest.mark.django_db(transaction=True)
def test_update_racing_a_confirm_ends_in_one_outcome():
    from billing.models import Invoice
    from checkout.services.confirm import checkout_session_confirm
    from tests.checkout.pages.helpers import card
    from tests.helpers import threads_run

    from .conftest import build_merchant

    m = build_merchant("Racing Update")
    created = m.post(plan_body(m)).json()
    results = threads_run(
        lambda: _patch(m, created["id"], {"product_overrides": [{"product_id": str(m.seats.id), "quantity": 9}]}),
        lambda: checkout_session_confirm(session_id=created["id"], card=card()),
        together=True,
    )
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.status == "completed"
    invoice = Invoice.objects.get(checkout_session=session)
    # Whatever won, the invoice is exactly the estimate the session holds.
    assert invoice.total == Decimal(session.estimates["current_invoice"]["total"])
    assert results[0].status_code in (200, 409)
