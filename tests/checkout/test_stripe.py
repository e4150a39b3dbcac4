"""Stripe as a real payment provider, against localstripe (a stateful fake Stripe server):
PaymentIntents for the amount due, 3-D Secure, declines and retries, webhooks, races."""

import pytest
from django.urls import reverse

from billing.enums import PaymentAttemptStatus
from billing.gateway import amount_in_minor_units
from billing.models import Contract, Invoice, Payment, PaymentSettings
from billing.payment_settings import payment_settings_save
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm, checkout_session_payment_sync
from checkout.services.stripe_events import stripe_event_handle
from core.errors import DomainError
from tests.checkout.pages.helpers import priced_session
from tests.helpers import threads_run
from tests.stripe_helpers import WEBHOOK_SECRET, signed_event

SUCCEEDS, DECLINED, THREE_D_SECURE = "4242424242424242", "4000000000000341", "4000002500003155"
pytestmark = pytest.mark.django_db


@pytest.fixture
def session(stripe_mode):
    session = priced_session(success_url="https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
                             cancel_url="https://merchant.example/cancel")
    stripe_mode(session.organization)
    return session


def _pay(session, localstripe, number):
    return checkout_session_confirm(session_id=session.pk, payment_method_id=localstripe.card_payment_method(number))


def test_the_stripe_page_has_no_card_inputs_and_loads_stripe_js(client, session, localstripe):
    response = client.get(reverse("checkout:page", args=[session.token]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="card_number"' not in html and 'name="card_cvc"' not in html
    assert 'id="card-element"' in html and 'name="payment_method_id"' in html
    assert f'<script src="{localstripe.js_url}">' in html
    assert 'data-stripe-key="pk_test_local"' in html
    assert localstripe.base in response["Content-Security-Policy"]


def test_a_card_payment_charges_exactly_the_amount_due_in_minor_units(session, localstripe):
    result = _pay(session, localstripe, SUCCEEDS)

    assert result.outcome == "completed"
    payment = Payment.objects.get(checkout_session=session)
    assert (payment.provider, payment.status) == ("stripe", PaymentAttemptStatus.SUCCEEDED)
    intent = localstripe.intent(payment.provider_reference)
    assert (intent["amount"], intent["currency"], intent["status"]) == (18400, "usd", "succeeded")
    assert intent["metadata"] == {"checkout_session_id": str(session.pk), "payment_id": str(payment.pk)}
    assert Invoice.objects.get(checkout_session=session).total == payment.amount


def test_the_receipt_names_the_card_stripe_charged(client, session, localstripe):
    # Stripe's PaymentIntent carries only the PaymentMethod's id unless it is expanded
    # (https://docs.stripe.com/api/expanding_objects): the receipt said "Card ending in" and nothing.
    _pay(session, localstripe, SUCCEEDS)
    payment = Payment.objects.get(checkout_session=session)
    assert payment.card_last4 == "4242"
    page = client.get(reverse("checkout:page", args=[session.token])).content.decode()
    assert "4242" in page


def test_a_card_authenticated_with_3d_secure_is_named_on_the_receipt_too(session, localstripe):
    pending = _pay(session, localstripe, THREE_D_SECURE)
    assert pending.outcome == "processing"
    payment = Payment.objects.get(checkout_session=session)
    localstripe.authenticate(payment.client_secret, success=True)
    checkout_session_payment_sync(session_id=session.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.card_last4) == (PaymentAttemptStatus.SUCCEEDED, "3155")


def test_a_declined_card_shows_stripes_message_and_a_retry_succeeds(session, localstripe):
    declined = _pay(session, localstripe, DECLINED)
    assert (declined.outcome, declined.failure_code) == ("payment_failed", "card_declined")
    assert declined.failure_message == "Your card was declined."
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not Contract.objects.filter(customer_id=session.customer_id).exists()

    assert _pay(session, localstripe, SUCCEEDS).outcome == "completed"
    assert list(Payment.objects.filter(checkout_session=session).order_by("created_at")
                .values_list("status", flat=True)) == ["failed", "succeeded"]


def test_three_d_secure_authenticated_then_return_completes_and_redirects(client, session, localstripe):
    pending = _pay(session, localstripe, THREE_D_SECURE)
    assert pending.outcome == "processing"
    payment = Payment.objects.get(checkout_session=session)
    assert payment.client_secret.startswith(payment.provider_reference + "_secret_")
    page = client.get(reverse("checkout:page", args=[session.token]))
    assert "Confirm it's you" in page.content.decode() and payment.client_secret in page.content.decode()

    localstripe.authenticate(payment.client_secret, success=True)
    response = client.get(reverse("checkout:return", args=[session.token]))

    assert response.status_code == 302
    assert response["Location"] == f"https://merchant.example/ok?cs={session.pk}"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Invoice.objects.filter(checkout_session=session).count() == 1


def test_three_d_secure_refused_reopens_the_session_for_another_try(client, session, localstripe):
    payment = _pay(session, localstripe, THREE_D_SECURE).payment
    localstripe.authenticate(payment.client_secret, success=False)

    response = client.get(reverse("checkout:return", args=[session.token]))

    assert response["Location"] == reverse("checkout:page", args=[session.token])
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    page = client.get(response["Location"]).content.decode()
    assert "failed authentication" in page
    assert _pay(session, localstripe, SUCCEEDS).outcome == "completed"


def test_a_webhook_before_the_browser_returns_completes_once(client, session, localstripe):
    payment = _pay(session, localstripe, THREE_D_SECURE).payment
    intent = localstripe.authenticate(payment.client_secret, success=True)
    body, signature = signed_event("payment_intent.succeeded", intent)

    answer = client.post(reverse("checkout:stripe-webhook", args=[PaymentSettings.objects.get().pk]), body,
                         content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "applied")
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED

    back = client.get(reverse("checkout:return", args=[session.token]))
    assert back["Location"].startswith("https://merchant.example/ok")
    again = client.post(reverse("checkout:stripe-webhook", args=[PaymentSettings.objects.get().pk]), body,
                        content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert again.status_code == 200
    assert Invoice.objects.filter(checkout_session=session).count() == 1


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(client, session, localstripe):
    payment = _pay(session, localstripe, THREE_D_SECURE).payment
    intent = localstripe.authenticate(payment.client_secret, success=True)
    body, _signature = signed_event("payment_intent.succeeded", intent, secret="whsec_forged")
    url = reverse("checkout:stripe-webhook", args=[PaymentSettings.objects.get().pk])

    answer = client.post(url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=_signature)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "webhook_signature_invalid"
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.PROCESSING
    assert client.post(reverse("checkout:stripe-webhook", args=["not-an-id"]), body,
                       content_type="application/json").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_browser_return_and_webhook_racing_make_one_contract_one_invoice_one_charge(stripe_mode, localstripe):
    session = priced_session(success_url="https://merchant.example/ok")
    settings_row = stripe_mode(session.organization)
    payment = _pay(session, localstripe, THREE_D_SECURE).payment
    intent = localstripe.authenticate(payment.client_secret, success=True)
    body, signature = signed_event("payment_intent.succeeded", intent)

    threads_run(
        lambda: checkout_session_payment_sync(session_id=session.pk),
        lambda: stripe_event_handle(payment_settings_id=settings_row.pk, payload=body, signature=signature),
        together=True,
    )

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert Contract.objects.filter(checkout_sessions=session).count() == 1
    assert Invoice.objects.filter(checkout_session=session).count() == 1
    assert list(Payment.objects.filter(checkout_session=session).values_list("status", flat=True)) == ["succeeded"]


def test_invoice_and_zero_amount_sessions_need_no_card_in_stripe_mode(stripe_mode, localstripe):
    invoiced = priced_session(allow_invoice=True)
    stripe_mode(invoiced.organization)
    assert checkout_session_confirm(session_id=invoiced.pk, payment_method="invoice").outcome == "completed"
    free = priced_session(specs=())
    stripe_mode(free.organization)
    assert checkout_session_confirm(session_id=free.pk, payment_method="card").outcome == "completed"
    assert not Payment.objects.exists()


def test_secrets_are_stored_encrypted_and_never_shown(session, ops_client):
    row = PaymentSettings.objects.get()
    assert "sk_test_local" not in row.stripe_secret_key_encrypted
    assert WEBHOOK_SECRET not in row.stripe_webhook_secret_encrypted
    assert "sk_test_local" not in repr(row)
    html = ops_client.get(reverse("admin:billing_paymentsettings_change", args=[row.pk])).content.decode()
    assert "sk_test_local" not in html and WEBHOOK_SECRET not in html and row.stripe_secret_key_encrypted not in html
    assert f"/stripe/webhooks/{row.pk}" in html


def test_admin_configures_stripe_for_an_organization(ops_client, organization, stripe_mode):
    # stripe_mode: the admin checks the key with Stripe on save (here localstripe).
    response = ops_client.post(reverse("admin:billing_paymentsettings_add"), {
        "organization": organization.pk, "provider": "stripe", "stripe_publishable_key": "pk_test_abc",
        "stripe_secret_key": "sk_test_abc", "stripe_webhook_secret": "whsec_abc"})
    assert response.status_code == 302, response.content.decode()[:3000]
    row = PaymentSettings.objects.get(organization=organization)
    assert (row.livemode, row.provider, row.stripe_publishable_key) == (False, "stripe", "pk_test_abc")
    # Editing without retyping the secrets keeps them.
    ops_client.post(reverse("admin:billing_paymentsettings_change", args=[row.pk]), {
        "provider": "stripe", "stripe_publishable_key": "pk_test_def"})
    row.refresh_from_db()
    assert row.stripe_publishable_key == "pk_test_def" and row.stripe_secret_key_encrypted


@pytest.mark.parametrize("kwargs, field", [
    ({"livemode": True, "provider": "test"}, "provider"),
    ({"livemode": True, "provider": "stripe", "publishable_key": "pk_test_x", "secret_key": "sk_test_x"},
     "stripe_publishable_key"),
    ({"livemode": False, "provider": "stripe", "publishable_key": "pk_test_x", "secret_key": "sk_live_x"},
     "stripe_secret_key"),
    ({"livemode": False, "provider": "stripe", "publishable_key": "pk_test_x"}, "stripe_secret_key"),
])
def test_payment_settings_keys_must_match_the_mode(organization, kwargs, field):
    with pytest.raises(DomainError) as refused:
        payment_settings_save(organization_id=organization.pk, **kwargs)
    assert list(refused.value.fields) == [field]


def test_live_sessions_pay_by_card_once_stripe_live_keys_are_set(stripe_mode, localstripe):
    session = priced_session(livemode=True, success_url="https://merchant.example/ok")
    with pytest.raises(DomainError) as refused:
        _pay(session, localstripe, SUCCEEDS)
    assert refused.value.code == "payment_provider_unavailable"
    stripe_mode(session.organization, livemode=True)
    assert _pay(session, localstripe, SUCCEEDS).outcome == "completed"


def test_amounts_convert_to_minor_units_per_currency():
    from decimal import Decimal

    assert amount_in_minor_units(Decimal("184.00"), "USD") == 18400
    assert amount_in_minor_units(Decimal("5000"), "JPY") == 5000
    assert amount_in_minor_units(Decimal("1.230"), "KWD") == 1230  # Stripe's table: tests/billing/test_stripe_currencies.py
    with pytest.raises(ValueError):
        amount_in_minor_units(Decimal("1.005"), "USD")
