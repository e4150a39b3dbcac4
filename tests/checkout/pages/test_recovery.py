"""Recovery: an expired session with after_expiration.recovery.enabled gets a recovery_url (on
the row, in the API and in the checkout_session.expired event) that opens a new session with
the same terms, priced that day."""

import datetime

import pytest
from django.utils import timezone

from billing.gateway import CARD_SETTLES_LATER
from billing.models import Contract
from checkout.enums import EventType, SessionStatus
from checkout.models import CheckoutSession, Event
from checkout.services.confirm import Outcome, checkout_session_confirm
from checkout.services.lifecycle import checkout_session_expire_now
from checkout.sessions.events import session_event_data
from checkout.sessions.expiry import checkout_sessions_expire_due
from checkout.webhooks.outbox import events_dispatch_pending

from .helpers import card, priced_session, text

pytestmark = pytest.mark.django_db
PAST = -datetime.timedelta(minutes=1)


def expired_session(*, recovery=True, **kwargs):
    session = priced_session(recovery_enabled=recovery, metadata={"order": "A-1"}, **kwargs)
    CheckoutSession.objects.filter(pk=session.pk).update(expires_at=timezone.now() + PAST)
    return session


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "orm"])
def test_the_sweep_sets_the_recovery_url_on_the_row_and_in_the_event(use_sql, settings):
    settings.PUBLIC_BASE_URL = "https://pay.example"
    session, plain = expired_session(), expired_session(recovery=False)
    assert checkout_sessions_expire_due(use_sql=use_sql) == 2
    events_dispatch_pending(min_age_seconds=0)  # completes the swept events' payloads
    session.refresh_from_db()
    plain.refresh_from_db()
    assert session.recovery_url == f"https://pay.example/pay/{session.token}/recover"
    assert plain.recovery_url == ""
    event = Event.objects.get(checkout_session=session, type=EventType.EXPIRED)
    assert event.payload["object"]["recovery_url"] == session.recovery_url
    assert event.payload == session_event_data(session)  # the session object as the API shows it
    assert Event.objects.get(checkout_session=plain).payload["object"]["recovery_url"] is None


def test_expiring_one_session_sets_it_too():
    session = priced_session(recovery_enabled=True)
    expired = checkout_session_expire_now(session_id=session.pk)
    assert expired.recovery_url.endswith(f"/pay/{session.token}/recover")
    events_dispatch_pending(min_age_seconds=0)  # completes the event's payload, as for the sweep
    assert Event.objects.get(checkout_session=session).payload["object"]["recovery_url"] == expired.recovery_url


def test_the_recovery_url_opens_one_new_session_with_the_same_terms_priced_today(client):
    session = expired_session()
    client.get(f"/pay/{session.token}")  # read-time expiry
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED and session.recovery_url

    response = client.get(f"/pay/{session.token}/recover")

    assert response.status_code == 302
    new = CheckoutSession.objects.get(recovered_from=session)
    assert response["Location"] == f"/pay/{new.token}"
    assert (new.status, new.plan_id, new.customer_id, new.business_entity_id, new.metadata) == (
        SessionStatus.OPEN, session.plan_id, session.customer_id, session.business_entity_id, {"order": "A-1"})
    assert new.start_date == timezone.now().date()  # re-priced today, not on the old start date
    assert new.estimates["current_invoice"]["invoice_date"] == timezone.now().date().isoformat()
    assert new.recovery_enabled and new.expires_at > timezone.now()
    # A second click (another tab) lands on the same new session.
    again = client.get(f"/pay/{session.token}/recover")
    assert again["Location"] == f"/pay/{new.token}"
    assert CheckoutSession.objects.filter(recovered_from=session).count() == 1


def test_recovery_needs_an_expired_session_with_recovery_enabled(client):
    plain = expired_session(recovery=False)
    assert client.get(f"/pay/{plain.token}/recover").status_code == 404
    open_session = priced_session(recovery_enabled=True)
    response = client.get(f"/pay/{open_session.token}/recover")
    assert response.status_code == 302 and response["Location"] == f"/pay/{open_session.token}"


def test_terms_that_can_no_longer_be_sold_show_the_expired_page(client):
    session = expired_session()
    session.plan.status = "archived"
    session.plan.save()
    response = client.get(f"/pay/{session.token}/recover")
    assert response.status_code == 409
    assert b"This checkout has expired" in response.content
    assert not CheckoutSession.objects.filter(recovered_from=session).exists()


def test_the_expired_page_offers_to_start_again(client):
    session = expired_session()
    body = client.get(f"/pay/{session.token}").content.decode()
    assert f'href="/pay/{session.token}/recover" data-testid="recover">Start again with the same offer' in body
    plain = expired_session(recovery=False)
    assert "/recover" not in client.get(f"/pay/{plain.token}").content.decode()


def _recover(client, session) -> CheckoutSession:
    response = client.get(f"/pay/{session.token}/recover")
    assert response.status_code == 302
    return CheckoutSession.objects.get(token=response["Location"].rsplit("/", 1)[1])


def test_a_recovery_link_cannot_buy_twice(client):
    session = expired_session()
    recovered = _recover(client, session)
    assert checkout_session_confirm(session_id=recovered.pk, card=card()).outcome == Outcome.COMPLETED
    assert Contract.objects.count() == 1

    response = client.get(f"/pay/{session.token}/recover")

    # The receipt of the purchase made through the link, not a new payable session.
    assert response.status_code == 200
    body = text(response)
    assert "You already completed this purchase" in body and "cannot be bought twice" in body
    recovered.refresh_from_db()
    assert str(recovered.contract_id) in body and "$184.00" in body
    assert 'class="confirm-form"' not in body
    assert CheckoutSession.objects.filter(recovered_from=session).count() == 1
    assert Contract.objects.count() == 1


def test_a_recovery_of_a_recovery_that_bought_is_not_sold_again(client):
    session = expired_session()
    first = _recover(client, session)
    CheckoutSession.objects.filter(pk=first.pk).update(expires_at=timezone.now() + PAST)
    client.get(f"/pay/{first.token}")  # read-time expiry
    second = _recover(client, first)
    checkout_session_confirm(session_id=second.pk, card=card())

    response = client.get(f"/pay/{session.token}/recover")  # the first link, of the first session

    assert response.status_code == 200 and "You already completed this purchase" in text(response)
    assert CheckoutSession.objects.filter(recovered_from=session).count() == 1


def test_a_recovery_whose_payment_is_settling_shows_its_page_not_a_new_session(client):
    session = expired_session()
    recovered = _recover(client, session)
    checkout_session_confirm(session_id=recovered.pk, card=card(CARD_SETTLES_LATER))

    response = client.get(f"/pay/{session.token}/recover")

    assert response.status_code == 302 and response["Location"] == f"/pay/{recovered.token}"
    assert CheckoutSession.objects.filter(recovered_from=session).count() == 1
