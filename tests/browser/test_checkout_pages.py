"""The hosted checkout in a real browser (Debian's Chromium): sessions are created through
the merchant API, the customer opens the session's ``url`` and pays, declines, cancels…

The merchant's site (merchant.example) does not resolve here, so the last hop is asserted
as a request plus the 302 that led to it (BROWSER.md, pitfall 2). Each state is saved as a
desktop and a phone screenshot under docs/screenshots/.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.enums import BillingType, PricingModel, Timing
from billing.models import Contract, Invoice, Payment
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from checkout.services.confirm import payment_settle
from customers.models import Customer
from tests.billing.factories import PlanFactory, PlanItemFactory
from tests.browser.conftest import lands_on_merchant
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAY = re.compile(r"^Pay ")


@pytest.fixture
def merchant(live_server, settings):
    """A merchant with a monthly plan (flat fee, seats, one-time onboarding, metered API calls),
    8.25 % tax, a customer and an API client; session urls point at the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(
        organization=org, name="Acme Cloud Inc.", email="billing@acme.example", tax_rate=Decimal("8.25"),
        address={"line1": "500 Howard St", "city": "San Francisco", "state": "CA", "zip_code": "94105",
                 "country": "US"},
        allow_invoice_payment=True, is_default=True,
    )
    plan = PlanFactory(organization=org, name="Pro", code="pro-monthly")
    items = [
        ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("49.00")},
         "Platform fee", "Access to the platform.", 1),
        ({"pricing_model": PricingModel.PER_UNIT, "unit_amount": Decimal("12.00")},
         "Seats", "Named user seats.", 5),
        ({"pricing_model": PricingModel.FLAT_FEE, "unit_amount": Decimal("99.00"), "billing": BillingType.ONE_TIME,
          "cadence": ""}, "Onboarding", "One-time setup and training.", 1),
        ({"pricing_model": PricingModel.TIERED, "unit_amount": None, "timing": Timing.IN_ARREARS,
          "tiers": [{"up_to": 1000, "unit_amount": "0.0100", "flat_amount": "0"},
                    {"up_to": None, "unit_amount": "0.0050", "flat_amount": "0"}]},
         "API calls", "Metered usage, billed after each month.", 2500),
    ]
    for position, (pricing, name, description, quantity) in enumerate(items):
        PlanItemFactory(plan=plan, default_quantity=quantity, position=position,
                        pricing__product__name=name, pricing__product__description=description,
                        **{f"pricing__{key}": value for key, value in pricing.items()})
    customer = CustomerFactory(organization=org, business_entity=entity, customer_name="Grace Hopper",
                               email="grace@example.com")
    client = api_client_for(org)

    def create(**body) -> dict:
        payload = {
            "plan_id": str(plan.id),
            "customer_id": str(customer.id),
            "start_date": "2027-01-15",
            "success_url": "https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}",
            "pending_url": "https://merchant.example/pending?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://merchant.example/pricing",
            **body,
        }
        response = client.post("/api/v1/checkout-sessions", payload, format="json")
        assert response.status_code == 201, response.content
        session = response.json()
        assert session["url"].startswith(live_server.url + "/pay/cs_")
        return session

    create.entity = entity
    return create


def fill_card(page, number):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")


def submit_and_expect_merchant(page, button, expected_url):
    """Click ``button`` and assert the browser is sent to ``expected_url`` by a 302."""
    request = lands_on_merchant(page, button.click)
    assert request.url == expected_url
    return request


def test_pay_with_the_success_card_lands_on_success_url(page, merchant, shoot):
    created = merchant()
    total = created["estimates"]["current_invoice"]["total"]
    # 49 + 5 × 12 + 99 = 208.00, tax 8.25 % = 17.16 → 225.16 today
    assert total == "225.16"

    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "Pro"
    assert page.get_by_test_id("amount-due").inner_text() == "$225.16"
    assert page.get_by_text("Acme Cloud Inc.").first.is_visible()
    assert page.get_by_role("table").first.is_visible()
    shoot(page, "open")

    fill_card(page, "4242 4242 4242 4242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")

    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    invoice = Invoice.objects.get(checkout_session=session)
    assert invoice.total == Decimal("225.16")
    assert Contract.objects.get().pk == session.contract_id
    assert Payment.objects.get().card_last4 == "4242"

    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
    assert page.get_by_test_id("contract-reference").inner_text() == str(session.contract_id)
    assert page.locator("form").count() == 0
    shoot(page, "completed")


def test_declined_card_shows_the_message_and_a_retry_succeeds(page, merchant, shoot):
    created = merchant()
    page.goto(created["url"])
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name=PAY).click()

    alert = page.get_by_test_id("payment-error")
    assert "Your card was declined" in alert.inner_text()
    assert page.get_by_label("Card number").input_value() == ""  # never echoed back
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not Contract.objects.exists()
    shoot(page, "declined")

    fill_card(page, "4242424242424242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    assert Contract.objects.count() == 1 and Invoice.objects.count() == 1


def test_settle_later_card_goes_to_pending_url_then_completes(page, merchant, shoot):
    created = merchant()
    page.goto(created["url"])
    fill_card(page, "4000 0000 0000 0077")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/pending?session_id={created['id']}")
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == (SessionStatus.PROCESSING, PaymentStatus.PENDING)

    page.goto(created["url"])
    assert "confirming your payment" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("form").count() == 0
    shoot(page, "processing")

    # The background task (no worker in this test): settle it as the worker would.
    payment_settle(payment_id=Payment.objects.get().pk)
    page.reload()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
    assert Invoice.objects.get().total == Decimal("225.16")


def test_cancel_goes_to_cancel_url(page, merchant, shoot):
    created = merchant()
    page.goto(created["url"])
    submit_and_expect_merchant(page, page.get_by_role("button", name="Cancel"), "https://merchant.example/pricing")
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.CANCELLED

    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "This checkout was cancelled"
    assert page.locator("form").count() == 0
    assert page.get_by_role("link", name="Return to Acme Cloud Inc.").get_attribute("href") == \
        "https://merchant.example/pricing"
    shoot(page, "cancelled")


def test_guest_with_an_invalid_email_then_a_valid_one(page, merchant, shoot):
    created = merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id),
                       customer={"customer_name": "Ada Lovelace", "email": "ada@example.com",
                                 "address": {"line1": "12 St James's Sq", "city": "London", "zip_code": "SW1Y 4JH",
                                             "country": "GB"}})
    page.goto(created["url"])
    assert page.get_by_label("Full name").input_value() == "Ada Lovelace"
    assert page.get_by_label("Country").input_value() == "GB"
    shoot(page, "open-guest")

    page.get_by_label("Email").fill("ada@")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()

    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    assert page.locator("#id_email_error").inner_text().endswith("Enter a valid email address.")
    assert page.get_by_role("alert").first.is_visible()
    assert page.get_by_role("link", name=re.compile("^Email:")).is_visible()  # error summary
    assert not Customer.objects.filter(email__startswith="ada").exists()
    shoot(page, "guest-errors")

    email.fill("ada@example.com")
    fill_card(page, "4242 4242 4242 4242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    customer = Customer.objects.get(email="ada@example.com")
    assert customer.address["country"] == "GB"
    assert CheckoutSession.objects.get(pk=created["id"]).customer_id == customer.pk


def test_an_expired_session_shows_the_expired_page(page, merchant, shoot):
    created = merchant()
    CheckoutSession.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "This checkout has expired"
    assert page.locator("form").count() == 0
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.EXPIRED
    shoot(page, "expired")


def test_pay_by_invoice(page, merchant):
    created = merchant()
    page.goto(created["url"])
    page.get_by_label("Pay by invoice").check()
    assert not page.get_by_label("Card number").is_visible()  # hidden by CSS once invoice is chosen
    submit_and_expect_merchant(page, page.get_by_role("button", name="Confirm and pay by invoice"),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_method) == (SessionStatus.COMPLETED, "invoice")


def test_works_without_javascript(browser, merchant):
    created = merchant()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(created["url"])
        fill_card(page, "4242 4242 4242 4242")
        submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                                   f"https://merchant.example/thanks?session_id={created['id']}")
    finally:
        context.close()
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.COMPLETED


def test_keyboard_only_checkout(page, merchant):
    created = merchant()
    page.goto(created["url"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(40):  # tab forward to the card number, as a keyboard user would
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_card_number":
            break
    else:
        pytest.fail("the card number field cannot be reached with the keyboard")
    page.keyboard.type("4242424242424242")
    page.keyboard.press("Tab")
    page.keyboard.type("12/34")
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    lands_on_merchant(page, lambda: page.keyboard.press("Enter"))
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.COMPLETED


CONTRAST_JS = """
(selectors) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  return selectors.map(sel => {
    const el = document.querySelector(sel);
    if (!el) return [sel, null];
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    return [sel, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""


def test_phone_layout_labels_and_contrast(page, merchant):
    created = merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id),
                       customer={"customer_name": "Ada Lovelace", "email": "ada@example.com"})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(created["url"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')].filter(el => !el.labels || !el.labels.length).map(el => el.name)""")
    assert unlabelled == []
    ratios = dict(page.evaluate(CONTRAST_JS, [
        "body", ".muted", ".line-why", "label", ".button.primary", ".test-banner", ".secure-note", ".hint"]))
    for selector, ratio in ratios.items():
        assert ratio is not None and ratio >= 4.5, (selector, ratio)
    assert page.evaluate("getComputedStyle(document.querySelector('#id_card_number')).fontSize") == "16px"
