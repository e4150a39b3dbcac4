"""A session's ``locale`` (the hosted page's language) through the merchant API."""

import json

import pytest

from checkout.models import CheckoutSession

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db


def patch(merchant, session_id, body):
    return merchant.client.patch(f"{URL}/{session_id}", data=json.dumps(body), content_type="application/json")


def test_create_without_locale_is_auto(merchant):
    response = merchant.post(plan_body(merchant))
    assert response.status_code == 201, response.content
    assert response.json()["locale"] == "auto"
    assert CheckoutSession.objects.get(pk=response.json()["id"]).locale == "auto"


@pytest.mark.parametrize("locale", ["auto", "en", "de", "fr", "es", "ja"])
def test_create_accepts_each_supported_locale_stored_and_shown(merchant, locale):
    response = merchant.post(plan_body(merchant, locale=locale))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["locale"] == locale
    assert CheckoutSession.objects.get(pk=body["id"]).locale == locale
    assert merchant.get(f"{URL}/{body['id']}").json()["locale"] == locale


@pytest.mark.parametrize("locale", ["pt", "de-DE", "DE", "", None, 7, "english"])
def test_create_refuses_other_locales_with_invalid_locale(merchant, locale):
    response = merchant.post(plan_body(merchant, locale=locale))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] in ("invalid_locale", "invalid_type", "field_required"), error
    assert list(error["fields"]) == ["locale"]
    if isinstance(locale, str) and locale:
        assert error["code"] == "invalid_locale"
    assert not CheckoutSession.objects.exists()


def test_patch_changes_locale_and_keeps_it_across_other_changes(merchant):
    created = merchant.post(plan_body(merchant, locale="de")).json()
    response = patch(merchant, created["id"], {"metadata": {"order": "1042"}})
    assert response.status_code == 200, response.content
    assert response.json()["locale"] == "de"  # a PATCH without locale keeps it
    response = patch(merchant, created["id"], {"locale": "ja"})
    assert response.status_code == 200, response.content
    assert response.json()["locale"] == "ja"
    assert CheckoutSession.objects.get(pk=created["id"]).locale == "ja"
    response = patch(merchant, created["id"], {"locale": "auto"})
    assert response.json()["locale"] == "auto"


def test_patch_refuses_an_unknown_locale_and_changes_nothing(merchant):
    created = merchant.post(plan_body(merchant, locale="fr")).json()
    response = patch(merchant, created["id"], {"locale": "klingon"})
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid_locale", ["locale"])
    assert CheckoutSession.objects.get(pk=created["id"]).locale == "fr"


def test_api_answers_stay_english_whatever_accept_language(merchant):
    """No LocaleMiddleware: the API's messages do not follow the browser's header."""
    response = merchant.client.post(URL, data=json.dumps(plan_body(merchant, locale="xx")),
                                    content_type="application/json", HTTP_ACCEPT_LANGUAGE="de-DE")
    assert response.status_code == 422
    assert "is not a valid choice" in error_of(response)["message"]
