"""Page fixes from testing the hosted page (#14): digits-only expiry dates, the plan being left
on a plan switch, metered lines that say they are billed on usage."""

import pytest

from billing.enums import Timing
from checkout.enums import CheckoutType, SessionStatus

from .helpers import SEATS, amendment_session, priced_session, text
from .test_views import CARD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["12/34", "1234", "12 / 34", "122034", "12/2034"])
def test_expiry_date_accepts_digits_only_as_well_as_a_slash(client, typed):
    session = priced_session()
    response = client.post(f"/pay/{session.token}", {**CARD, "card_expiry": typed})
    assert response.status_code == 302, text(response)[:500]
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED


@pytest.mark.parametrize("typed", ["1334", "123", "12345", "12-34"])
def test_expiry_date_still_refuses_what_is_not_a_month_and_year(client, typed):
    response = client.post(f"/pay/{priced_session().token}", {**CARD, "card_expiry": typed})
    assert response.status_code == 422 and "Enter the expiry date as MM/YY." in text(response)


def test_plan_switch_names_the_plan_being_left(client):
    session, contract, phase = amendment_session(checkout_type=CheckoutType.PLAN_SWITCH)
    session.contract_phase_id = phase.pk
    session.save()
    body = text(client.get(f"/pay/{session.token}"))
    assert (f"You are leaving {phase.plan.name} for {session.plan.name} on Feb 1, 2026. "
            f"Time already paid on {phase.plan.name} is credited.") in body


METERED = ({**SEATS[0], "timing": Timing.IN_ARREARS, "product__name": "API calls"}, 0)


def test_a_metered_item_says_it_is_billed_on_usage_not_quantity_0(client):
    body = text(client.get(f"/pay/{priced_session(specs=(SEATS, METERED)).token}"))
    assert "Quantity 0" not in body
    assert '<span class="item-qty">Billed on usage</span>' in body
    assert "Billed on your actual usage; none is estimated yet" in body  # the next invoice's line
    estimated = ({**METERED[0]}, 1500)
    body = text(client.get(f"/pay/{priced_session(specs=(SEATS, estimated)).token}"))
    assert "Billed on usage (estimate: 1,500)" in body
