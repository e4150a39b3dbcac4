"""API keys created from their own admin page: the secret is shown once, on the page answering
the form, and works against the API; only its hash is stored; the admin log says who."""

import hashlib
import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.urls import reverse

from core.models import ApiKey
from tests.core.factories import OrganizationFactory
from tests.helpers import api_client_for, api_client_with_key

pytestmark = pytest.mark.django_db
ADD = reverse("admin:core_apikey_add")
SECRET = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]{32,}")


def create(client, organization, *, mode="test", name="billing backend"):
    response = client.post(ADD, {"organization": str(organization.pk), "name": name, "mode": mode})
    assert response.status_code == 200, response.content[:500]
    return response, SECRET.search(response.content.decode()).group(0)


def test_add_page_offers_organization_name_and_mode(ops_client):
    body = ops_client.get(reverse("admin:core_apikey_changelist")).content.decode()
    assert f'href="{ADD}"' in body  # "Add API key"
    body = ops_client.get(ADD).content.decode()
    for label in ('for="id_organization"', 'for="id_name"', 'value="test"', 'value="live"'):
        assert label in body
    assert "_addanother" not in body and "_continue" not in body


def test_created_key_is_shown_once_and_stored_hashed(ops_client):
    organization = OrganizationFactory()
    response, secret = create(ops_client, organization)
    assert "no-store" in response["Cache-Control"]
    assert secret.startswith("sk_test_")
    key = ApiKey.objects.get()
    assert (key.organization, key.name, key.livemode) == (organization, "billing backend", False)
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(key.prefix) and len(key.prefix) < len(secret)
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert not any(secret in str(value) for value in row.values())
    # Never again: not on the key's page, the list, the log, a message or the session.
    for url in (reverse("admin:core_apikey_change", args=[key.pk]), reverse("admin:core_apikey_changelist"),
                reverse("admin:index")):
        assert secret not in ops_client.get(url).content.decode()
    assert not any(secret in entry.change_message or secret in entry.object_repr for entry in LogEntry.objects.all())
    assert not any(secret in str(session.get_decoded()) for session in Session.objects.all())
    assert not any(secret in morsel.value for morsel in ops_client.cookies.values())


def test_created_key_works_against_the_api(ops_client):
    _response, secret = create(ops_client, OrganizationFactory())
    api = api_client_with_key(secret)
    assert api.get("/api/v1/checkout-sessions").status_code == 200
    assert api_client_with_key(secret + "x").get("/api/v1/checkout-sessions").status_code == 401


def test_live_key_is_a_live_key(ops_client):
    _response, secret = create(ops_client, OrganizationFactory(), mode="live")
    assert secret.startswith("sk_live_") and ApiKey.objects.get().livemode is True
    assert api_client_with_key(secret).get("/api/v1/checkout-sessions").status_code == 200


def test_creation_is_in_the_admin_log_with_who(ops_client):
    create(ops_client, OrganizationFactory(), mode="live")
    key = ApiKey.objects.get()
    entry = LogEntry.objects.get(object_id=str(key.pk))
    assert (entry.user.username, entry.action_flag) == ("ops", ADDITION)
    assert entry.change_message == "Created a live key (via admin); its secret was shown once."


def test_invalid_form_creates_nothing(ops_client):
    response = ops_client.post(ADD, {"name": "no organization", "mode": "test"})
    assert response.status_code == 200 and b"This field is required." in response.content
    response = ops_client.post(ADD, {"organization": str(OrganizationFactory().pk), "mode": "sideways"})
    assert b"Select a valid choice." in response.content
    assert not ApiKey.objects.exists() and not SECRET.search(response.content.decode())


def test_adding_needs_the_add_permission(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(user)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"organization": str(OrganizationFactory().pk), "mode": "test"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_apikey"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    _response, secret = create(client, OrganizationFactory())
    assert ApiKey.objects.get().key_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_created_key_is_revoked_as_before_and_then_refused(ops_client):
    _response, secret = create(ops_client, OrganizationFactory())
    key = ApiKey.objects.get()
    ops_client.post(reverse("admin:core_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]})
    assert api_client_with_key(secret).get("/api/v1/checkout-sessions").status_code == 401
    # Still read-only once created: no hand edits.
    assert ops_client.post(reverse("admin:core_apikey_change", args=[key.pk]),
                           {"name": "renamed"}).status_code == 403


def test_an_organization_page_leads_to_the_add_page_with_it_chosen_and_mints_nothing_itself(ops_client):
    """The old "create a key" actions put the secret in a flash message (stored in the session
    or a cookie): they are gone; the organization's page links to "Add API key" instead."""
    organization = OrganizationFactory()
    api_client_for(organization)  # one active key
    changelist = ops_client.get(reverse("admin:core_organization_changelist")).content.decode()
    assert "create_test_key" not in changelist and "create_live_key" not in changelist

    page = ops_client.get(reverse("admin:core_organization_change", args=[organization.pk])).content.decode()
    add = f"{ADD}?organization={organization.pk}"
    assert f'href="{add}"' in page and ">1 active</a>" in page
    form = ops_client.get(add).content.decode()
    assert re.search(rf'<option value="{organization.pk}" selected>', form)
    keys = ops_client.get(f"{reverse('admin:core_apikey_changelist')}?organization={organization.pk}")
    assert keys.status_code == 200 and "1 API key" in keys.content.decode()
