"""The Stripe-mode hosted page in Chromium, against localstripe: its Stripe.js stand-in mounts
the card field, 3-D Secure is its confirm/cancel dialog. Card data never reaches our server."""

import re

import pytest

from billing.models import Invoice, Payment
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from tests.browser.conftest import lands_on_merchant, type_stripe_card
from tests.checkout.pages.helpers import priced_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_session(live_server, stripe_mode):
    session = priced_session(success_url="https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}",
                             cancel_url="https://merchant.example/pricing")
    stripe_mode(session.organization)
    return session, f"{live_server.url}/pay/{session.token}"


def _pay(page):
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def test_pay_with_a_card_in_stripes_field_completes(page, open_session, shoot):
    session, url = open_session
    seen_posts = []
    page.on("request", lambda r: seen_posts.append(r.post_data or "") if r.method == "POST" else None)
    page.goto(url)
    assert page.get_by_label("Card number").count() == 0  # no card inputs of ours
    assert page.locator("#card-element input").count() == 5  # Stripe.js (localstripe) mounted its field
    type_stripe_card(page, "4242424242424242")
    shoot(page, "stripe-open")

    landed = lands_on_merchant(page, lambda: _pay(page))

    assert landed.url == f"https://merchant.example/thanks?session_id={session.pk}"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    ours = [body for body in seen_posts if "csrfmiddlewaretoken" in body]
    assert ours and all("4242" not in body for body in ours)  # the card number went to Stripe only


def test_a_declined_card_shows_the_message_and_a_retry_succeeds(page, open_session):
    session, url = open_session
    page.goto(url)
    type_stripe_card(page, "4000000000000341")
    _pay(page)
    page.get_by_test_id("payment-error").wait_for()
    assert "Your card was declined." in page.get_by_test_id("payment-error").inner_text()
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.OPEN

    type_stripe_card(page, "4242424242424242")
    lands_on_merchant(page, lambda: _pay(page))
    assert Invoice.objects.filter(checkout_session=session).count() == 1


def test_three_d_secure_authenticated_lands_on_success(page, open_session, shoot):
    session, url = open_session
    page.goto(url)
    type_stripe_card(page, "4000002500003155")
    _pay(page)
    complete = page.get_by_role("button", name="Complete authentication")
    complete.wait_for()
    assert page.get_by_role("heading", name="Confirm it's you").is_visible()
    shoot(page, "stripe-authenticate")

    landed = lands_on_merchant(page, complete.click)

    assert landed.url == f"https://merchant.example/thanks?session_id={session.pk}"
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.COMPLETED


def test_three_d_secure_refused_stays_open_with_the_reason(page, open_session):
    session, url = open_session
    page.goto(url)
    type_stripe_card(page, "4000002500003155")
    _pay(page)
    page.get_by_role("button", name="Fail authentication").click()

    page.get_by_test_id("payment-error").wait_for()
    assert "failed authentication" in page.get_by_test_id("payment-error").inner_text()
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert list(Payment.objects.filter(checkout_session=session).values_list("status", flat=True)) == ["failed"]


def test_a_webhook_arriving_before_the_browser_returns(page, open_session, localstripe, live_server):
    """Stripe's webhook lands while the browser is still on its way back: the webhook completes
    the session, the return finds it done and forwards to success_url; one charge, one invoice."""
    import json
    import urllib.request

    from billing.models import PaymentSettings
    from tests.stripe_helpers import signed_event

    session, url = open_session
    hook = f"{live_server.url}/stripe/webhooks/{PaymentSettings.objects.get().pk}"
    delivered = []

    def webhook_first(route):
        payment = Payment.objects.get(checkout_session=session)
        body, signature = signed_event("payment_intent.succeeded", localstripe.intent(payment.provider_reference))
        request = urllib.request.Request(hook, data=body, method="POST", headers={
            "Content-Type": "application/json", "Stripe-Signature": signature})
        with urllib.request.urlopen(request, timeout=10) as answer:
            delivered.append(json.load(answer)["outcome"])
        route.continue_()

    page.route(re.compile(r".*/pay/cs_[^/]+/return$"), webhook_first)
    page.goto(url)
    type_stripe_card(page, "4000002500003155")
    _pay(page)
    complete = page.get_by_role("button", name="Complete authentication")
    complete.wait_for()

    landed = lands_on_merchant(page, complete.click)

    assert delivered == ["applied"]  # the webhook, not the return, completed it
    assert landed.url == f"https://merchant.example/thanks?session_id={session.pk}"
    assert Invoice.objects.filter(checkout_session=session).count() == 1
    assert list(Payment.objects.filter(checkout_session=session).values_list("status", flat=True)) == ["succeeded"]
