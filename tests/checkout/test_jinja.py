"""The hosted pages' Jinja2 environment (checkout/jinja.py): which engine renders what, and
that escaping, translation and the CSRF field behave as they did under Django's engine."""

import re

import pytest
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.template.backends.jinja2 import Jinja2
from django.template.loader import get_template
from django.test import Client
from django.utils import translation

from checkout.enums import SessionStatus
from tests.checkout.pages.helpers import priced_session, text

HOSTILE = "<b onmouseover=\"alert('x')\">Evil & Co</b>"


def test_hosted_pages_render_with_jinja2_and_admin_with_django_templates():
    for name in ("checkout/open.html", "checkout/completed.html", "checkout/not_found.html"):
        assert isinstance(get_template(name).backend, Jinja2)
    assert isinstance(get_template("admin/checkout/checkoutsession/estimate.html").backend, DjangoTemplates)
    assert isinstance(get_template("admin/change_form.html").backend, DjangoTemplates)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [SessionStatus.OPEN, SessionStatus.EXPIRED, SessionStatus.CANCELLED])
def test_merchant_supplied_text_is_escaped(client, status):
    session = priced_session(status=status)
    session.business_entity.name = HOSTILE
    session.business_entity.save()
    body = client.get(f"/pay/{session.token}").content.decode()
    assert "<b " not in body and "Evil &amp; Co" in body
    assert "&lt;b onmouseover=&#34;alert(&#39;x&#39;)&#34;&gt;" in body


def test_translations_go_through_djangos_gettext_and_active_language():
    env = engines["jinja2"].env
    template = env.from_string('<html lang="{{ get_current_language() }}">{{ _("This field is required.") }} '
                               '{% trans name=who %}Hello {{ name }}{% endtrans %}</html>')
    with translation.override("de"):  # Django's own catalog has this message in German
        html = template.render(who="<i>")
    assert html == '<html lang="de">Dieses Feld ist zwingend erforderlich. Hello &lt;i&gt;</html>'


@pytest.mark.django_db
def test_not_found_page_follows_the_active_language(client):
    with translation.override("de"):
        html = get_template("checkout/not_found.html").render({})
    assert '<html lang="de">' in html


@pytest.mark.django_db
def test_every_form_on_the_open_page_carries_the_requests_csrf_token():
    session = priced_session(guest=True)
    csrf_client = Client(enforce_csrf_checks=True)
    # A 422 (form errors) is rendered per request, not from the page cache.
    csrf_client.get(f"/pay/{session.token}")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(f"/pay/{session.token}", {"csrfmiddlewaretoken": token})
    assert response.status_code == 422
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(response))
    assert len(tokens) == 2 and all(tokens) and "{{" not in text(response)
    cancel = csrf_client.post(f"/pay/{session.token}/cancel", {"csrfmiddlewaretoken": tokens[1]})
    assert cancel.status_code == 302
