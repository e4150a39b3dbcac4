"""Issue #29: one session, one story. The session page's timeline, its actions (resend
receipt, copy payment link), and the page views it is built from (recorded once, cheaply)."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from checkout import activity
from checkout.admin.timeline import delivery_state, duration_words, session_timeline
from checkout.enums import DeliveryStatus
from checkout.models import PageView
from checkout.services.confirm import checkout_session_confirm
from tests.checkout.factories import (
    EventFactory,
    PaymentFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from tests.checkout.pages.helpers import card, priced_session, text

pytestmark = pytest.mark.django_db


def change_url(session):
    return reverse("admin:checkout_checkoutsession_change", args=[session.pk])


def test_page_view_is_recorded_once_and_later_views_cost_no_query(client, django_assert_num_queries):
    session = priced_session()
    assert not PageView.objects.filter(checkout_session=session).exists()
    client.get(f"/pay/{session.token}")
    first = PageView.objects.get(checkout_session=session).opened_at
    with django_assert_num_queries(1):  # the page cache's probe, nothing for the view
        assert client.get(f"/pay/{session.token}").status_code == 200
    activity._recorded.clear()  # another worker process: one more insert, ignored on conflict
    client.get(f"/pay/{session.token}")
    assert PageView.objects.get(checkout_session=session).opened_at == first
    session.refresh_from_db()
    assert session.updated_at < first  # the session row is not written (its page cache key stands)


def test_unknown_token_records_nothing(client):
    assert client.get("/pay/not-a-token").status_code == 404
    assert PageView.objects.count() == 0


def test_timeline_tells_the_sessions_story_in_order(ops_client, client):
    session = priced_session()
    client.get(f"/pay/{session.token}")  # the customer opens the page
    checkout_session_confirm(session_id=session.pk, card=card("4000000000000002"))  # declined
    checkout_session_confirm(session_id=session.pk, card=card())  # paid
    endpoint = WebhookEndpointFactory(organization=session.organization, url="https://merchant.example/hooks")
    event = session.events.get(type="checkout_session.completed")
    WebhookDeliveryFactory(endpoint=endpoint, event=event, status=DeliveryStatus.PENDING, attempt_count=2,
                           next_attempt_at=timezone.now() + datetime.timedelta(seconds=30))
    kinds = [(entry.kind, entry.title) for entry in session_timeline(session)]
    assert kinds[:3] == [("created", "Created: new contract"), ("page", "Hosted page opened"),
                         ("payment", "Payment attempt failed")]
    assert ("payment", "Payment attempt succeeded") in kinds
    assert ("event", "Event checkout_session.payment_failed") in kinds
    assert ("event", "Event checkout_session.completed") in kinds
    assert kinds[-1][0] == "delivery" and kinds[-1][1].startswith("Webhook retrying (next in 3")

    body = text(ops_client.get(change_url(session)))
    assert "View checkout session" in body and 'name="_save"' not in body
    timeline = body[body.index('<ol class="timeline"'):body.index("</ol>")]
    assert timeline.index("Hosted page opened") < timeline.index("Payment attempt failed") < timeline.index(
        "Payment attempt succeeded")
    assert "card_declined" in timeline and "$184.00 by card •••• 0002" in timeline
    assert "to https://merchant.example/hooks (2 attempts)" in timeline


def test_stripe_payment_links_to_the_gateway(ops_client):
    session = priced_session()
    PaymentFactory(checkout_session=session, provider="stripe", provider_reference="pi_3Abc", status="failed",
                   failure_code="authentication_abandoned")
    body = text(ops_client.get(change_url(session)))
    assert 'href="https://dashboard.stripe.com/test/payments/pi_3Abc"' in body and "authentication_abandoned" in body


@pytest.mark.parametrize(("status", "attempts", "next_in", "words"), [
    (DeliveryStatus.SUCCEEDED, 1, None, "delivered"),
    (DeliveryStatus.FAILED, 9, None, "failed"),
    (DeliveryStatus.PENDING, 0, 0, "queued"),
    (DeliveryStatus.PENDING, 3, 30, "retrying (next in 30 s)"),
    (DeliveryStatus.PENDING, 5, 3600, "retrying (next in 60 min)"),
    (DeliveryStatus.PENDING, 2, -5, "retrying (due now)"),
])
def test_delivery_state_says_what_it_is_doing(status, attempts, next_in, words):
    now = timezone.now()
    delivery = WebhookDeliveryFactory(status=status, attempt_count=attempts,
                                      next_attempt_at=None if next_in is None else now + datetime.timedelta(
                                          seconds=next_in))
    assert delivery_state(delivery, now) == words


def test_delivery_admin_names_it_and_shows_its_state(ops_client):
    endpoint = WebhookEndpointFactory(url="https://merchant.example/hooks")
    event = EventFactory(type="checkout_session.completed")
    delivery = WebhookDeliveryFactory(endpoint=endpoint, event=event, status=DeliveryStatus.PENDING,
                                      attempt_count=3, next_attempt_at=timezone.now() + datetime.timedelta(seconds=31))
    body = text(ops_client.get(reverse("admin:checkout_webhookdelivery_change", args=[delivery.pk])))
    assert "Delivery of checkout_session.completed to https://merchant.example/hooks (3 attempts)" in body
    assert "View webhook delivery" in body and "retrying (next in 3" in body
    listing = text(ops_client.get(reverse("admin:checkout_webhookdelivery_changelist")))
    rows = listing[listing.index('id="result_list"'):listing.index("</table>", listing.index('id="result_list"'))]
    assert "retrying (next in" in rows and "Pending" not in rows


def test_duration_words():
    assert [duration_words(s) for s in (0, 89, 600, 7200, 3 * 86400)] == ["0 s", "89 s", "10 min", "2 h", "3 d"]


def test_copy_payment_link_shows_the_full_hosted_page_url(ops_client, settings):
    session = priced_session()
    body = text(ops_client.get(change_url(session)))
    url = f"{settings.PUBLIC_BASE_URL}/pay/{session.token}"
    assert f'value="{url}" id="payment-link"' in body and 'data-copy="payment-link"' in body


def test_resend_receipt_sends_it_again_through_the_service(ops_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, card=card())
    from checkout.services.receipts import checkout_session_receipt_send

    checkout_session_receipt_send(session_id=session.pk)
    sent = len(mail.outbox)
    body = text(ops_client.get(change_url(session)))
    assert ">Resend receipt</button>" in body and ">Cancel</button>" not in body
    response = ops_client.post(reverse("admin:checkout_checkoutsession_transition",
                                       args=[session.pk, "resend_receipt"]), follow=True)
    assert "Resend receipt: done." in text(response)
    assert len(mail.outbox) == sent + 1 and mail.outbox[-1].to == [session.customer.email]


def test_resend_receipt_of_an_open_session_is_refused_with_a_message(ops_client):
    session = priced_session()
    response = ops_client.post(reverse("admin:checkout_checkoutsession_transition",
                                       args=[session.pk, "resend_receipt"]), follow=True)
    assert "Only a completed checkout session has a receipt." in text(response)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_page_view_outside_a_transaction_commits_on_its_own():
    """The production path (no transaction around the request): one statement that commits
    asynchronously; the row is there, and a second record is ignored."""
    session = priced_session()
    activity._recorded.clear()
    activity.page_view_record(session.pk)
    activity._recorded.clear()
    activity.page_view_record(session.pk)
    assert PageView.objects.filter(checkout_session=session).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_page_view_loses_the_view_not_the_connection(caplog):
    import uuid

    from checkout.models import CheckoutSession

    activity.page_view_record(uuid.uuid4())  # no such session: the insert fails (foreign key)
    assert "not recorded" in caplog.text
    assert CheckoutSession.objects.count() == 0  # the connection still answers


def test_refund_from_the_session_page_asks_a_reason_then_refunds_through_the_service(ops_client):
    from billing.models import Payment, Refund

    session = priced_session()
    checkout_session_confirm(session_id=session.pk, card=card())
    url = reverse("admin:checkout_checkoutsession_transition", args=[session.pk, "refund"])
    assert ">Refund the payment</button>" in text(ops_client.get(change_url(session)))
    page = ops_client.post(url)  # no reason yet: the confirmation page, nothing refunded
    assert "Refund 184.00 USD" in text(page) and not Refund.objects.exists()
    response = ops_client.post(url, {"confirm": "yes", "reason": "requested_by_customer"}, follow=True)
    assert "Refund the payment: done." in text(response)
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.source, refund.requested_by) == (
        Decimal("184.0000"), "succeeded", "admin", "ops")
    assert Payment.objects.get(checkout_session=session).amount_refunded == Decimal("184.0000")
    timeline = text(response)[text(response).index('<ol class="timeline"'):]
    assert "Refund succeeded" in timeline and "$184.00, requested by customer, from admin" in timeline
    # Nothing left: a second refund is refused with a message, nothing more is refunded.
    response = ops_client.post(url, {"confirm": "yes", "reason": "duplicate"}, follow=True)
    assert "Refund the payment: done." not in text(response) and Refund.objects.count() == 1


def test_refund_needs_the_refund_permission(client, django_user_model):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from billing.models import Refund
    from core.roles import FINANCE, SUPPORT, ops_groups_sync

    ops_groups_sync(apps)
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, card=card())
    url = reverse("admin:checkout_checkoutsession_transition", args=[session.pk, "refund"])
    for group, status in ((SUPPORT, 403), (FINANCE, 302)):
        user = django_user_model.objects.create_user(group, "u@example.com", "pw", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        assert client.post(url, {"confirm": "yes", "reason": "duplicate"}).status_code == status
    assert Refund.objects.get().requested_by == FINANCE
