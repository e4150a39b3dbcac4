"""Ops in admin: the session page shows the estimate and history; transitions go through the services."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from billing.models import Contract, Invoice
from checkout.enums import EventType, PaymentStatus, SessionStatus
from checkout.models import Event

from .helpers import amendment_session, priced_session, processing_session, text

pytestmark = pytest.mark.django_db


def change_url(session):
    return reverse("admin:checkout_checkoutsession_change", args=[session.pk])


def transition_url(session, action):
    return reverse("admin:checkout_checkoutsession_transition", args=[session.pk, action])


def test_change_page_shows_estimate_table_history_and_open_transitions(ops_client):
    session, _contract, _phase = amendment_session(new_quantity=5)
    body = text(ops_client.get(change_url(session)))
    assert "Current invoice (due at checkout)" in body and "Next invoice" in body
    assert "-$16.26" in body and "$27.10" in body and "$10.84" in body
    assert "Credit for the 14 unused days" in body
    assert "Created" in body
    assert ">Cancel</button>" in body and ">Expire now</button>" in body
    assert "Mark payment received" not in body.split("object-tools")[1][:2000]


def test_change_page_is_read_only(ops_client):
    session = priced_session()
    body = text(ops_client.get(change_url(session)))
    assert 'name="status"' not in body and 'name="estimates"' not in body
    response = ops_client.post(change_url(session), {"status": "completed"})
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
    assert response.status_code == 403  # a read-only "View" page: nothing to save


def test_cancel_button_asks_for_a_reason_before_cancelling(ops_client):
    session = priced_session()
    page = ops_client.post(transition_url(session, "cancel"))
    assert page.status_code == 200 and 'name="reason"' in text(page) and "Requested by customer" in text(page)
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
    # A reason outside the API's list is not accepted either.
    ops_client.post(transition_url(session, "cancel"), {"confirm": "yes", "reason": "because"})
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


def test_cancel_button_cancels_through_the_service(ops_client):
    session = priced_session()
    response = ops_client.post(transition_url(session, "cancel"),
                               {"confirm": "yes", "reason": "duplicate", "detail": "ticket 42"}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(session)
    session.refresh_from_db()
    assert (session.status, session.cancellation_reason) == (SessionStatus.CANCELLED, "duplicate")
    assert "Cancelled in admin by ops: ticket 42" in session.cancellation_detail
    entry = LogEntry.objects.get(object_id=str(session.pk))
    assert entry.user.username == "ops" and "reason: duplicate" in entry.change_message
    assert list(Event.objects.values_list("type", flat=True)) == [EventType.CANCELLED]
    assert "Cancel: done." in text(response)


def test_expire_now_expires_an_open_session(ops_client):
    session = priced_session()
    ops_client.post(transition_url(session, "expire"))
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED
    assert list(Event.objects.values_list("type", flat=True)) == [EventType.EXPIRED]


def test_refusals_become_admin_messages(ops_client):
    session = priced_session(status=SessionStatus.COMPLETED)
    body = text(ops_client.post(transition_url(session, "expire"), follow=True))
    assert "is completed and cannot be expired" in body
    body = text(ops_client.post(transition_url(session, "cancel"), {"confirm": "yes", "reason": "other"}, follow=True))
    assert "cannot be cancelled" in body
    body = text(ops_client.post(transition_url(session, "payment_received"), follow=True))
    assert "not processing a payment" in body
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED and not Event.objects.exists()


def test_mark_payment_received_completes_a_processing_session(ops_client):
    session = processing_session()
    body = text(ops_client.get(change_url(session)))
    assert ">Mark payment received</button>" in body and ">Mark payment failed</button>" in body
    due = session.estimates["current_invoice"]["amount_due"]
    # The timeline's payment attempt: the amount as money, in the session's currency.
    assert "Payment attempt pending" in body and f"${Decimal(due):,.2f} by card •••• 0077" in body
    ops_client.post(transition_url(session, "payment_received"))
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Contract.objects.get().pk == session.contract_id
    assert str(Invoice.objects.get().total) == session.estimates["current_invoice"]["total"] + "00"


def test_mark_payment_failed_reopens(ops_client):
    session = processing_session()
    ops_client.post(transition_url(session, "payment_failed"))
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not Contract.objects.exists()
    body = text(ops_client.get(change_url(session)))
    assert "checkout_session.payment_failed" in body and "marked_failed_by_ops" in body


def test_transition_url_is_post_only_and_staff_only(ops_client, client):
    session = priced_session()
    assert ops_client.get(transition_url(session, "expire")).status_code == 405
    assert ops_client.post(transition_url(session, "nonsense")).status_code == 404
    ops_client.logout()
    response = client.post(transition_url(session, "cancel"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


def test_list_actions_apply_to_each_selected_session_and_report_refusals(ops_client):
    open_one, open_two = priced_session(), priced_session()
    done = priced_session(status=SessionStatus.COMPLETED)
    url = reverse("admin:checkout_checkoutsession_changelist")
    response = ops_client.post(
        url, {"action": "action_expire", "_selected_action": [open_one.pk, open_two.pk, done.pk]}, follow=True)
    body = text(response)
    assert "Expire now: 2 session(s)." in body
    assert f"Session {done.pk}: The checkout session is completed and cannot be expired." in body
    statuses = {s.pk: s.status for s in (open_one, open_two, done) if s.refresh_from_db() is None}
    assert statuses == {open_one.pk: "expired", open_two.pk: "expired", done.pk: "completed"}


def test_list_action_mark_received(ops_client):
    session = processing_session()
    url = reverse("admin:checkout_checkoutsession_changelist")
    ops_client.post(url, {"action": "action_payment_received", "_selected_action": [session.pk]})
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED


def test_change_page_lists_the_sessions_webhook_deliveries_with_links(ops_client):
    from checkout.enums import DeliveryStatus
    from tests.checkout.factories import EventFactory, WebhookDeliveryFactory, WebhookEndpointFactory

    session = priced_session()
    endpoint = WebhookEndpointFactory(organization=session.organization, url="https://merchant.example/hooks")
    event = EventFactory(checkout_session=session, organization=session.organization, type=EventType.CANCELLED)
    delivered = WebhookDeliveryFactory(endpoint=endpoint, event=event, status=DeliveryStatus.SUCCEEDED,
                                       attempt_count=2)
    other = WebhookDeliveryFactory()  # another session's: not listed

    body = text(ops_client.get(change_url(session)))

    # One timeline (issue #29): the event, then its delivery with its outcome and a link.
    link = reverse("admin:checkout_webhookdelivery_change", args=[delivered.pk])
    assert f'<a href="{link}">delivery</a>' in body
    assert "Webhook delivered" in body
    assert "checkout_session.cancelled to https://merchant.example/hooks (2 attempts)" in body
    assert body.index("Event checkout_session.cancelled") < body.index("Webhook delivered")
    assert reverse("admin:checkout_webhookdelivery_change", args=[other.pk]) not in body


def test_change_page_timeline_of_a_new_session_is_its_creation_only(ops_client):
    body = text(ops_client.get(change_url(priced_session())))
    timeline = body[body.index('<ol class="timeline"'):]
    timeline = timeline[:timeline.index("</ol>")]
    assert timeline.count("<li") == 1 and "Created: new contract" in timeline


def test_list_cancel_action_confirms_with_a_reason_then_cancels(ops_client):
    one, two = priced_session(), priced_session()
    url = reverse("admin:checkout_checkoutsession_changelist")
    page = ops_client.post(url, {"action": "action_cancel", "_selected_action": [one.pk, two.pk]})
    assert page.status_code == 200 and "Cancel these 2 checkout sessions?" in text(page)
    assert {s.status for s in (one, two) if s.refresh_from_db() is None} == {SessionStatus.OPEN}
    ops_client.post(url, {"action": "action_cancel", "_selected_action": [one.pk, two.pk],
                          "confirm": "yes", "reason": "fraudulent"})
    for session in (one, two):
        session.refresh_from_db()
        assert (session.status, session.cancellation_reason) == (SessionStatus.CANCELLED, "fraudulent")
    assert LogEntry.objects.filter(user__username="ops", change_message__contains="fraudulent").count() == 2
