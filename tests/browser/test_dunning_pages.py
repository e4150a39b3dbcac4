"""Dunning, the hosted invoice page and setup sessions in a real browser (Debian's Chromium),
with the built-in test provider; time moved with time-machine.

A renewal whose saved card declines is retried on the schedule (1, 3, 5, 7 days); the customer
opens the link from the email and pays with 4242: the invoice is paid, the contract active
again, one succeeded charge, no more retries. A bank asking for authentication: the customer
authenticates on the page (without JavaScript: it needs none). A setup session replaces the
default card and the next renewal charges the new one. Screenshots in docs/screenshots/; axe
finds no violation on the pages at 1280 and 375 px.
"""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import axe_playwright_python
import pytest
import time_machine
from django.core import mail

from billing.collection import invoices_collect_due
from billing.enums import ContractStatus, InvoiceStatus
from billing.models import Invoice, Payment, SavedPaymentMethod
from billing.renewals import contracts_renew_due
from checkout.models import CheckoutSession, InvoiceEmail
from tests.billing.factories import ProductFactory
from tests.billing.renewal_helpers import monthly_item, sell
from tests.browser.conftest import lands_on_merchant
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(axe_playwright_python.__file__).parent / "axe.min.js"
RENEWAL = datetime(2027, 2, 28, 9, tzinfo=UTC)


@pytest.fixture
def shop(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the emails go out on commit, here
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(organization=org, name="Acme Cloud Inc.", email="billing@acme.example",
                                   is_default=True, address={"line1": "500 Howard St", "city": "San Francisco",
                                                             "state": "CA", "zip_code": "94105", "country": "US"})
    customer = CustomerFactory(organization=org, business_entity=entity, customer_name="Grace Hopper",
                               email="grace@example.com")
    return customer


def _sell(customer, behaviour):
    item = monthly_item(ProductFactory(organization=customer.organization, name="Pro plan"), "49.00")
    return sell(customer, items=[item], behaviour=behaviour)


def _collect(when):
    with time_machine.travel(when, tick=False):
        invoices_collect_due(now=when, inline=True)


def _link(message) -> str:
    return re.search(r"http://\S+/pay/invoice/inv_\S+", message.body).group(0)


def _axe_clean(browser, url):
    """No axe-core violation at 1280 and 375 px (CSP bypassed so the script can load)."""
    for width in (1280, 375):
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.goto(url)
        page.add_script_tag(path=str(AXE))
        assert page.evaluate("() => typeof window.axe") == "object"
        violations = page.evaluate("async () => (await window.axe.run()).violations.map(v => v.id)")
        context.close()
        assert violations == [], (url, width, violations)


def test_declined_renewal_is_retried_then_paid_from_the_emailed_link(page, browser, shop, shoot):
    sold = _sell(shop, "charges_fail")
    with time_machine.travel(RENEWAL, tick=False):
        contracts_renew_due(today=date(2027, 2, 28))
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert invoice.amount_due == Decimal("49.0000")

    for days in (0, 1, 3, 5):  # the first charge, then the retries the default schedule makes
        _collect(RENEWAL + timedelta(days=days))
    invoice.refresh_from_db()
    attempts = list(Payment.objects.filter(invoice=invoice).order_by("created_at"))
    assert [(p.status, p.failure_code) for p in attempts] == [("failed", "card_declined")] * 4
    assert [p.next_retry_at for p in attempts] == [RENEWAL + timedelta(days=d) for d in (1, 3, 5, 7)]
    assert invoice.next_payment_attempt == RENEWAL + timedelta(days=7)
    sold.contract.refresh_from_db()
    assert sold.contract.status == ContractStatus.PAST_DUE
    assert [e.step for e in InvoiceEmail.objects.order_by("created_at")] == ["first_failure", "last_retry"]
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["grace@example.com"]

    with time_machine.travel(RENEWAL + timedelta(days=5, hours=2), tick=True):
        link = _link(mail.outbox[1])
        page.goto(link)
        assert page.get_by_role("heading", level=1).inner_text() == "Your invoice from Acme Cloud Inc. is unpaid"
        assert page.get_by_test_id("amount-due").inner_text() == "$49.00"
        assert page.get_by_test_id("retry-note").inner_text() == "We will try your card again on Mar 7, 2027."
        shoot(page, "invoice")
        _axe_clean(browser, link)

        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry date (MM/YY)").fill("12/34")
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_role("button", name="Pay $49.00 with this card").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Thank you — this invoice is paid"
        assert page.get_by_test_id("amount-paid").inner_text() == "$49.00"
        shoot(page, "invoice-paid")

    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.PAID, None)
    assert sold.contract.status == ContractStatus.ACTIVE
    succeeded = Payment.objects.filter(invoice=invoice, status="succeeded")
    assert succeeded.count() == 1 and succeeded.get().card_last4 == "4242"
    _collect(RENEWAL + timedelta(days=7))  # the last retry's time: nothing is charged any more
    assert Payment.objects.filter(invoice=invoice).count() == 5


def test_authentication_required_is_completed_on_the_page_without_javascript(browser, shop, shoot):
    sold = _sell(shop, "authentication_required")
    with time_machine.travel(RENEWAL, tick=False):
        contracts_renew_due(today=date(2027, 2, 28))
    _collect(RENEWAL)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    assert (invoice.status, invoice.next_payment_attempt) == (InvoiceStatus.OPEN, None)  # no blind retry
    assert mail.outbox[0].subject == "Confirm your payment of $49.00 to Acme Cloud Inc."

    context = browser.new_context(viewport=DESKTOP, locale="en-US", java_script_enabled=False)
    page = context.new_page()
    link = _link(mail.outbox[0])
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your payment"
    shoot(page, "invoice-authenticate")
    _axe_clean(browser, link)
    page.get_by_role("button", name="Authenticate and pay $49.00").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you — this invoice is paid"
    context.close()

    invoice.refresh_from_db()
    sold.contract.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and sold.contract.status == ContractStatus.ACTIVE
    assert Payment.objects.filter(invoice=invoice, status="succeeded", off_session=False).count() == 1


def test_a_setup_session_replaces_the_card_and_the_next_renewal_charges_it(page, browser, shop, shoot):
    sold = _sell(shop, "charges_fail")
    response = api_client_for(shop.organization).post("/api/v1/checkout-sessions", {
        "mode": "setup", "customer_id": str(shop.pk), "contract_id": str(sold.contract.pk),
        "success_url": "https://merchant.example/card-updated?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/account"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()

    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "Update your payment method"
    assert page.get_by_test_id("current-card").inner_text() == "It replaces your card ending in 4242."
    shoot(page, "setup")
    _axe_clean(browser, created["url"])
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("11/33")
    page.get_by_label("Security code (CVC)").fill("123")
    landed = lands_on_merchant(page, page.get_by_role("button", name="Save card").click)
    assert landed.url == f"https://merchant.example/card-updated?session_id={created['id']}"

    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == ("completed", "no_payment_required")
    new = SavedPaymentMethod.objects.get(checkout_session_id=session.pk)
    sold.contract.refresh_from_db()
    assert sold.contract.default_payment_method_id == new.pk
    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "Your new card is saved"
    shoot(page, "setup-completed")

    with time_machine.travel(RENEWAL, tick=False):
        contracts_renew_due(today=date(2027, 2, 28))
    _collect(RENEWAL)
    invoice = Invoice.objects.get(contract=sold.contract, billing_reason="renewal")
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.saved_payment_method_id, invoice.status) == ("succeeded", new.pk, "paid")
