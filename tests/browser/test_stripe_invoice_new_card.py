"""Paying an unpaid invoice with another card that needs 3-D Secure, with Stripe (issue #26):
Chromium on the hosted invoice page in Stripe mode against localstripe (tests.localstripe_plus).

A renewal declined on the saved card (4000 0000 0000 0341); the customer opens the emailed link and
types a card whose bank always asks for authentication (4000 0027 6000 3184). The page used to save
it with a SetupIntent confirmed on our server, where nobody can authenticate, and refused it every
time; now one on-session PaymentIntent with ``setup_future_usage=off_session`` pays the invoice
and saves the card, 3-D Secure completed in localstripe's dialog. What was charged and saved is
asked of Stripe (its SDK pointed at localstripe), not only of our database. Test mode (a test
clock) and live mode (the real clock, moved by time-machine).
"""

import pytest
from django.core import mail

from billing.enums import ContractStatus, InvoiceStatus
from billing.models import Contract, Invoice, Payment, ProviderCustomer, SavedPaymentMethod
from billing.payment_methods import customer_default_payment_method
from tests.browser import test_stripe_dunning
from tests.browser.conftest import type_stripe_card
from tests.browser.test_stripe_dunning import (
    ALWAYS_AUTHENTICATE,
    DECLINES_ON_CHARGE,
    RENEWAL_CENTS,
    Calendar,
    _intents_for,
    _link,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MODES = pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])
AUTHENTICATES_UNTIL_SET_UP = "4000002500003155"
shop = test_stripe_dunning.shop  # the fixture: a customer subscribed with a card saved in Stripe mode


def _declined_renewal(shop, livemode: bool):
    """A customer whose renewal was declined on 0341: the invoice, its contract, the old card."""
    session = shop(number=DECLINES_ON_CHARGE, livemode=livemode)
    old = SavedPaymentMethod.objects.get()
    calendar = Calendar(session)
    calendar.move_to(calendar.renewal_day())
    invoice = Invoice.objects.get(contract__customer_id=session.customer_id, billing_reason="renewal")
    [declined] = Payment.objects.filter(invoice=invoice)
    assert (declined.status, declined.failure_code, invoice.status) == ("failed", "card_declined", InvoiceStatus.OPEN)
    return session, calendar, invoice, Contract.objects.get(pk=invoice.contract_id), old


def _pay_with_new_card(page, number: str):
    page.locator("#card-element input[placeholder=number]").wait_for()  # Stripe's field, mounted
    type_stripe_card(page, number)
    page.get_by_role("button", name="Pay $85.00 with this card").click()


def _assert_paid_and_saved(localstripe, session, invoice, contract, old, last4: str) -> SavedPaymentMethod:
    invoice.refresh_from_db()
    contract.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.PAID, None)
    assert contract.status == ContractStatus.ACTIVE
    new = SavedPaymentMethod.objects.exclude(pk=old.pk).get()
    paid = Payment.objects.get(invoice=invoice, status="succeeded")
    assert (paid.off_session, paid.saved_payment_method_id, paid.amount, paid.card_last4, new.last4) == (
        False, new.pk, invoice.amount_due, last4, last4)
    assert new.mandate_text.startswith("By saving this card, you authorise ")
    succeeded = [i for i in _intents_for(localstripe, session, invoice) if i["status"] == "succeeded"]
    assert [(i["id"], i["amount"], i["currency"], i["payment_method"], i["off_session"], i["setup_future_usage"])
            for i in succeeded] == [
        (paid.provider_reference, RENEWAL_CENTS, "usd", new.provider_reference, False, "off_session")]
    # The new card is the default, the contract's and the customer's, attached to their Stripe Customer.
    stripe_customer = ProviderCustomer.objects.get(customer_id=session.customer_id).provider_reference
    assert succeeded[0]["customer"] == stripe_customer
    assert contract.default_payment_method_id == new.pk
    assert customer_default_payment_method(customer_id=session.customer_id, livemode=session.livemode).pk == new.pk
    assert localstripe.get(f"/v1/payment_methods/{new.provider_reference}")["customer"] == stripe_customer
    assert new.provider_customer == stripe_customer
    return new


@MODES
def test_a_new_card_that_needs_3ds_pays_the_invoice_after_authentication_and_becomes_the_default(
        page, shop, localstripe, livemode, shoot):
    session, calendar, invoice, contract, old = _declined_renewal(shop, livemode)

    page.goto(_link(mail.outbox[-1]))
    assert page.get_by_test_id("saved-card").inner_text() == "Card ending in 0341"
    _pay_with_new_card(page, ALWAYS_AUTHENTICATE)
    complete = page.get_by_role("button", name="Complete authentication")
    complete.wait_for()
    if not livemode:
        shoot(page, "invoice-stripe-new-card-authenticate")
    # Nothing is saved or paid before the bank has answered.
    assert SavedPaymentMethod.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN
    complete.click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()
    assert page.get_by_test_id("amount-paid").inner_text() == "$85.00"
    if not livemode:
        shoot(page, "invoice-stripe-new-card-paid")

    _assert_paid_and_saved(localstripe, session, invoice, contract, old, "3184")
    # The off-session decline and the page's one intent: nothing else charged at Stripe.
    assert sorted(i["status"] for i in _intents_for(localstripe, session, invoice)) == [
        "requires_payment_method", "succeeded"]
    assert Payment.objects.filter(invoice=invoice).count() == 2


@MODES
def test_a_failed_3ds_for_a_new_card_leaves_the_invoice_open_and_a_second_try_pays_it(
        page, shop, localstripe, livemode, shoot):
    session, calendar, invoice, contract, old = _declined_renewal(shop, livemode)

    page.goto(_link(mail.outbox[-1]))
    _pay_with_new_card(page, ALWAYS_AUTHENTICATE)
    page.get_by_role("button", name="Fail authentication").click()
    error = page.get_by_test_id("payment-error")
    error.wait_for()
    assert error.inner_text() == "Your bank did not confirm the payment, so nothing was taken. You can try again."
    assert page.get_by_role("heading", level=1).inner_text() == \
        f"Your invoice from {contract.business_entity.name} is unpaid"
    if not livemode:
        shoot(page, "invoice-stripe-new-card-failed")

    invoice.refresh_from_db()
    contract.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.next_payment_attempt is not None  # dunning goes on
    assert contract.default_payment_method_id == old.pk
    page_attempt = Payment.objects.get(invoice=invoice, off_session=False)
    assert (page_attempt.status, page_attempt.failure_code, page_attempt.saved_payment_method_id) == (
        "failed", "payment_intent_authentication_failure", None)
    assert SavedPaymentMethod.objects.count() == 1  # the card that was not authenticated is not kept
    assert [i["status"] for i in _intents_for(localstripe, session, invoice)] == ["requires_payment_method"] * 2

    # Again, authenticated this time: paid, and the card saved.
    _pay_with_new_card(page, ALWAYS_AUTHENTICATE)
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()
    _assert_paid_and_saved(localstripe, session, invoice, contract, old, "3184")
    assert sorted(i["status"] for i in _intents_for(localstripe, session, invoice)) == [
        "requires_payment_method", "requires_payment_method", "succeeded"]


@MODES
def test_a_card_set_up_by_paying_the_invoice_is_charged_off_session_at_the_next_renewal(
        page, shop, localstripe, livemode):
    session, calendar, invoice, contract, old = _declined_renewal(shop, livemode)

    page.goto(_link(mail.outbox[-1]))
    _pay_with_new_card(page, AUTHENTICATES_UNTIL_SET_UP)
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("heading", level=1, name="Thank you — this invoice is paid").wait_for()
    new = _assert_paid_and_saved(localstripe, session, invoice, contract, old, "3155")

    # Set up for off-session use by that payment: the next renewal goes through without the customer.
    calendar.move_to(calendar.renewal_day())
    renewal = Invoice.objects.filter(contract=contract, billing_reason="renewal").exclude(pk=invoice.pk).get()
    payment = Payment.objects.get(invoice=renewal)
    assert (payment.status, payment.off_session, payment.saved_payment_method_id, renewal.status) == (
        "succeeded", True, new.pk, InvoiceStatus.PAID)
    [charged] = _intents_for(localstripe, session, renewal)
    assert (charged["status"], charged["off_session"], charged["payment_method"]) == (
        "succeeded", True, new.provider_reference)
