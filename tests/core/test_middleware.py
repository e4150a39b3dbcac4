"""Session, auth and messages middleware run for admin pages only: the merchant API and the
hosted pages never read them, and skipping them is part of their per-request budget."""

import pytest

from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db


def _middleware_state(request):
    return {name: hasattr(request, name) for name in ("session", "user", "_messages")}


def test_hosted_page_and_api_skip_session_auth_and_messages(client):
    session = CheckoutSessionFactory()
    page = client.get(f"/pay/{session.token}")
    assert page.status_code == 200
    assert _middleware_state(page.wsgi_request) == {"session": False, "user": False, "_messages": False}
    assert "csrftoken" in page.cookies  # the page's forms still carry CSRF (cookie-based)
    api = client.get("/api/v1/checkout-sessions")
    assert api.status_code == 401
    # (DRF sets ``user`` itself, from the API key.)
    state = _middleware_state(api.wsgi_request)
    assert (state["session"], state["_messages"]) == (False, False)


def test_admin_keeps_them(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert _middleware_state(response.wsgi_request) == {"session": True, "user": True, "_messages": True}
