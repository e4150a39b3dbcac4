"""Hostile form posts to the hosted page that a fuzzing run found (#23): each gets a field error
on the page, never a 500, and changes nothing."""

import pytest

from billing.models import Contract
from checkout.enums import SessionStatus

from .helpers import priced_session, text
from .test_discounts import page, promo
from .test_views import CARD

pytestmark = pytest.mark.django_db
TERMS = "https://acme.example/terms"


@pytest.mark.parametrize("code", ["SPRING\x0020", "\x00", "SPRING20\x00"])
def test_a_nul_byte_in_the_promotion_code_is_a_field_error_not_a_500(client, code):
    session = priced_session(allow_promotion_codes=True)
    promo(session)

    response = client.post(page(session) + "/promotion-code", {"promotion_code": code, "action": "apply"})

    assert response.status_code == 422
    body = text(response)
    assert '<p class="field-error" id="id_promotion_code_error" role="alert">Null characters are not allowed.</p>' \
        in body
    assert "\x00" not in body and "Pay $184.00" in body
    session.refresh_from_db()
    assert session.coupon_id is None and session.status == SessionStatus.OPEN


def test_an_empty_promotion_code_still_asks_for_one(client):
    session = priced_session(allow_promotion_codes=True)

    response = client.post(page(session) + "/promotion-code", {"promotion_code": "  ", "action": "apply"})

    assert response.status_code == 422
    assert '<p class="field-error" id="id_promotion_code_error" role="alert">Enter a promotion code.</p>' \
        in text(response)


def test_a_promotion_code_with_spaces_around_it_is_applied_trimmed(client):
    session = priced_session(allow_promotion_codes=True)
    promo(session)

    response = client.post(page(session) + "/promotion-code", {"promotion_code": " spring20 ", "action": "apply"})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.quote["discount"]["promotion_code"] == "SPRING20"


def test_removing_a_code_needs_no_code_field(client):
    session = priced_session(allow_promotion_codes=True)
    promo(session)
    client.post(page(session) + "/promotion-code", {"promotion_code": "SPRING20", "action": "apply"})

    response = client.post(page(session) + "/promotion-code", {"action": "remove"})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.coupon_id is None


@pytest.mark.parametrize("value", ["\x00", "x", "true", "1", "off", "false", ""])
def test_the_consent_checkbox_counts_only_its_own_value_as_agreement(client, value):
    session = priced_session(terms_url=TERMS)

    response = client.post(page(session), {**CARD, "accept_terms": value})

    assert response.status_code == 422
    assert '<p class="field-error" id="id_accept_terms_error">Accept the terms of service to continue.</p>' \
        in text(response)
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and session.terms_accepted_at is None
    assert not Contract.objects.exists()


def test_the_consent_checkbox_as_a_browser_ticks_it_completes(client):
    session = priced_session(terms_url=TERMS)

    response = client.post(page(session), {**CARD, "accept_terms": "on"})

    assert response.status_code == 302
    assert Contract.objects.get().terms_url == TERMS
