"""The hosted page's billing-interval switch (#27) without JavaScript: the radios, the adjust
endpoint's post/redirect/get, typed fields kept, forged plans refused, and a "Pay" with another
interval picked priced first."""

import json
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from tests.checkout.api.conftest import TODAY, URL, build_merchant, plan_body
from tests.checkout.plan_choices import yearly_plan

from .helpers import text

pytestmark = pytest.mark.django_db

GUEST = {"customer_name": "Ada Lovelace", "email": "ada@example.com",
         "address": {"line1": "1 Main St", "city": "Austin", "zip_code": "73301", "country": "US"}}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def merchant(db):
    return build_merchant("Acme")


def open_session(m, **extra) -> CheckoutSession:
    yearly = yearly_plan(m)
    response = m.client.post(URL, content_type="application/json", data=json.dumps(
        plan_body(m, plan_choices=[str(m.plan.id), str(yearly.id)], **extra)))
    assert response.status_code == 201, response.content
    return CheckoutSession.objects.get(pk=response.json()["id"])


def guest_session(m) -> CheckoutSession:
    body = {"guest_checkout": True, "customer": GUEST, "business_entity_id": str(m.entity.id), "customer_id": None}
    return open_session(m, **body)


def page(session):
    return f"/pay/{session.token}"


def adjust(session):
    return f"/pay/{session.token}/adjust"


def yearly_id(session) -> str:
    return next(c["plan_id"] for c in session.plan_choices if c["months"] == 12)


def test_the_page_offers_monthly_and_yearly_with_the_yearly_saving(client, merchant):
    session = open_session(merchant)

    body = text(client.get(page(session)))

    assert "<legend>Billing interval</legend>" in body
    assert (f'<input type="radio" name="plan_id" id="id_plan_1" value="{session.plan_id}" form="confirm-form" '
            "checked>") in body
    assert f'id="id_plan_2" value="{yearly_id(session)}" form="confirm-form">' in body
    assert "Billed monthly</span> <span class=\"plan-choice-price\">$85.00 a month" in body
    assert "Billed yearly</span> <span class=\"plan-choice-price\">$850.00 a year" in body
    assert 'data-testid="plan-saving">Save $170.00 a year (16%)</span>' in body
    assert f'formaction="{adjust(session)}"' in body
    assert 'data-testid="amount-due">$312.40<' in body


def test_a_page_without_choices_has_no_switch(client, merchant):
    response = merchant.client.post(URL, content_type="application/json", data=json.dumps(plan_body(merchant)))
    session = CheckoutSession.objects.get(pk=response.json()["id"])
    assert "plan-choices" not in text(client.get(page(session)))


def test_picking_yearly_reprices_and_redirects_back_to_the_page(client, merchant):
    session = open_session(merchant)

    response = client.post(adjust(session), {"plan_id": yearly_id(session)})

    assert response.status_code == 302 and response["Location"] == page(session)
    session.refresh_from_db()
    assert str(session.plan_id) == yearly_id(session)
    assert session.estimates["current_invoice"]["total"] == "1153.90"
    body = text(client.get(page(session)))
    assert 'data-testid="amount-due">$1,153.90<' in body
    assert f'id="id_plan_2" value="{yearly_id(session)}" form="confirm-form" checked>' in body


def test_a_forged_plan_is_refused_on_the_switch_and_changes_nothing(client, merchant):
    session = open_session(merchant)
    before = (session.plan_id, session.estimates, session.updated_at)

    for forged in (str(merchant.plan_pro.id), "", "../../etc"):
        response = client.post(adjust(session), {"plan_id": forged})
        assert response.status_code == 400
        assert ('<p class="field-error" id="plan-choices-error" role="alert">This plan is not offered in this '
                "checkout.</p>") in text(response)

    session.refresh_from_db()
    assert (session.plan_id, session.estimates, session.updated_at) == before


def test_the_whole_form_posted_to_the_switch_keeps_what_was_typed(client, merchant):
    session = guest_session(merchant)
    typed = {"customer_name": "Ada Byron", "email": "ada@example.com", "line1": "2 Side St", "city": "Austin",
             "zip_code": "73301", "country": "US", "payment_method": "card", "card_number": "4242424242424242",
             "card_expiry": "11/33", "card_cvc": "987", "plan_id": yearly_id(session)}

    response = client.post(adjust(session), typed)

    assert response.status_code == 200
    body = text(response)
    assert 'name="customer_name" value="Ada Byron"' in body and 'name="line1" value="2 Side St"' in body
    assert 'value="11/33"' in body and "4242424242424242" not in body
    assert 'data-testid="amount-due">$1,153.90<' in body


def test_pay_with_another_interval_picked_prices_it_first_then_bills_it(client, merchant):
    session = open_session(merchant)
    card = {"payment_method": "card", "card_number": "4242424242424242", "card_expiry": "12/34",
            "card_cvc": "123"}

    shown = client.post(page(session), {**card, "plan_id": yearly_id(session)})

    assert shown.status_code == 200  # the new price shown, nothing charged
    assert 'data-testid="amount-due">$1,153.90<' in text(shown)
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and not Invoice.objects.exists()

    paid = client.post(page(session), {**card, "plan_id": yearly_id(session)})

    assert paid.status_code == 302 and paid["Location"].startswith("https://merchant.example/ok")
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    invoice = Invoice.objects.get(checkout_session=session)
    assert invoice.total == Decimal(session.estimates["current_invoice"]["total"]) == Decimal("1153.90")
    assert str(session.contract.plan_id) == yearly_id(session)


def test_a_recovered_session_offers_the_same_choices_on_the_plan_picked(client, merchant):
    session = open_session(merchant, after_expiration={"recovery": {"enabled": True}})
    assert client.post(adjust(session), {"plan_id": yearly_id(session)}).status_code == 302
    assert merchant.client.post(f"{URL}/{session.pk}/expire").status_code == 200

    response = client.get(f"/pay/{session.token}/recover")

    assert response.status_code == 302
    recovered = CheckoutSession.objects.get(recovered_from=session)
    assert recovered.plan_choices == CheckoutSession.objects.get(pk=session.pk).plan_choices
    assert str(recovered.plan_id) == yearly_id(session)
    assert recovered.estimates["current_invoice"]["total"] == "1153.90"
