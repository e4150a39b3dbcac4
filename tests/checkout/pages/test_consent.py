"""Consent: a session may require the customer to accept the merchant's terms; the terms URL
and the time of acceptance end up on the contract."""

import pytest

from billing.models import Contract
from checkout.enums import SessionStatus
from checkout.errors import TermsNotAccepted
from checkout.services.confirm import Outcome, checkout_session_confirm

from .helpers import card, priced_session, text
from .test_views import CARD

pytestmark = pytest.mark.django_db
TERMS = "https://acme.example/terms"


def test_confirm_without_accepting_the_terms_is_refused_and_nothing_is_made():
    session = priced_session(terms_url=TERMS)
    with pytest.raises(TermsNotAccepted) as caught:
        checkout_session_confirm(session_id=session.pk, card=card())
    assert caught.value.fields == {"accept_terms": ["Accept the terms of service to continue."]}
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and not Contract.objects.exists()


def test_accepting_the_terms_stores_the_url_and_the_time_on_the_contract():
    session = priced_session(terms_url=TERMS)
    result = checkout_session_confirm(session_id=session.pk, card=card(), terms_accepted=True)
    assert result.outcome == Outcome.COMPLETED
    contract = Contract.objects.get()
    session.refresh_from_db()
    assert contract.terms_url == TERMS
    assert contract.terms_accepted_at is not None and contract.terms_accepted_at == session.terms_accepted_at


def test_sessions_without_consent_store_none():
    checkout_session_confirm(session_id=priced_session().pk, card=card())
    contract = Contract.objects.get()
    assert (contract.terms_url, contract.terms_accepted_at) == ("", None)


def test_page_requires_the_checkbox_with_a_field_error(client):
    session = priced_session(terms_url=TERMS)
    url = f"/pay/{session.token}"
    body = text(client.get(url))
    assert f'<a href="{TERMS}" target="_blank" rel="noopener">terms of service</a>' in body
    response = client.post(url, CARD)
    assert response.status_code == 422
    body = text(response)
    assert '<p class="field-error" id="id_accept_terms_error">Accept the terms of service to continue.</p>' in body
    assert '<a href="#id_accept_terms">I agree to the terms of service: Accept the terms' in body  # summary
    response = client.post(url, {**CARD, "accept_terms": "on"})
    assert response.status_code == 302
    assert Contract.objects.get().terms_url == TERMS


def test_page_without_consent_has_no_checkbox(client):
    assert "accept_terms" not in text(client.get(f"/pay/{priced_session().token}"))
