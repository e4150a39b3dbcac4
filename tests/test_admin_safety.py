"""Issue #15, safety: ops cannot delete or hand-edit the records of what happened."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from checkout.models import CheckoutSession, Event
from core.models import ApiKey
from tests.billing.factories import InvoiceFactory
from tests.checkout.factories import CheckoutSessionFactory, EventFactory
from tests.core.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def url(obj, view):
    opts = obj._meta
    args = [] if view == "changelist" else [obj.pk]
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.mark.parametrize("make", [CheckoutSessionFactory, EventFactory, InvoiceFactory, ApiKeyFactory],
                         ids=["session", "event", "invoice", "api_key"])
def test_admin_delete_is_refused(ops_client, make):
    obj = make()
    response = ops_client.post(url(obj, "delete"), {"post": "yes"})
    assert response.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    # Nor from the list: the bulk "delete selected" action is not offered.
    changelist = ops_client.get(url(obj, "changelist"))
    assert b"delete_selected" not in changelist.content
    response = ops_client.post(url(obj, "changelist"),
                               {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("make", [EventFactory, InvoiceFactory, ApiKeyFactory], ids=["event", "invoice", "api_key"])
def test_admin_hand_edit_is_refused(ops_client, make):
    obj = make()
    page = ops_client.get(url(obj, "change"))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a read-only view, no save button
    response = ops_client.post(url(obj, "change"), {"name": "hacked", "status": "void", "type": "x"})
    assert response.status_code == 403


def test_admin_session_has_no_editable_field(ops_client):
    session = CheckoutSessionFactory()
    ops_client.post(url(session, "change"), {"currency": "EUR", "status": "completed"})
    session.refresh_from_db()
    assert (session.currency, session.status) != ("EUR", "completed")
    assert CheckoutSession.objects.filter(pk=session.pk, status="open").exists()


def test_admin_api_key_revoke_is_logged_with_who(ops_client):
    key = ApiKeyFactory()
    ops_client.post(reverse("admin:core_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    entry = LogEntry.objects.get(object_id=str(key.pk))
    assert entry.user.username == "ops" and entry.action_flag == CHANGE and "Revoked" in entry.change_message
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_admin_event_list_still_readable(ops_client):
    event = EventFactory()
    assert ops_client.get(url(event, "changelist")).status_code == 200
    assert Event.objects.filter(pk=event.pk).exists()


def test_admin_view_site_points_at_the_api_docs(ops_client):
    body = ops_client.get(reverse("admin:index")).content.decode()
    assert 'href="/api/docs/"' in body


def test_admin_invoice_total_is_formatted_for_its_currency(ops_client):
    InvoiceFactory(subtotal="285.7800", tax="0", total="285.7800", amount_due="285.7800", currency="USD")
    body = ops_client.get(reverse("admin:billing_invoice_changelist")).content.decode()
    assert "$285.78" in body and "285.7800" not in body
