"""Saving Stripe keys in the admin: the secret key is checked with one cheap Stripe call
(``GET /v1/customers?limit=1``) against localstripe, behind the Stripe double (which records
every call and loses answers on demand). A key Stripe rejects, a key of the other mode, a
malformed key, a missing signing secret or no answer from Stripe: a form error, nothing saved."""

import pytest
from django.urls import reverse

from billing.models import PaymentSettings
from core.secrets import secret_decrypt

pytestmark = pytest.mark.django_db
CUSTOMERS = "/v1/customers"
ADD = "admin:billing_paymentsettings_add"


def _form(organization, *, livemode=False, **fields) -> dict:
    mode = "live" if livemode else "test"
    data = {"organization": organization.pk, "provider": "stripe", "stripe_publishable_key": f"pk_{mode}_abc",
            "stripe_secret_key": f"sk_{mode}_abc", "stripe_webhook_secret": "whsec_abc", **fields}
    if livemode:
        data["livemode"] = "on"
    return data


def _errors(response) -> dict:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    form = response.context_data["adminform"].form
    return {name: " ".join(messages) for name, messages in form.errors.items()}


def _key_checks(double) -> list[dict]:
    return [r for r in double.requests if r["method"] == "GET" and r["path"].startswith(CUSTOMERS)]


@pytest.mark.parametrize("livemode", [False, True])
def test_a_key_stripe_accepts_is_checked_once_and_saved(ops_client, organization, stripe_double, livemode):
    response = ops_client.post(reverse(ADD), _form(organization, livemode=livemode))

    assert response.status_code == 302, _errors(response)
    row = PaymentSettings.objects.get(organization=organization)
    assert (row.livemode, row.provider) == (livemode, "stripe")
    assert secret_decrypt(row.stripe_secret_key_encrypted) == f"sk_{'live' if livemode else 'test'}_abc"
    assert [r["path"] for r in _key_checks(stripe_double)] == [f"{CUSTOMERS}?limit=1"]
    assert not stripe_double.posts("/v1/")  # a read: nothing created at Stripe


def test_a_key_stripe_rejects_names_the_field_and_saves_nothing(ops_client, organization, stripe_double):
    # localstripe answers 401 to any key but sk_… (here a restricted key it does not know).
    response = ops_client.post(reverse(ADD), _form(organization, stripe_secret_key="rk_test_revoked"))

    errors = _errors(response)
    assert list(errors) == ["stripe_secret_key"]
    assert "Stripe rejected this secret key (401" in errors["stripe_secret_key"]
    assert len(_key_checks(stripe_double)) == 1  # a 401 is an answer: not retried
    assert not PaymentSettings.objects.exists()


def test_a_restricted_key_without_access_to_customers_is_refused(ops_client, organization, stripe_double):
    stripe_double.forbid("rk_test_readonly")

    response = ops_client.post(reverse(ADD), _form(organization, stripe_secret_key="rk_test_readonly"))

    errors = _errors(response)
    assert list(errors) == ["stripe_secret_key"]
    assert "refused this restricted key access to customers (403)" in errors["stripe_secret_key"]
    assert len(_key_checks(stripe_double)) == 1
    assert not PaymentSettings.objects.exists()


def test_unreachable_stripe_is_a_clear_form_error_and_saves_nothing(ops_client, organization, stripe_double):
    stripe_double.unreachable(2, path=CUSTOMERS, method="GET")  # the first try and the one retry

    response = ops_client.post(reverse(ADD), _form(organization))

    errors = _errors(response)
    assert list(errors) == ["__all__"]
    assert errors["__all__"] == ("Stripe could not be reached to check the secret key (no answer, or an error on "
                                 "Stripe's side). Nothing was saved; try again in a moment.")
    assert "Stripe could not be reached" in response.content.decode()
    assert len(_key_checks(stripe_double)) == 2
    assert not PaymentSettings.objects.exists()


def test_an_edit_checks_the_stored_key_and_saves_nothing_without_an_answer(ops_client, organization,
                                                                          stripe_double):
    assert ops_client.post(reverse(ADD), _form(organization)).status_code == 302
    row = PaymentSettings.objects.get()
    change = reverse("admin:billing_paymentsettings_change", args=[row.pk])
    stripe_double.unreachable(2, path=CUSTOMERS, method="GET")

    response = ops_client.post(change, {"provider": "stripe", "stripe_publishable_key": "pk_test_new"})

    assert list(_errors(response)) == ["__all__"]
    row.refresh_from_db()
    assert row.stripe_publishable_key == "pk_test_abc"
    # Stripe answers again: the stored key (not retyped) is checked and the edit saved.
    response = ops_client.post(change, {"provider": "stripe", "stripe_publishable_key": "pk_test_new"})
    assert response.status_code == 302, _errors(response)
    row.refresh_from_db()
    assert row.stripe_publishable_key == "pk_test_new"
    assert len(_key_checks(stripe_double)) == 4  # the add, the two lost tries, the edit


@pytest.mark.parametrize("livemode, fields, field, message", [
    # A key of the other mode.
    (True, {"stripe_secret_key": "sk_test_abc"}, "stripe_secret_key", "must start with sk_live_ or rk_live_"),
    (False, {"stripe_secret_key": "sk_live_abc"}, "stripe_secret_key", "must start with sk_test_ or rk_test_"),
    (True, {"stripe_publishable_key": "pk_test_abc"}, "stripe_publishable_key", "must start with pk_live_"),
    # Pasted badly: a bare prefix, a space, a line break.
    (True, {"stripe_secret_key": "sk_live_"}, "stripe_secret_key", "is incomplete: paste the whole key"),
    (False, {"stripe_secret_key": "sk_test_ab c"}, "stripe_secret_key", "must not contain spaces"),
    (False, {"stripe_secret_key": "sk_test_abc\ndef"}, "stripe_secret_key", "must not contain spaces"),
    (False, {"stripe_publishable_key": "pk_test_"}, "stripe_publishable_key", "is incomplete"),
    (False, {"stripe_webhook_secret": "whsec_ abc"}, "stripe_webhook_secret", "must not contain spaces"),
    # The signing secret is required: without it no Stripe event can be trusted.
    (False, {"stripe_webhook_secret": ""}, "stripe_webhook_secret", "Enter the webhook signing secret"),
    (True, {"stripe_secret_key": ""}, "stripe_secret_key", "Enter the Stripe secret key"),
])
def test_malformed_or_wrong_mode_keys_are_refused_before_asking_stripe(ops_client, organization, stripe_double,
                                                                      livemode, fields, field, message):
    response = ops_client.post(reverse(ADD), _form(organization, livemode=livemode, **fields))

    errors = _errors(response)
    assert list(errors) == [field]
    assert message in errors[field]
    assert not _key_checks(stripe_double)  # refused here: Stripe is not asked
    assert not PaymentSettings.objects.exists()
