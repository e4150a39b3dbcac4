"""Saved cards and renewals with Stripe, end to end (issue #25): Chromium on the hosted page in
Stripe mode against localstripe (tests.localstripe_plus), then a month later the renewal run
charges the saved card off-session. What was charged is asked of localstripe, not our database.
Each flow runs in test mode (a test clock moves time) and live mode (the real clock, moved by
time-machine, and the beat's own services)."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from billing.collection import invoices_collect_due
from billing.models import Contract, Invoice, ProviderCustomer, SavedPaymentMethod
from billing.renewals import contracts_renew_due
from billing.test_clocks import test_clock_advance, test_clock_create
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from tests.browser.conftest import lands_on_merchant, type_stripe_card
from tests.checkout.pages.helpers import PLATFORM, SEATS, priced_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MODES = pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])


@pytest.fixture
def stripe_session(live_server, stripe_mode):
    def make(*, livemode, **kwargs):
        session = priced_session(success_url="https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}",
                                 cancel_url="https://merchant.example/pricing", start=timezone.localdate(),
                                 livemode=livemode, **kwargs)
        stripe_mode(session.organization, livemode=livemode)
        return session, f"{live_server.url}/pay/{session.token}"
    return make


def _renewal_day_comes(session: CheckoutSession) -> Contract:
    """Time moves to the contract's next billing date, and the renewal run charges what is due:
    a test clock advanced in test mode; in live mode the real clock (time-machine) and the beat's
    services, as the worker runs them."""
    contract = Contract.objects.get(customer_id=session.customer_id)
    due = timezone.make_aware(datetime.datetime.combine(contract.next_billing_date, datetime.time(12)))
    if session.livemode:
        with time_machine.travel(due, tick=False):
            assert contracts_renew_due().invoices == 1
            assert invoices_collect_due(inline=True) == 1
    else:
        clock = test_clock_create(organization_id=session.organization_id, customer_id=session.customer_id)
        test_clock_advance(organization_id=session.organization_id, clock_id=clock.pk, frozen_time=due)
    contract.refresh_from_db()
    return contract


def _off_session_intents(localstripe, session) -> list[dict]:
    customer = ProviderCustomer.objects.get(customer_id=session.customer_id, livemode=session.livemode)
    return [intent for intent in localstripe.intents_of(customer.provider_reference) if intent["off_session"]]


@MODES
def test_subscribe_with_4242_then_a_month_later_the_saved_card_is_charged_off_session(
        page, stripe_session, localstripe, livemode, shoot):
    session, url = stripe_session(livemode=livemode)
    page.goto(url)
    assert page.get_by_test_id("mandate").inner_text().startswith("By subscribing, you authorise ")
    type_stripe_card(page, "4242424242424242")

    lands_on_merchant(page, lambda: page.get_by_role("button", name=re.compile(r"^Pay ")).click())

    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    first = localstripe.intents_of(ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference)
    assert [(i["amount"], i["setup_future_usage"], i["off_session"]) for i in first] == [
        (18400, "off_session", False)]
    method = SavedPaymentMethod.objects.get(livemode=livemode)
    assert (method.last4, method.provider_reference) == ("4242", first[0]["payment_method"])

    contract = _renewal_day_comes(session)

    charged = _off_session_intents(localstripe, session)
    # 3 seats × 12.00 + 49.00 a month (the one-time onboarding is not billed again): 85.00 USD.
    assert session.estimates["next_invoice"]["total"] == "85.00"
    assert [(i["status"], i["amount"], i["currency"], i["payment_method"]) for i in charged] == [
        ("succeeded", 8500, "usd", method.provider_reference)]
    renewal = Invoice.objects.exclude(checkout_session=session).get()
    assert (renewal.status, renewal.total, contract.status) == ("paid", Decimal("85.00"), "active")


@MODES
def test_a_trial_saves_4242_with_a_setup_intent_and_is_charged_when_it_ends(
        page, stripe_session, localstripe, livemode, shoot):
    today = timezone.localdate()
    session, url = stripe_session(livemode=livemode, specs=(SEATS, PLATFORM),
                                  trial_end=today + datetime.timedelta(days=14))
    page.goto(url)
    type_stripe_card(page, "4242424242424242")
    if not livemode:
        shoot(page, "stripe-trial")

    lands_on_merchant(page, lambda: page.get_by_role("button", name="Start subscription").click())

    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.NO_PAYMENT_REQUIRED)
    customer = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    assert localstripe.intents_of(customer) == []  # nothing charged today
    method = SavedPaymentMethod.objects.get()
    assert localstripe.get(f"/v1/payment_methods/{method.provider_reference}")["customer"] == customer
    contract = Contract.objects.get()
    assert contract.next_billing_date == today + datetime.timedelta(days=14)

    _renewal_day_comes(session)

    charged = _off_session_intents(localstripe, session)
    assert [(i["status"], i["amount"], i["payment_method"]) for i in charged] == [
        ("succeeded", 8500, method.provider_reference)]


def test_a_trial_card_asking_for_3ds_is_authenticated_on_the_page_and_renews_without_it(
        page, stripe_session, localstripe, shoot):
    session, url = stripe_session(livemode=False, specs=(SEATS, PLATFORM),
                                  trial_end=timezone.localdate() + datetime.timedelta(days=7))
    page.goto(url)
    type_stripe_card(page, "4000002500003155")
    page.get_by_role("button", name="Start subscription").click()
    complete = page.get_by_role("button", name="Complete authentication")
    complete.wait_for()
    shoot(page, "stripe-trial-authenticate")

    lands_on_merchant(page, complete.click)

    method = SavedPaymentMethod.objects.get()
    assert method.last4 == "3155"
    _renewal_day_comes(session)
    # Set up with 3-D Secure, the card is charged off-session without asking again.
    assert [(i["status"], i["amount"]) for i in _off_session_intents(localstripe, session)] == [("succeeded", 8500)]


def test_a_trial_card_failing_3ds_is_not_saved_and_the_page_says_why(page, stripe_session, localstripe):
    session, url = stripe_session(livemode=False, specs=(SEATS, PLATFORM),
                                  trial_end=timezone.localdate() + datetime.timedelta(days=7))
    page.goto(url)
    type_stripe_card(page, "4000002500003155")
    page.get_by_role("button", name="Start subscription").click()
    page.get_by_role("button", name="Fail authentication").click()

    page.locator("#card-errors").filter(has_text="authentication failed").wait_for()
    assert CheckoutSession.objects.get(pk=session.pk).status == SessionStatus.OPEN
    assert not SavedPaymentMethod.objects.exists()
