"""Issue #29, roles: the Support, Finance and Admin groups (made by migration core/0004) each
can do what the README says and nothing more; staff in no group can do nothing."""


import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from checkout.enums import SessionStatus
from core.roles import ADMIN, FINANCE, SUPPORT, ops_groups_sync
from tests.billing.factories import ContractFactory
from tests.checkout.pages.helpers import priced_session, processing_session
from tests.core.factories import ApiKeyFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SESSIONS = reverse("admin:checkout_checkoutsession_changelist")
EXPORT = reverse("admin:checkout_checkoutsession_export")
DASHBOARD = reverse("admin:checkout_checkoutsession_dashboard")
AUDIT = reverse("admin:core_auditentry_changelist")
USERS = reverse("admin:auth_user_changelist")
API_KEYS = reverse("admin:core_apikey_changelist")


@pytest.fixture
def login(client, django_user_model):
    """Log in a staff user in ``group`` (None: no group). The groups are made by the data
    migration; a transactional test elsewhere may have flushed them, so they are made again
    the same way (``ops_groups_sync`` only adds)."""
    ops_groups_sync(apps)

    def _login(group):
        user = django_user_model.objects.create_user(f"user-{group}", "u@example.com", "pw", is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        return client

    return _login


def transition(session, action):
    return reverse("admin:checkout_checkoutsession_transition", args=[session.pk, action])


def actions(client, url) -> str:
    return client.get(url).content.decode()


def test_groups_are_made_by_the_migration_with_their_permissions():
    ops_groups_sync(apps)  # what migration 0004 runs; running it twice adds nothing
    ops_groups_sync(apps)
    perms = {name: set(Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename"))
             for name in (SUPPORT, FINANCE, ADMIN)}
    assert ("checkout", "cancel_checkoutsession") in perms[SUPPORT]
    assert ("checkout", "resend_receipt_checkoutsession") in perms[SUPPORT]
    assert ("checkout", "export_checkoutsession") not in perms[SUPPORT]
    assert ("checkout", "export_checkoutsession") in perms[FINANCE] and ("billing", "refund_invoice") in perms[FINANCE]
    assert ("checkout", "cancel_checkoutsession") not in perms[FINANCE]
    assert not any(codename.startswith(("add_", "change_", "delete_")) for _app, codename in perms[SUPPORT])
    assert not any(codename.startswith(("add_", "change_", "delete_")) for _app, codename in perms[FINANCE])
    assert ("checkout", "resolve_checkoutsession") in perms[ADMIN] and ("auth", "change_user") in perms[ADMIN]


def test_support_views_sessions_cancels_and_resends_but_cannot_export_or_resolve(login):
    client = login(SUPPORT)
    open_session, processing = priced_session(), processing_session()
    assert client.get(SESSIONS).status_code == 200 and client.get(DASHBOARD).status_code == 200
    page = client.get(reverse("admin:checkout_checkoutsession_change", args=[open_session.pk])).content.decode()
    assert ">Cancel</button>" in page and ">Expire now</button>" in page and 'name="_save"' not in page
    response = client.post(transition(open_session, "cancel"), {"confirm": "yes", "reason": "duplicate"})
    open_session.refresh_from_db()
    assert response.status_code == 302 and open_session.status == SessionStatus.CANCELLED
    assert client.post(transition(processing, "payment_received")).status_code == 403
    processing.refresh_from_db()
    assert processing.status == SessionStatus.PROCESSING
    assert client.get(EXPORT).status_code == 403 and "Export as CSV" not in actions(client, SESSIONS)
    assert 'value="action_resend_receipt"' in actions(client, SESSIONS)
    assert 'value="action_payment_received"' not in actions(client, SESSIONS)
    for url in (AUDIT, USERS, API_KEYS):
        assert client.get(url).status_code == 403, url


def test_support_cannot_anonymise_customers_or_cancel_contracts(login):
    client = login(SUPPORT)
    customer = CustomerFactory()
    ContractFactory()
    assert 'value="anonymise"' not in actions(client, reverse("admin:customers_customer_changelist"))
    assert 'value="cancel_at_period_end"' not in actions(client, reverse("admin:billing_contract_changelist"))
    response = client.post(reverse("admin:customers_customer_changelist"),
                           {"action": "anonymise", "_selected_action": [customer.pk]})
    customer.refresh_from_db()
    assert response.status_code == 200 and customer.customer_name != "Anonymised customer"
    # Nor hand-edit one: a "View" page.
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert 'name="_save"' not in page


def test_finance_views_and_exports_but_cannot_cancel(login):
    client = login(FINANCE)
    session = priced_session()
    assert client.get(SESSIONS).status_code == 200
    response = client.get(EXPORT)
    assert response.status_code == 200 and str(session.pk) in b"".join(response.streaming_content).decode()
    assert client.post(transition(session, "cancel"), {"confirm": "yes", "reason": "duplicate"}).status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
    assert client.get(AUDIT).status_code == 200 and client.get(API_KEYS).status_code == 200
    assert client.get(USERS).status_code == 403
    page = client.get(reverse("admin:checkout_checkoutsession_change", args=[session.pk])).content.decode()
    assert ">Cancel</button>" not in page


def test_admin_group_resolves_payments_and_manages_users_and_keys(login):
    client = login(ADMIN)
    processing = processing_session()
    assert client.post(transition(processing, "payment_received")).status_code == 302
    processing.refresh_from_db()
    assert processing.status == SessionStatus.COMPLETED
    for url in (AUDIT, USERS, API_KEYS, EXPORT):
        assert client.get(url).status_code == 200, url
    assert 'value="anonymise"' in actions(client, reverse("admin:customers_customer_changelist"))
    assert 'value="cancel_at_period_end"' in actions(client, reverse("admin:billing_contract_changelist"))
    key = ApiKeyFactory()
    client.post(API_KEYS, {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_staff_in_no_group_can_do_nothing(login):
    client = login(None)
    session = priced_session()
    body = client.get(reverse("admin:index")).content.decode()
    assert "You don’t have permission to view or edit anything." in body
    for url in (SESSIONS, DASHBOARD, EXPORT, AUDIT, API_KEYS, reverse("admin:customers_customer_changelist")):
        assert client.get(url).status_code == 403, url
    assert client.post(transition(session, "expire")).status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
