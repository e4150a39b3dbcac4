"""The hosted page's items box (#27) without JavaScript: a number field per adjustable line, a
checkbox per optional add-on, "Update price" posting to the adjust endpoint (post/redirect/get,
typed fields kept), refusals shown on the box with nothing changed, and a "Pay" with a changed
quantity priced first."""

import json
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from tests.checkout.api.conftest import TODAY, URL, build_merchant, plan_body

from .helpers import text

pytestmark = pytest.mark.django_db

# Starter: platform 49.00 + 3 seats × 12.00 a month, onboarding 199.00 once (optional); tax 10 %.
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
    overrides = [{"product_id": str(m.seats.id), "adjustable_quantity": {"enabled": True, "minimum": 1,
                                                                        "maximum": 20}},
                 {"product_id": str(m.onboarding.id), "optional": True}]
    response = m.client.post(URL, content_type="application/json", data=json.dumps(
        plan_body(m, product_overrides=overrides, **extra)))
    assert response.status_code == 201, response.content
    return CheckoutSession.objects.get(pk=response.json()["id"])


def guest_session(m) -> CheckoutSession:
    return open_session(m, guest_checkout=True, customer=GUEST, business_entity_id=str(m.entity.id),
                        customer_id=None)


def page(session):
    return f"/pay/{session.token}"


def adjust(session):
    return f"/pay/{session.token}/adjust"


def test_the_page_shows_a_quantity_field_and_an_add_on_checkbox(client, merchant):
    session = open_session(merchant)
    seats, onboarding = merchant.seats.id, merchant.onboarding.id

    body = text(client.get(page(session)))

    assert "<legend>Your items</legend>" in body
    assert f'<label for="id_quantity_{seats}">Quantity of Seats</label>' in body
    assert (f'<input type="number" name="quantity_{seats}" id="id_quantity_{seats}" form="confirm-form" value="3" '
            f'min="1" max="20" step="1" inputmode="numeric" aria-describedby="id_quantity_{seats}_hint">') in body
    assert f'<p class="hint" id="id_quantity_{seats}_hint">From 1 to 20</p>' in body
    assert f'<input type="hidden" name="addon_{onboarding}" value="0" form="confirm-form">' in body
    assert (f'<input type="checkbox" name="addon_{onboarding}" id="id_addon_{onboarding}" value="1" '
            'form="confirm-form" checked>') in body
    assert f'<label for="id_addon_{onboarding}">Add Onboarding</label>' in body
    assert f'formaction="{adjust(session)}" class="button secondary items-update" data-reprice>Update price' in body
    assert 'data-testid="amount-due">$312.40<' in body


def test_a_page_without_adjustable_lines_has_no_box(client, merchant):
    response = merchant.client.post(URL, content_type="application/json", data=json.dumps(plan_body(merchant)))
    session = CheckoutSession.objects.get(pk=response.json()["id"])
    assert "adjust-items" not in text(client.get(page(session)))


def test_update_price_reprices_and_redirects_back_to_the_page(client, merchant):
    session = open_session(merchant)
    onboarding = merchant.onboarding.id

    response = client.post(adjust(session), {f"quantity_{merchant.seats.id}": "7", f"addon_{onboarding}": "0"})

    assert response.status_code == 302 and response["Location"] == page(session)
    session.refresh_from_db()
    assert session.estimates["current_invoice"]["total"] == "146.30"  # (49 + 7 × 12) × 1.1
    body = text(client.get(page(session)))
    assert 'data-testid="amount-due">$146.30<' in body
    assert f'name="quantity_{merchant.seats.id}" id="id_quantity_{merchant.seats.id}" form="confirm-form" value="7"' \
        in body
    assert f'id="id_addon_{onboarding}" value="1" form="confirm-form">' in body  # unchecked now

    # Added back: the checkbox's "1" follows the hidden "0".
    client.post(adjust(session), {f"addon_{onboarding}": ["0", "1"]})
    session.refresh_from_db()
    assert session.estimates["current_invoice"]["total"] == "365.20"  # (49 + 84 + 199) × 1.1


@pytest.mark.parametrize("quantity", ["0", "21", "abc"])
def test_a_quantity_out_of_range_is_refused_on_its_field_and_changes_nothing(client, merchant, quantity):
    session = open_session(merchant)
    before = (session.estimates, session.product_overrides, session.updated_at)
    seats = merchant.seats.id

    response = client.post(adjust(session), {f"quantity_{seats}": quantity})

    assert response.status_code == 422
    body = text(response)
    assert (f'<p class="field-error" id="id_quantity_{seats}_error" role="alert">Choose a quantity from 1 to '
            "20.</p>") in body
    assert f'aria-describedby="id_quantity_{seats}_error id_quantity_{seats}_hint" aria-invalid="true">' in body
    assert 'data-testid="amount-due">$312.40<' in body
    session.refresh_from_db()
    assert (session.estimates, session.product_overrides, session.updated_at) == before


def test_forged_lines_are_refused_and_change_nothing(client, merchant):
    session = open_session(merchant)
    before = (session.estimates, session.product_overrides, session.updated_at)

    for forged in ({f"quantity_{merchant.platform.id}": "2"}, {f"addon_{merchant.seats.id}": "0"},
                   {"quantity_../../etc": "2"}, {f"quantity_{merchant.seats.id}": "5",
                                                 f"addon_{merchant.platform.id}": "0"}):
        response = client.post(adjust(session), forged)
        assert response.status_code == 400
        assert ('<p class="field-error" id="adjust-items-error" role="alert">This item cannot be changed in this '
                "checkout.</p>") in text(response)

    session.refresh_from_db()
    assert (session.estimates, session.product_overrides, session.updated_at) == before


def test_the_whole_form_posted_to_update_price_keeps_what_was_typed(client, merchant):
    session = guest_session(merchant)
    typed = {"customer_name": "Ada Byron", "email": "ada@example.com", "line1": "2 Side St", "city": "Austin",
             "zip_code": "73301", "country": "US", "payment_method": "card", "card_number": "4242424242424242",
             "card_expiry": "11/33", "card_cvc": "987", f"quantity_{merchant.seats.id}": "10"}

    response = client.post(adjust(session), typed)

    assert response.status_code == 200
    body = text(response)
    assert 'name="customer_name" value="Ada Byron"' in body and 'name="line1" value="2 Side St"' in body
    assert 'value="11/33"' in body and "4242424242424242" not in body
    assert 'data-testid="amount-due">$404.80<' in body  # (49 + 120 + 199) × 1.1


def test_pay_with_a_changed_quantity_prices_it_first_then_bills_it(client, merchant):
    session = open_session(merchant)
    card = {"payment_method": "card", "card_number": "4242424242424242", "card_expiry": "12/34",
            "card_cvc": "123", f"quantity_{merchant.seats.id}": "7", f"addon_{merchant.onboarding.id}": "0"}

    shown = client.post(page(session), card)

    assert shown.status_code == 200  # the new price shown, nothing charged
    assert 'data-testid="amount-due">$146.30<' in text(shown)
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and not Invoice.objects.exists()

    paid = client.post(page(session), card)

    assert paid.status_code == 302 and paid["Location"].startswith("https://merchant.example/ok")
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    invoice = Invoice.objects.get(checkout_session=session)
    assert invoice.total == Decimal(session.estimates["current_invoice"]["total"]) == Decimal("146.30")
    items = {item.product_id: item.quantity for item in session.contract.phases.get().items.all()}
    assert items == {merchant.platform.id: 1, merchant.seats.id: 7}
