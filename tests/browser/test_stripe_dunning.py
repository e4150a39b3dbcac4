"""When a renewal fails, with Stripe (issue #26): Chromium on the hosted invoice and setup pages
in Stripe mode against localstripe (tests.localstripe_plus), the same flows
test_dunning_pages.py proves with the built-in test provider.

- a saved card that attaches but declines every charge (4000 0000 0000 0341): the renewal fails,
  is retried on the schedule, then the customer opens the emailed link and pays with 4242 typed in
  Stripe's card field: paid, the contract active again, one succeeded PaymentIntent for the
  invoice at Stripe, the new card the default;
- a card the bank always wants authenticated (4000 0027 6000 3184): the off-session renewal is
  answered ``authentication_required``, never retried blindly, and the customer completes 3-D
  Secure on the invoice page;
- a setup session replaces the card through a SetupIntent and the next renewal charges the new
  card at Stripe.

What was charged is asked of Stripe (its SDK pointed at localstripe), not of our database. Each
flow runs in test mode (a test clock moves time) and live mode (the real clock moved by
time-machine, and the beat's own services).
"""

import datetime
import json
import re
import urllib.request

import pytest
import stripe
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.collection import invoices_collect_due
from billing.enums import ContractStatus, InvoiceStatus
from billing.models import Contract, Invoice, Payment, ProviderCustomer, SavedPaymentMethod
from billing.payment_methods import customer_default_payment_method
from billing.renewals import contracts_renew_due
from billing.test_clocks import test_clock_advance, test_clock_create
from checkout.models import CheckoutSession, InvoiceEmail
from checkout.services.confirm import checkout_session_confirm
from tests.browser.conftest import lands_on_merchant, type_stripe_card
from tests.checkout.pages.helpers import PLATFORM, SEATS, priced_session
from tests.helpers import api_client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MODES = pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])

SUCCEEDS, DECLINES_ON_CHARGE, ALWAYS_AUTHENTICATE = "4242424242424242", "4000000000000341", "4000002760003184"
# 3 seats × 12.00 + platform 49.00 a month, after a 14-day trial: 85.00 USD a renewal.
RENEWAL_CENTS = 8500


@pytest.fixture
def shop(live_server, stripe_mode, localstripe, settings):
    """A customer whose trial saved ``number`` (through a SetupIntent, as the page does) in Stripe
    mode; the dunning emails go out on commit, with links to this server."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = True

    def subscribe(*, number: str, livemode: bool) -> CheckoutSession:
        session = priced_session(success_url="https://merchant.example/thanks", cancel_url="https://merchant.example/",
                                 start=timezone.localdate(), livemode=livemode, specs=(SEATS, PLATFORM),
                                 trial_end=timezone.localdate() + datetime.timedelta(days=14))
        session.customer.email = "grace@example.com"
        session.customer.save(update_fields=["email"])
        stripe_mode(session.organization, livemode=livemode)
        response = Client().post(reverse("checkout:setup-intent", args=[session.token]))
        assert response.status_code == 200, response.content
        secret = response.json()["client_secret"]
        setup = _localstripe_js(localstripe, f"/v1/setup_intents/{secret.split('_secret_')[0]}/confirm", {
            "client_secret": secret, "payment_method_data": {"type": "card", "card": {
                "number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}}})
        if setup["status"] == "requires_action":  # 3-D Secure when saving, completed as Stripe.js does
            setup = _localstripe_js(localstripe, f"/v1/setup_intents/{setup['id']}/confirm",
                                    {"client_secret": secret})
        assert setup["status"] == "succeeded"
        assert checkout_session_confirm(session_id=session.pk, payment_method_id=setup["id"]).outcome == "completed"
        session.refresh_from_db()
        return session

    return subscribe


def _localstripe_js(localstripe, path: str, body: dict) -> dict:
    """A call Stripe.js makes with the publishable key (localstripe takes a JSON body)."""
    request = urllib.request.Request(localstripe.base + path, method="POST",
                                     data=json.dumps({"key": "pk_test_local", **body}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _stripe(localstripe, livemode: bool) -> stripe.StripeClient:
    return stripe.StripeClient("sk_live_local" if livemode else "sk_test_local",
                               base_addresses={"api": localstripe.base})


def _intents_for(localstripe, session, invoice) -> list[dict]:
    """The PaymentIntents Stripe holds for ``invoice``, oldest first."""
    listed = _stripe(localstripe, session.livemode).v1.payment_intents.list(params={"limit": 100})
    # Every page: localstripe runs for the whole test run and keeps every test's intents.
    mine = [i for i in (intent.to_dict() for intent in listed.auto_paging_iter())
            if (i.get("metadata") or {}).get("invoice_id") == str(invoice.pk)]
    return sorted(mine, key=lambda i: i["created"])


class Calendar:
    """Time for one customer's contract: a test clock in test mode; in live mode the real clock
    moved by time-machine while the beat's services run."""

    def __init__(self, session: CheckoutSession):
        self.session = session
        self.clock = None
        if not session.livemode:
            self.clock = test_clock_create(organization_id=session.organization_id, customer_id=session.customer_id)

    def renewal_day(self) -> datetime.datetime:
        contract = Contract.objects.get(customer_id=self.session.customer_id)
        return timezone.make_aware(datetime.datetime.combine(contract.next_billing_date, datetime.time(12)))

    def move_to(self, moment: datetime.datetime) -> None:
        if self.clock is not None:
            self.clock = test_clock_advance(organization_id=self.session.organization_id, clock_id=self.clock.pk,
                                            frozen_time=moment)
            return
        with time_machine.travel(moment, tick=False):
            contracts_renew_due()
            invoices_collect_due(inline=True)


def _link(message) -> str:
    return re.search(r"http://\S+/pay/invoice/inv_\S+", message.body).group(0)


@MODES
def test_a_declined_renewal_is_retried_then_paid_with_4242_on_the_emailed_invoice_page(
        page, shop, localstripe, livemode, shoot):
    session = shop(number=DECLINES_ON_CHARGE, livemode=livemode)
    old = SavedPaymentMethod.objects.get()
    assert old.last4 == "0341"
    calendar = Calendar(session)
    due = calendar.renewal_day()

    calendar.move_to(due)
    invoice = Invoice.objects.get(contract__customer_id=session.customer_id, billing_reason="renewal")
    for days in (1, 3, 5):  # the retries the default schedule makes before the last one
        calendar.move_to(invoice.first_failed_at + datetime.timedelta(days=days, minutes=1))

    invoice.refresh_from_db()
    attempts = list(Payment.objects.filter(invoice=invoice).order_by("created_at"))
    assert [(p.status, p.failure_code, p.off_session) for p in attempts] == [("failed", "card_declined", True)] * 4
    assert [p.next_retry_at for p in attempts] == [invoice.first_failed_at + datetime.timedelta(days=d)
                                                   for d in (1, 3, 5, 7)]
    declined = _intents_for(localstripe, session, invoice)
    assert [(i["status"], i["amount"], i["off_session"], i["payment_method"]) for i in declined] == [
        ("requires_payment_method", RENEWAL_CENTS, True, old.provider_reference)] * 4
    assert sorted(p.provider_reference for p in attempts) == sorted(i["id"] for i in declined)
    contract = Contract.objects.get(pk=invoice.contract_id)
    assert contract.status == ContractStatus.PAST_DUE
    assert [e.step for e in InvoiceEmail.objects.order_by("created_at")] == ["first_failure", "last_retry"]
    assert mail.outbox[-1].to == ["grace@example.com"]

    page.goto(_link(mail.outbox[-1]))
    assert page.get_by_role("heading", level=1).inner_text() == f"Your invoice from {contract.business_entity.name} is unpaid"
    assert page.get_by_test_id("amount-due").inner_text() == "$85.00"
    assert page.get_by_test_id("saved-card").inner_text() == "Card ending in 0341"
    page.locator("#card-element input[placeholder=number]").wait_for()  # Stripe's field, mounted
    if not livemode:
        shoot(page, "invoice-stripe")
    type_stripe_card(page, SUCCEEDS)
    page.get_by_role("button", name="Pay $85.00 with this card").click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()
    assert page.get_by_test_id("amount-paid").inner_text() == "$85.00"
    if not livemode:
        shoot(page, "invoice-stripe-paid")

    invoice.refresh_from_db()
    contract.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.PAID, None)
    assert contract.status == ContractStatus.ACTIVE
    new = SavedPaymentMethod.objects.exclude(pk=old.pk).get()
    paid = Payment.objects.get(invoice=invoice, status="succeeded")
    assert (paid.off_session, paid.saved_payment_method_id, paid.amount, new.last4) == (False, new.pk, invoice.amount_due,
                                                                                        "4242")
    succeeded = [i for i in _intents_for(localstripe, session, invoice) if i["status"] == "succeeded"]
    assert [(i["id"], i["amount"], i["currency"], i["payment_method"], i["off_session"]) for i in succeeded] == [
        (paid.provider_reference, RENEWAL_CENTS, "usd", new.provider_reference, False)]
    # The new card is the default: the contract's and the customer's, attached to their Stripe Customer.
    assert contract.default_payment_method_id == new.pk
    assert customer_default_payment_method(customer_id=session.customer_id, livemode=livemode).pk == new.pk
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    assert localstripe.get(f"/v1/payment_methods/{new.provider_reference}")["customer"] == stripe_customer

    calendar.move_to(invoice.first_failed_at + datetime.timedelta(days=8))  # past the last retry's time
    assert len(_intents_for(localstripe, session, invoice)) == 5  # nothing charged any more
    assert Payment.objects.filter(invoice=invoice).count() == 5


@MODES
def test_authentication_required_off_session_is_completed_with_3ds_on_the_invoice_page(
        page, shop, localstripe, livemode, shoot):
    session = shop(number=ALWAYS_AUTHENTICATE, livemode=livemode)
    method = SavedPaymentMethod.objects.get()
    calendar = Calendar(session)
    calendar.move_to(calendar.renewal_day())

    invoice = Invoice.objects.get(contract__customer_id=session.customer_id, billing_reason="renewal")
    [attempt] = Payment.objects.filter(invoice=invoice)
    assert (attempt.status, attempt.failure_code) == ("failed", "authentication_required")
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, None)  # no blind retry
    [asked] = _intents_for(localstripe, session, invoice)
    assert (asked["status"], asked["off_session"], asked["amount"]) == ("requires_payment_method", True, RENEWAL_CENTS)
    assert mail.outbox[-1].subject.startswith("Confirm your payment of $85.00 to ")
    calendar.move_to(invoice.first_failed_at + datetime.timedelta(days=8))  # the schedule's days pass
    assert len(_intents_for(localstripe, session, invoice)) == 1 and Payment.objects.filter(invoice=invoice).count() == 1

    page.goto(_link(mail.outbox[-1]))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your payment"
    page.get_by_role("button", name="Authenticate and pay $85.00").click()
    complete = page.get_by_role("button", name="Complete authentication")
    complete.wait_for()
    if not livemode:
        shoot(page, "invoice-stripe-authenticate")
    complete.click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Contract.objects.get(pk=invoice.contract_id).status == ContractStatus.ACTIVE
    paid = Payment.objects.get(invoice=invoice, status="succeeded")
    assert (paid.off_session, paid.saved_payment_method_id) == (False, method.pk)
    succeeded = [i for i in _intents_for(localstripe, session, invoice) if i["status"] == "succeeded"]
    assert [(i["id"], i["amount"], i["off_session"], i["payment_method"]) for i in succeeded] == [
        (paid.provider_reference, RENEWAL_CENTS, False, method.provider_reference)]


@MODES
def test_a_setup_session_replaces_the_card_with_a_setup_intent_and_the_next_renewal_charges_it(
        page, shop, localstripe, livemode, shoot):
    session = shop(number=DECLINES_ON_CHARGE, livemode=livemode)
    old = SavedPaymentMethod.objects.get()
    contract = Contract.objects.get(customer_id=session.customer_id)
    api = api_client_for(session.organization, livemode=livemode)
    response = api.post("/api/v1/checkout-sessions", {
        "mode": "setup", "customer_id": str(session.customer_id), "contract_id": str(contract.pk),
        "success_url": "https://merchant.example/card-updated?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/account"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()

    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "Update your payment method"
    assert page.get_by_test_id("current-card").inner_text() == "It replaces your card ending in 0341."
    type_stripe_card(page, SUCCEEDS)
    if not livemode:
        shoot(page, "setup-stripe")
    landed = lands_on_merchant(page, page.get_by_role("button", name="Save card").click)
    assert landed.url == f"https://merchant.example/card-updated?session_id={created['id']}"

    new = SavedPaymentMethod.objects.get(checkout_session_id=created["id"])
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    setup_intents = [s for s in localstripe.get("/v1/setup_intents?limit=10000")["data"]
                     if s["payment_method"] == new.provider_reference]
    assert [(s["status"], s["customer"], s["usage"]) for s in setup_intents] == [
        ("succeeded", stripe_customer, "off_session")]
    contract.refresh_from_db()
    assert (contract.default_payment_method_id, new.last4, new.provider) == (new.pk, "4242", "stripe")
    assert customer_default_payment_method(customer_id=session.customer_id, livemode=livemode).pk == new.pk
    shown = api.get(f"/api/v1/checkout-sessions/{created['id']}").json()
    assert shown["setup"]["payment_method"] == {"id": str(new.pk), "provider_reference": new.provider_reference,
                                                "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031}

    calendar = Calendar(session)
    calendar.move_to(calendar.renewal_day())

    invoice = Invoice.objects.get(contract=contract, billing_reason="renewal")
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.saved_payment_method_id, invoice.status) == ("succeeded", new.pk, "paid")
    charged = _intents_for(localstripe, session, invoice)
    assert [(i["status"], i["amount"], i["off_session"], i["payment_method"]) for i in charged] == [
        ("succeeded", RENEWAL_CENTS, True, new.provider_reference)]
    assert old.provider_reference not in {i["payment_method"] for i in charged}


def test_a_failed_3ds_on_the_invoice_page_leaves_the_invoice_open_to_try_again(page, shop, localstripe):
    session = shop(number=ALWAYS_AUTHENTICATE, livemode=False)
    calendar = Calendar(session)
    calendar.move_to(calendar.renewal_day())
    invoice = Invoice.objects.get(contract__customer_id=session.customer_id, billing_reason="renewal")

    page.goto(_link(mail.outbox[-1]))
    page.get_by_role("button", name="Authenticate and pay $85.00").click()
    page.get_by_role("button", name="Fail authentication").click()
    page.get_by_role("heading", level=1, name="Confirm your payment").wait_for()  # back, nothing taken

    invoice.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, None)
    page_attempt = Payment.objects.get(invoice=invoice, off_session=False)
    assert page_attempt.status == "failed" and page_attempt.failure_code == "payment_intent_authentication_failure"
    assert [i["status"] for i in _intents_for(localstripe, session, invoice)] == ["requires_payment_method"] * 2

    # The button still works: a second try, authenticated this time, pays the invoice.
    page.get_by_role("button", name="Authenticate and pay $85.00").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert sorted(i["status"] for i in _intents_for(localstripe, session, invoice)) == [
        "requires_payment_method", "requires_payment_method", "succeeded"]
