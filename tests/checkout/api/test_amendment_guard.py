"""Amendments bill only the contract they were priced against (issue #11, "Money").

Sessions are opened through the API (which records the contract version and phase in force)
and confirmed through the same service the hosted page and admin use.
"""

import datetime

import pytest
from django.urls import reverse

from billing.enums import PaymentAttemptStatus
from billing.errors import ContractChanged
from billing.gateway import CARD_SETTLES_LATER
from billing.models import Contract, Invoice, Payment, Phase
from billing.services import contract_version_bump
from checkout.enums import PaymentStatus, SessionStatus
from checkout.errors import ContractAmendmentInProgress
from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm, payment_settle
from core.money import currency_validator, is_currency
from tests.checkout.pages.helpers import card
from tests.helpers import threads_run

from .conftest import CHANGE, URLS, build_merchant, error_of, plan_body

pytestmark = pytest.mark.django_db


def _seats(m, quantity: int, **extra) -> CheckoutSession:
    response = m.post({
        "contract_id": str(m.contract.id), "start_date": CHANGE.isoformat(),
        "product_overrides": [{"product_id": str(m.seats.id), "quantity": quantity}], **URLS, **extra,
    })
    assert response.status_code == 201, response.content
    return CheckoutSession.objects.get(pk=response.json()["id"])


def _switch(m) -> CheckoutSession:
    response = m.post({"contract_id": str(m.contract.id), "plan_id": str(m.plan_pro.id),
                       "start_date": CHANGE.isoformat(), **URLS})
    assert response.status_code == 201, response.content
    return CheckoutSession.objects.get(pk=response.json()["id"])


def _phases(contract) -> list[tuple]:
    return list(Phase.objects.filter(contract=contract).order_by("position").values_list("start_date", "end_date"))


def test_amendment_session_records_the_contract_version_and_phase_it_was_priced_on(merchant):
    session = _seats(merchant, 5)
    assert session.contract_version == 1
    assert session.contract_phase_id == Phase.objects.get(contract=merchant.contract).pk


def test_confirm_second_seat_change_after_first_refused_contract_changed_nothing_charged(merchant):
    first, second = _seats(merchant, 5), _seats(merchant, 8)
    assert checkout_session_confirm(session_id=first.pk, card=card()).outcome == "completed"

    with pytest.raises(ContractChanged) as refused:
        checkout_session_confirm(session_id=second.pk, card=card())

    assert (refused.value.code, refused.value.status) == ("contract_changed", 409)
    second.refresh_from_db()
    assert (second.status, second.payment_status) == (SessionStatus.OPEN, PaymentStatus.NOT_STARTED)
    assert not Payment.objects.filter(checkout_session=second).exists()
    assert Invoice.objects.filter(contract=merchant.contract).count() == 1
    # The original phase ends on the change date, the first amendment runs on: no third phase.
    assert _phases(merchant.contract) == [(datetime.date(2026, 1, 1), CHANGE), (CHANGE, None)]
    assert Contract.objects.get(pk=merchant.contract.pk).version == 2


def test_confirm_plan_switch_priced_on_old_seat_count_refused_after_quantity_update(merchant):
    switch, seats = _switch(merchant), _seats(merchant, 9)
    checkout_session_confirm(session_id=seats.pk, card=card())
    with pytest.raises(ContractChanged):
        checkout_session_confirm(session_id=switch.pk, card=card())
    assert Contract.objects.get(pk=merchant.contract.pk).plan_id == merchant.plan.id


def test_hosted_page_confirm_of_stale_amendment_answers_409_with_the_reason(merchant, client):
    first, second = _seats(merchant, 5), _seats(merchant, 8)
    checkout_session_confirm(session_id=first.pk, card=card())

    response = client.post(reverse("checkout:page", args=[second.token]), {
        "payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34",
        "card_cvc": "123"})

    assert response.status_code == 409
    assert "The contract changed after this checkout session was priced" in response.content.decode()
    assert not Payment.objects.filter(checkout_session=second).exists()


def test_create_amendment_while_another_is_processing_refused_409(merchant):
    processing = _seats(merchant, 5)
    result = checkout_session_confirm(session_id=processing.pk, card=card(CARD_SETTLES_LATER))
    assert result.outcome == "processing"

    response = merchant.post({
        "contract_id": str(merchant.contract.id), "start_date": CHANGE.isoformat(),
        "product_overrides": [{"product_id": str(merchant.seats.id), "quantity": 7}], **URLS,
    })

    assert response.status_code == 409
    assert error_of(response)["code"] == "contract_amendment_in_progress"
    assert "contract_id" in error_of(response)["fields"]


def test_confirm_older_amendment_while_another_is_processing_refused_nothing_charged(merchant):
    older, processing = _seats(merchant, 8), _seats(merchant, 5)
    checkout_session_confirm(session_id=processing.pk, card=card(CARD_SETTLES_LATER))

    with pytest.raises(ContractAmendmentInProgress) as refused:
        checkout_session_confirm(session_id=older.pk, card=card())

    assert refused.value.status == 409
    assert not Payment.objects.filter(checkout_session=older).exists()
    assert len(_phases(merchant.contract)) == 1


def test_settle_for_a_contract_edited_meanwhile_fails_the_payment_and_leaves_the_contract(merchant):
    session = _seats(merchant, 5)
    payment = checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER)).payment
    contract_version_bump(contract_id=merchant.contract.pk)  # what an ops edit in admin does

    result = payment_settle(payment_id=payment.pk)

    assert (result.outcome, result.failure_code) == ("payment_failed", "contract_changed")
    payment.refresh_from_db()
    assert payment.status == PaymentAttemptStatus.FAILED
    assert len(_phases(merchant.contract)) == 1
    assert not Invoice.objects.filter(contract=merchant.contract).exists()


def test_admin_mark_received_for_a_changed_contract_is_refused_with_a_message(merchant, ops_client):
    session = _seats(merchant, 5)
    checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))
    contract_version_bump(contract_id=merchant.contract.pk)

    response = ops_client.post(
        reverse("admin:checkout_checkoutsession_transition", args=[session.pk, "payment_received"]), follow=True)

    assert "The contract changed after this checkout session was priced" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.PROCESSING
    assert len(_phases(merchant.contract)) == 1


def test_admin_cancel_at_period_end_makes_earlier_amendment_sessions_stale(merchant, ops_client):
    """Contracts are not hand-edited in admin (issue #29: a read-only page); its one action,
    "cancel at period end", changes the terms through the service, so a session priced before
    it can no longer be confirmed."""
    session = _seats(merchant, 5)
    contract = merchant.contract
    url = reverse("admin:billing_contract_change", args=[contract.pk])
    assert ops_client.post(url, {"currency": "USD", "status": "active", "end_date": ""}).status_code == 403
    assert Contract.objects.get(pk=contract.pk).version == 1
    response = ops_client.post(reverse("admin:billing_contract_changelist"),
                               {"action": "cancel_at_period_end", "_selected_action": [contract.pk]})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.version == 2 and contract.end_date is not None

    with pytest.raises(ContractChanged):
        checkout_session_confirm(session_id=session.pk, card=card())


@pytest.mark.django_db(transaction=True)
def test_two_amendments_confirmed_at_once_one_wins_the_other_contract_changed():
    m = build_merchant("Racing Seats")
    a, b = _seats(m, 5), _seats(m, 8)

    results = threads_run(
        lambda: checkout_session_confirm(session_id=a.pk, card=card()),
        lambda: checkout_session_confirm(session_id=b.pk, card=card()),
        together=True,
    )

    outcomes = sorted(type(r).__name__ if isinstance(r, Exception) else r.outcome for r in results)
    # The loser finds the winner's payment in flight (its attempt is committed before the card
    # is charged) or, if the winner has completed by then, the contract's new version.
    assert outcomes in (["ContractAmendmentInProgress", "completed"], ["ContractChanged", "completed"])
    assert Invoice.objects.filter(contract=m.contract).count() == 1
    assert Payment.objects.filter(checkout_session__in=[a, b]).count() == 1
    assert len(_phases(m.contract)) == 2


# --- start-date window ------------------------------------------------------------------------
# Today is 10 January 2026 in these tests (conftest._today); the plan bills monthly.


@pytest.mark.parametrize("start, accepted", [
    ("2025-12-11", True),    # its first month ends 11 Jan: still running
    ("2025-12-10", False),   # its first month ended today
    ("2025-01-01", False),
    ("2027-01-10", True),    # 365 days ahead
    ("2027-01-11", False),
    ("2099-01-01", False),
])
def test_create_new_contract_start_date_window(merchant, start, accepted):
    body = plan_body(merchant)
    body["contract"]["start_date"] = start
    response = merchant.post(body)
    if accepted:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 422
        assert error_of(response)["code"] == "start_date_out_of_range"
        assert list(error_of(response)["fields"]) == ["contract.start_date"]


def test_create_amendment_change_date_too_far_ahead_refused(merchant):
    response = merchant.post({"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                              "start_date": "2099-01-01", **URLS})
    assert response.status_code == 422
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == (
        "start_date_out_of_range", ["start_date"])


def test_create_amendment_of_a_contract_whose_end_date_passed_refused(merchant):
    Contract.objects.filter(pk=merchant.contract.pk).update(end_date=datetime.date(2026, 1, 5))
    response = merchant.post({"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                              "start_date": "2026-01-02", **URLS})
    assert response.status_code == 422
    assert (error_of(response)["code"], list(error_of(response)["fields"])) == ("contract_ended", ["contract_id"])
    assert not CheckoutSession.objects.exists()


# --- currencies -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XAG", "XDR"])
def test_create_with_a_non_money_iso_code_refused_invalid_currency(merchant, code):
    response = merchant.post({"plan_id": str(merchant.plan.id), "customer_id": str(merchant.customer.id),
                              "currency": code, **URLS})
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_currency"
    assert list(error_of(response)["fields"]) == ["currency"]


def test_real_x_currencies_stay_valid_and_metals_fail_the_model_validator():
    assert all(is_currency(code) for code in ("XAF", "XOF", "XPF", "XCD", "USD"))
    assert not any(is_currency(code) for code in ("XAU", "XTS", "XXX"))
    with pytest.raises(Exception, match="not an ISO-4217 currency code money can be billed in"):
        currency_validator("XAU")
