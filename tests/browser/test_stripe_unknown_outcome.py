"""The "checking your payment" page in Chromium: Stripe charges the card but its answer to our
confirm is lost (the Stripe double's ``drop``), so the page says we are checking, not that the
payment failed; the reconcile sweep (``checkout.tasks.payments_settle_pending``'s work: the same
attempt sent again, same idempotency key) finishes it, and the customer's "Check the status
again" lands on the thank-you page, whose link goes to the merchant's success_url. One charge,
one invoice. Live and test mode. Stripe.js is served through the double as well (the page's CSP
allows one Stripe API origin, STRIPE_API_BASE, which the server's SDK must reach through it)."""

import re
from datetime import timedelta

import pytest

from billing.enums import PaymentAttemptStatus
from billing.models import Invoice, Payment
from checkout.enums import PaymentStatus, SessionStatus
from checkout.services.confirm import payments_pending_unsettled
from checkout.tasks import SETTLE_GRACE_SECONDS, payment_settle
from tests.browser.conftest import assert_accessible, type_stripe_card
from tests.checkout.pages.helpers import priced_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
INTENTS = "/v1/payment_intents"


@pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])
def test_a_lost_stripe_answer_shows_checking_then_the_reconcile_lands_on_success(
        page, axe_page, live_server, stripe_double, stripe_mode, localstripe, shoot, settings, livemode):
    session = priced_session(livemode=livemode,
                             success_url="https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}",
                             cancel_url="https://merchant.example/pricing",
                             pending_url="")  # else a processing payment forwards to the merchant
    stripe_mode(session.organization, livemode=livemode)
    # Stripe.js through the double too: the page's CSP lets it talk to STRIPE_API_BASE only.
    settings.STRIPE_JS_URL = f"{stripe_double.base}/js.stripe.com/v3/"
    url = f"{live_server.url}/pay/{session.token}"
    page.goto(url)
    type_stripe_card(page, "4242424242424242")
    stripe_double.drop(3)  # Stripe charges; the answers to the SDK's three tries are all lost

    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    checking = page.get_by_test_id("payment-checking")
    checking.wait_for(timeout=30_000)  # the SDK's three tries, with its back-off between them
    assert page.get_by_role("heading", name="We're checking your payment").is_visible()
    assert "Please don't pay again: you will never be charged twice." in checking.inner_text()
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).count() == 0  # no second payment offered
    shoot(page, f"stripe-checking-{'live' if livemode else 'test'}")
    payment = Payment.objects.get(checkout_session=session)
    assert (payment.status, payment.provider_reference) == (PaymentAttemptStatus.PENDING, "")
    tries = stripe_double.posts(INTENTS)
    assert len(tries) == 3 and {t["key"] for t in tries} == {payment.idempotency_key}
    charged = [i for i in localstripe.get(f"{INTENTS}?limit=100")["data"]
               if (i.get("metadata") or {}).get("payment_id") == str(payment.pk)]
    assert [(i["status"], i["amount"]) for i in charged] == [("succeeded", 18400)]  # Stripe did charge
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.PROCESSING, PaymentStatus.PENDING)
    # Reloading still checks: nothing is settled by looking.
    page.reload()
    checking.wait_for()
    axe_page.goto(url)
    axe_page.get_by_test_id("payment-checking").wait_for()
    assert_accessible(axe_page)

    # The sweep picks the attempt up within the minute (before the settle-later grace) and sends
    # it again with the same key: Stripe answers with the first outcome.
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(seconds=25))
    stripe_double.heal()
    assert payments_pending_unsettled(grace_seconds=SETTLE_GRACE_SECONDS) == [payment.pk]
    payment_settle(payment_id=str(payment.pk))

    page.get_by_role("link", name="Check the status again").click()

    page.get_by_role("heading", name="Thank you — you're all set").wait_for()
    assert page.get_by_test_id("amount-paid").inner_text() == "$184.00"
    back = page.get_by_role("link", name=re.compile(r"^Return to "))
    assert back.get_attribute("href") == f"https://merchant.example/thanks?session_id={session.pk}"
    shoot(page, f"stripe-checked-completed-{'live' if livemode else 'test'}")
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    payment.refresh_from_db()
    assert payment.status == PaymentAttemptStatus.SUCCEEDED
    assert payment.provider_reference == charged[0]["id"]
    again = stripe_double.posts(INTENTS)[3:]
    assert [(t["key"], t["params"]) for t in again] == [(payment.idempotency_key, tries[0]["params"])]
    assert len([i for i in localstripe.get(f"{INTENTS}?limit=100")["data"]
                if (i.get("metadata") or {}).get("payment_id") == str(payment.pk)]) == 1  # one charge
    assert Invoice.objects.filter(checkout_session=session).count() == 1
