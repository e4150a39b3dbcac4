"""The hosted page a buyer would choose (issue #27), in Debian's Chromium: nothing typed is lost
to the promotion code box or a refusal, a recovery link cannot buy twice, guests the merchant
knows nothing about, the phone layout, the copy, and axe-core on every state. Screenshots under
docs/screenshots/."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Contract, Invoice
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from customers.models import Customer
from tests.billing.factories import PromotionCodeFactory
from tests.browser import test_checkout_pages
from tests.browser.conftest import assert_accessible, lands_on_merchant
from tests.browser.test_checkout_pages import PAY, fill_card, submit_and_expect_merchant

# The Acme Cloud merchant of the core page tests: 49 + 5 × 12 + 99 = 208.00 today, 8.25 % tax.
merchant = test_checkout_pages.merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TERMS = "https://acme.example/terms"
TYPED = {"Full name": "Ada Lovelace", "Email": "ada@example.com", "Address": "Unter den Linden 1",
         "Address line 2 (optional)": "3. OG", "City": "Berlin", "Postal code (optional)": "10117",
         "Tax ID (optional)": "DE136695976"}


def _guest(merchant, **extra):
    merchant.entity.terms_url = TERMS
    merchant.entity.save()
    return merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id),
                    consent_collection={"terms_of_service": "required"}, **extra)


def _code(created, code="LAUNCH25", **kwargs):
    session = CheckoutSession.objects.get(pk=created["id"])
    kwargs.setdefault("coupon__percent_off", Decimal("25"))
    return PromotionCodeFactory(coupon__organization=session.organization, code=code, **kwargs)


def _type_everything(page):
    for label, value in TYPED.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("Tax ID type (optional)").select_option("eu_vat")
    page.get_by_label("I agree to the terms of service of Acme Cloud Inc.").check()


def _assert_everything_kept(page):
    for label, value in TYPED.items():
        assert page.get_by_label(label, exact=True).input_value() == value, label
    assert page.get_by_label("Country").input_value() == "DE"
    assert page.get_by_label("Tax ID type (optional)").input_value() == "eu_vat"
    assert page.get_by_label("I agree to the terms of service of Acme Cloud Inc.").is_checked()


# --- 1. the promotion code box keeps what was typed ------------------------------------------------


def test_applying_a_code_reprices_in_place_and_keeps_everything_typed(page, merchant, shoot):
    created = _guest(merchant, allow_promotion_codes=True)
    _code(created)
    page.goto(created["url"])
    _type_everything(page)
    fill_card(page, "4242 4242 4242 4242")
    loads = []
    page.on("load", lambda _page: loads.append(1))

    page.get_by_label("Promotion code").fill("launch25")
    page.get_by_role("button", name="Apply").click()

    # 208.00 − 25 % (52.00) = 156.00, tax 8.25 % = 12.87 → 168.87, without a page load
    expect(page.get_by_test_id("amount-due")).to_have_text("$168.87")
    assert page.get_by_test_id("promotion-applied").inner_text().startswith("Code LAUNCH25 applied: 25% off")
    assert page.url == created["url"] and loads == []
    _assert_everything_kept(page)
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"  # never left the browser
    assert page.get_by_label("Expiry date (MM/YY)").input_value() == "12/34"
    assert page.get_by_role("button", name=PAY).inner_text() == "Pay $168.87"
    shoot(page, "promotion-kept-typed")

    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    assert Invoice.objects.get().total == Decimal("168.87")
    customer = Customer.objects.get(email="ada@example.com")
    assert (customer.customer_name, customer.address["country"], customer.tax_info) == (
        "Ada Lovelace", "DE", [{"type": "eu_vat", "value": "DE136695976"}])


def test_enter_in_the_code_box_applies_the_code_and_charges_nothing(page, merchant):
    created = _guest(merchant, allow_promotion_codes=True)
    _code(created)
    page.goto(created["url"])
    _type_everything(page)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_label("Promotion code").fill("LAUNCH25")
    page.get_by_label("Promotion code").press("Enter")
    expect(page.get_by_test_id("amount-due")).to_have_text("$168.87")
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.OPEN
    assert not Invoice.objects.exists()


def test_without_javascript_applying_a_code_keeps_everything_but_the_card_number(browser, merchant, shoot):
    created = _guest(merchant, allow_promotion_codes=True)
    _code(created)
    _code(created, code="OLD10", is_active=False)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(created["url"])
        _type_everything(page)
        fill_card(page, "4242 4242 4242 4242")

        # A code the merchant switched off: "not valid", not "expired"; nothing typed is lost.
        page.get_by_label("Promotion code").fill("OLD10")
        page.get_by_role("button", name="Apply").click()
        assert page.locator("#id_promotion_code_error").inner_text() == "This code is not valid."
        _assert_everything_kept(page)
        assert page.get_by_text("This field is required").count() == 0
        assert page.get_by_label("Expiry date (MM/YY)").input_value() == "12/34"
        assert page.get_by_label("Card number").input_value() == ""  # never echoed back
        shoot(page, "promotion-inactive-code")

        page.get_by_label("Promotion code").fill("LAUNCH25")
        page.get_by_role("button", name="Apply").click()
        assert page.get_by_test_id("amount-due").inner_text() == "$168.87"
        _assert_everything_kept(page)
        assert page.get_by_label("Expiry date (MM/YY)").input_value() == "12/34"

        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Security code (CVC)").fill("123")
        submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                                   f"https://merchant.example/thanks?session_id={created['id']}")
    finally:
        context.close()
    assert Invoice.objects.get().total == Decimal("168.87")
    assert Customer.objects.get(email="ada@example.com").customer_name == "Ada Lovelace"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_decline_keeps_everything_typed_but_the_card_number(browser, merchant, javascript):
    created = _guest(merchant)
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(created["url"])
        _type_everything(page)
        fill_card(page, "4000 0000 0000 0002")
        page.get_by_role("button", name=PAY).click()

        assert "Your card was declined" in page.get_by_test_id("payment-error").inner_text()
        _assert_everything_kept(page)
        assert page.get_by_label("Expiry date (MM/YY)").input_value() == "12/34"
        assert page.get_by_label("Card number").input_value() == ""
        assert not Contract.objects.exists()

        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Security code (CVC)").fill("123")
        submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                                   f"https://merchant.example/thanks?session_id={created['id']}")
    finally:
        context.close()
    assert Contract.objects.count() == 1


def test_missing_consent_and_an_invalid_vat_number_keep_the_card_expiry(page, merchant):
    created = _guest(merchant)
    page.goto(created["url"])
    _type_everything(page)
    page.get_by_label("I agree to the terms of service of Acme Cloud Inc.").uncheck()
    page.get_by_label("Tax ID (optional)").fill("DE123456789")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()

    assert page.locator("#id_accept_terms_error").inner_text() == "Accept the terms of service to continue."
    assert page.locator("#id_tax_id_error").is_visible()
    assert page.get_by_label("Expiry date (MM/YY)").input_value() == "12/34"
    assert page.get_by_label("Full name").input_value() == "Ada Lovelace"
    assert page.get_by_label("Card number").input_value() == ""


def test_in_stripe_mode_applying_a_code_keeps_stripes_card_field_mounted(page, live_server, stripe_mode):
    from tests.checkout.pages.helpers import priced_session

    session = priced_session(allow_promotion_codes=True,
                             success_url="https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}")
    stripe_mode(session.organization)
    PromotionCodeFactory(coupon__organization=session.organization, code="HALF", coupon__percent_off=Decimal("50"))
    page.goto(f"{live_server.url}/pay/{session.token}")
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("31")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("94105")
    page.evaluate("document.querySelector('#card-element input').dataset.marker = 'same-element'")

    page.get_by_label("Promotion code").fill("HALF")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_test_id("amount-due")).to_have_text("$92.00")  # 184.00 − 50 %, no tax
    assert page.evaluate("document.querySelector('#card-element input').dataset.marker") == "same-element"
    assert card.locator("input[placeholder=number]").input_value() == "4242424242424242"
    lands_on_merchant(page, page.get_by_role("button", name=PAY).click)
    assert Invoice.objects.get(checkout_session=session).total == Decimal("92.00")


# --- 2. a recovery link cannot buy twice -----------------------------------------------------------


def test_a_recovery_link_used_once_shows_the_purchase_instead_of_selling_it_again(page, merchant, shoot):
    created = merchant(after_expiration={"recovery": {"enabled": True}})
    CheckoutSession.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    page.goto(created["url"])
    recover = page.get_by_role("link", name="Start again with the same offer")
    recover_url = page.url + "/recover"
    assert recover.get_attribute("href").endswith("/recover")
    recover.click()
    fill_card(page, "4242 4242 4242 4242")
    recovered = CheckoutSession.objects.get(recovered_from_id=created["id"])
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={recovered.pk}")

    page.goto(recover_url)  # the same link again, from the reminder email

    assert page.get_by_role("heading", level=1).inner_text() == "You already completed this purchase"
    recovered.refresh_from_db()
    assert page.get_by_test_id("contract-reference").inner_text() == str(recovered.contract_id)
    assert page.get_by_test_id("amount-paid").inner_text() == "$225.16"
    assert page.locator("form").count() == 0
    assert CheckoutSession.objects.filter(recovered_from_id=created["id"]).count() == 1
    assert Contract.objects.count() == 1
    shoot(page, "recovery-already-bought")


# --- 3. guests the merchant knows nothing about -------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_guest_known_by_email_only_is_asked_for_a_name(browser, merchant, shoot, javascript):
    created = merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id),
                       customer_email="ada@example.com")
    assert created["customer"] == {"email": "ada@example.com"}
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(created["url"])
        assert page.get_by_label("Email").input_value() == "ada@example.com"  # prefilled
        assert page.get_by_label("Full name").input_value() == ""
        if javascript:
            shoot(page, "guest-email-only")
        fill_card(page, "4242 4242 4242 4242")
        page.get_by_role("button", name=PAY).click()
        assert page.get_by_role("link", name=re.compile("^Full name:")).is_visible()  # the error summary
        assert page.get_by_label("Full name").get_attribute("aria-invalid") == "true"
        assert not Customer.objects.filter(email="ada@example.com").exists()

        page.get_by_label("Full name").fill("Ada Lovelace")
        page.get_by_label("Address", exact=True).fill("Unter den Linden 1")
        page.get_by_label("City").fill("Berlin")
        page.get_by_label("Country").select_option("DE")
        fill_card(page, "4242 4242 4242 4242")
        submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                                   f"https://merchant.example/thanks?session_id={created['id']}")
    finally:
        context.close()
    customer = Customer.objects.get(email="ada@example.com")
    assert CheckoutSession.objects.get(pk=created["id"]).customer_id == customer.pk
    assert customer.customer_name == "Ada Lovelace"


# --- 4. the phone layout ----------------------------------------------------------------------------


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_on_a_phone_the_order_summary_with_the_total_comes_before_the_form(page, merchant, shoot):
    created = merchant()
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(created["url"])

    summary = page.get_by_test_id("order-summary")
    assert summary.is_visible()
    assert page.get_by_test_id("summary-total").inner_text() == "$225.16"
    assert _box(page, ".order-summary")["y"] + _box(page, ".order-summary")["height"] <= _box(page, ".confirm-form")["y"]
    assert summary.get_attribute("open") is None  # collapsed: one line above the form
    assert not page.locator(".summary-lines").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(shoot_dir() / "phone-summary-collapsed.png"), full_page=False)

    summary.locator("summary").click()
    rows = page.locator(".summary-lines tbody tr")
    assert rows.count() == 3  # metered API calls are billed after the month, not today
    assert [rows.nth(i).locator("td").inner_text() for i in range(3)] == ["$49.00", "$60.00", "$99.00"]
    assert page.locator(".summary-lines tfoot tr.due td").inner_text() == "$225.16"
    page.screenshot(path=str(shoot_dir() / "phone-summary-open.png"), full_page=False)

    page.set_viewport_size({"width": 1280, "height": 900})  # wide screens show the details beside the form
    assert not summary.is_visible() and page.get_by_test_id("amount-due").is_visible()


def shoot_dir():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es", "ja"])
def test_on_a_phone_the_cancel_buttons_words_stay_inside_it(page, merchant, locale):
    created = merchant(locale=locale)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(created["url"])
    button = page.locator(".cancel-form button")
    inside = page.evaluate("""() => {
        const b = document.querySelector('.cancel-form button'), card = document.querySelector('.pay');
        const r = b.getBoundingClientRect(), c = card.getBoundingClientRect();
        return {fits: b.scrollWidth <= b.clientWidth, within: r.left >= c.left && r.right <= c.right,
                lines: Math.round(r.height / parseFloat(getComputedStyle(b).lineHeight || 24))};
    }""")
    assert inside["fits"] and inside["within"], inside
    assert button.bounding_box()["height"] < 60  # one line of text in a 44–48 px button


# --- 6. accessibility of every state ------------------------------------------------------------------


def test_axe_reports_nothing_on_the_open_page_its_errors_and_a_code_applied(axe_page, merchant):
    page = axe_page
    created = _guest(merchant, allow_promotion_codes=True)
    _code(created)
    page.goto(created["url"])
    assert page.locator("header .test-banner").is_visible()  # inside the banner landmark
    assert_accessible(page)

    page.get_by_role("button", name=PAY).click()  # nothing typed: the error summary
    page.wait_for_selector(".error-summary")
    assert_accessible(page)

    page.get_by_label("Promotion code").fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    page.locator("#id_promotion_code_error").wait_for()
    assert_accessible(page)

    page.get_by_label("Promotion code").fill("LAUNCH25")
    page.get_by_role("button", name="Apply").click()
    page.get_by_test_id("promotion-applied").wait_for()
    page.set_viewport_size({"width": 375, "height": 900})
    page.get_by_test_id("order-summary").locator("summary").click()
    assert_accessible(page)


def test_axe_reports_nothing_on_the_completed_already_bought_and_expired_pages(axe_page, merchant):
    page = axe_page
    created = merchant(after_expiration={"recovery": {"enabled": True}})
    CheckoutSession.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    page.goto(created["url"])
    assert_accessible(page)  # expired, with the recovery link

    page.get_by_role("link", name="Start again with the same offer").click()
    fill_card(page, "4242 4242 4242 4242")
    lands_on_merchant(page, page.get_by_role("button", name=PAY).click)
    recovered = CheckoutSession.objects.get(recovered_from_id=created["id"])
    page.goto(f"{created['url']}")  # the expired session's page still says expired
    page.goto(page.url + "/recover")
    assert page.get_by_role("heading", level=1).inner_text() == "You already completed this purchase"
    assert_accessible(page)
    page.goto(created["url"].replace(created["url"].rsplit("/", 1)[1], recovered.token))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")
    assert_accessible(page)
