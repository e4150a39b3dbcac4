"""What customers expect at a checkout (issue #14), in Debian's Chromium: free trials,
promotion codes, consent, recovery, and the page fixes. Screenshots under docs/screenshots/."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Contract, CouponRedemption, Invoice, SavedPaymentMethod
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from tests.billing.factories import PromotionCodeFactory
from tests.browser import test_checkout_pages
from tests.browser.test_checkout_pages import PAY, fill_card, submit_and_expect_merchant

# The Acme Cloud merchant of the core page tests (a plan of every kind of item, 8.25 % tax).
merchant = test_checkout_pages.merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_free_trial_says_so_in_words_and_saves_a_card_for_the_first_payment(page, merchant, shoot):
    created = merchant(trial_period_days=14)
    assert created["estimates"]["current_invoice"]["amount_due"] == "0.00"
    page.goto(created["url"])

    intro = page.locator(".intro").inner_text()
    # 2027-01-15 + 14 days: free through 28 January, first payment (225.16 with tax) on the 29th.
    assert intro == ("Your free trial runs until Jan 28, 2027. Nothing is charged today: your first payment "
                     "of $225.16 is due on Jan 29, 2027 unless you cancel before then.")
    assert page.get_by_test_id("amount-due").inner_text() == "$0.00"
    assert page.get_by_role("heading", name="First payment after your trial").is_visible()
    assert page.get_by_text("Free during your trial, until Jan 28, 2027.").first.is_visible()
    # The card is collected now (nothing charged) and kept for the first payment, under the
    # agreement written next to the button.
    mandate = page.get_by_test_id("mandate").inner_text()
    assert mandate == ("By subscribing, you authorise Acme Cloud Inc. to charge this card $225.16 every month until you "
                       "cancel, starting on Jan 29, 2027.")
    fill_card(page, "4242 4242 4242 4242")
    shoot(page, "trial")

    submit_and_expect_merchant(page, page.get_by_role("button", name="Start subscription"),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.NO_PAYMENT_REQUIRED)
    assert Invoice.objects.get().total == Decimal("0.00")
    contract = Contract.objects.get()
    assert str(contract.trial_end) == "2027-01-29" and str(contract.next_billing_date) == "2027-01-29"
    method = SavedPaymentMethod.objects.get()
    assert (method.last4, method.mandate_text, contract.default_payment_method_id) == ("4242", mandate, method.pk)


def test_a_free_trial_asks_for_no_card_when_the_merchant_collects_one_only_if_required(page, merchant):
    created = merchant(trial_period_days=14, payment_method_collection="if_required")
    page.goto(created["url"])
    assert page.get_by_label("Card number").count() == 0 and page.get_by_test_id("mandate").count() == 0
    submit_and_expect_merchant(page, page.get_by_role("button", name="Confirm"),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.COMPLETED
    assert not SavedPaymentMethod.objects.exists()


def test_a_promotion_code_refused_then_applied_then_paid(page, merchant, shoot):
    created = merchant(allow_promotion_codes=True)
    session = CheckoutSession.objects.get(pk=created["id"])
    PromotionCodeFactory(coupon__organization=session.organization, coupon__name="Launch offer",
                         coupon__percent_off=Decimal("25"), code="LAUNCH25")
    page.goto(created["url"])
    assert page.get_by_test_id("amount-due").inner_text() == "$225.16"

    page.get_by_label("Promotion code").fill("LAUNCH2O")
    page.get_by_role("button", name="Apply").click()
    field = page.get_by_label("Promotion code")
    assert page.locator("#id_promotion_code_error").inner_text() == "This code is not valid."
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "LAUNCH2O"
    assert page.get_by_test_id("amount-due").inner_text() == "$225.16"
    shoot(page, "promotion-code-refused")

    field.fill("launch25")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(created["url"])
    assert page.get_by_test_id("promotion-applied").inner_text().startswith("Code LAUNCH25 applied: 25% off")
    # 208.00 − 25 % (52.00) = 156.00, tax 8.25 % = 12.87 → 168.87
    assert page.get_by_test_id("amount-due").inner_text() == "$168.87"
    assert page.locator(".details").get_by_text("-$52.00").first.is_visible()
    shoot(page, "promotion-code-applied")

    fill_card(page, "4242 4242 4242 4242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=re.compile(r"^Pay \$168\.87$")),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    assert Invoice.objects.get().total == Decimal("168.87")
    assert CouponRedemption.objects.count() == 1


def test_a_promotion_code_can_be_removed(page, merchant):
    created = merchant(allow_promotion_codes=True)
    session = CheckoutSession.objects.get(pk=created["id"])
    PromotionCodeFactory(coupon__organization=session.organization, code="TEN", coupon__percent_off=Decimal("10"))
    page.goto(created["url"])
    page.get_by_label("Promotion code").fill("TEN")
    page.get_by_role("button", name="Apply").click()  # re-priced in place (no page load)
    expect(page.get_by_role("button", name=PAY)).to_have_text("Pay $202.64")  # 208 − 10 % + 8.25 % tax
    page.get_by_role("button", name="Remove code").click()
    expect(page.get_by_role("button", name=PAY)).to_have_text("Pay $225.16")


def test_a_guests_vat_number_is_checked_on_the_form(page, merchant):
    created = merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id),
                       customer={"customer_name": "Ada Lovelace", "email": "ada@example.com",
                                 "address": {"line1": "Unter den Linden 1", "city": "Berlin", "zip_code": "10117",
                                             "country": "DE"}})
    page.goto(created["url"])
    page.get_by_label("Tax ID type (optional)").select_option("eu_vat")
    page.get_by_label("Tax ID (optional)").fill("DE123456789")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()

    field = page.get_by_label("Tax ID (optional)")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#id_tax_id_error").inner_text().endswith(
        "This is not a valid number for an EU VAT number (for example DE136695976).")
    assert page.get_by_role("link", name=re.compile("^Tax ID")).is_visible()  # in the error summary

    field.fill("136 695 976")  # without the prefix: the billing country's is used
    fill_card(page, "4242 4242 4242 4242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    from customers.models import Customer
    assert Customer.objects.get(email="ada@example.com").tax_info == [{"type": "eu_vat", "value": "DE136695976"}]


def test_consent_to_the_merchants_terms_is_required_and_stored_on_the_contract(page, merchant, shoot):
    merchant.entity.terms_url = "https://acme.example/terms"
    merchant.entity.save()
    created = merchant(consent_collection={"terms_of_service": "required"})
    page.goto(created["url"])
    checkbox = page.get_by_label("I agree to the terms of service of Acme Cloud Inc.")
    assert page.get_by_role("link", name="terms of service").get_attribute("href") == "https://acme.example/terms"

    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()
    assert page.locator("#id_accept_terms_error").inner_text() == "Accept the terms of service to continue."
    assert checkbox.get_attribute("aria-invalid") == "true"
    assert not Contract.objects.exists()
    shoot(page, "consent")

    checkbox.check()
    fill_card(page, "4242 4242 4242 4242")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    contract = Contract.objects.get()
    assert contract.terms_url == "https://acme.example/terms" and contract.terms_accepted_at is not None


def test_an_expired_session_with_recovery_starts_again_priced_today(page, merchant, shoot):
    import datetime

    from django.utils import timezone

    created = merchant(after_expiration={"recovery": {"enabled": True}})
    CheckoutSession.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    page.goto(created["url"])
    assert page.get_by_role("heading", level=1).inner_text() == "This checkout has expired"
    expired = CheckoutSession.objects.get(pk=created["id"])
    assert expired.recovery_url.endswith("/recover")
    shoot(page, "expired-recovery")

    page.get_by_role("link", name="Start again with the same offer").click()
    recovered = CheckoutSession.objects.get(recovered_from=expired)
    page.wait_for_url(re.compile(re.escape(recovered.token) + "$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Pro"
    assert page.get_by_test_id("amount-due").inner_text() == "$225.16"
    assert recovered.status == SessionStatus.OPEN and recovered.plan_id == expired.plan_id


def test_pay_by_invoice_completes_with_an_invoice_not_a_receipt_and_emails_it(page, merchant):
    from django.core import mail

    from checkout.services.receipts import checkout_session_receipts_send_pending

    created = merchant()
    page.goto(created["url"])
    page.get_by_label("Pay by invoice").check()
    submit_and_expect_merchant(page, page.get_by_role("button", name="Confirm and pay by invoice"),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    page.goto(created["url"])
    assert page.get_by_role("heading", name="Invoice", exact=True).is_visible()
    assert page.get_by_role("heading", name="Receipt").count() == 0
    assert page.get_by_test_id("email-note").inner_text() == "A copy has been sent to grace@example.com."
    checkout_session_receipts_send_pending(grace_seconds=0)  # the worker's sweep (no worker here)
    assert [m.subject for m in mail.outbox] == ["Invoice from Acme Cloud Inc.: $225.16 due"]


def test_a_phone_keypad_expiry_date_without_a_slash_pays(page, merchant):
    created = merchant()
    page.goto(created["url"])
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("1234")
    page.get_by_label("Security code (CVC)").fill("123")
    submit_and_expect_merchant(page, page.get_by_role("button", name=PAY),
                               f"https://merchant.example/thanks?session_id={created['id']}")
    assert CheckoutSession.objects.get(pk=created["id"]).status == SessionStatus.COMPLETED


def test_focus_moves_to_the_error_summary_after_a_refused_submit(page, merchant):
    created = merchant()
    page.goto(created["url"])
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_role("button", name=PAY).click()
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"


def test_metered_items_say_they_are_billed_on_usage(page, merchant):
    created = merchant(product_overrides=[])
    page.goto(created["url"])
    api_calls = page.locator(".items li", has_text="API calls")
    assert api_calls.locator(".item-qty").inner_text() == "Billed on usage (estimate: 2,500)"
    assert "Quantity" not in api_calls.inner_text()


def test_a_plan_switch_shows_the_plan_being_left(page, live_server, settings):
    from checkout.enums import CheckoutType
    from tests.checkout.pages.helpers import amendment_session

    settings.PUBLIC_BASE_URL = live_server.url
    session, _contract, phase = amendment_session(checkout_type=CheckoutType.PLAN_SWITCH)
    session.contract_phase_id = phase.pk
    session.save()
    page.goto(f"{live_server.url}/pay/{session.token}")
    assert page.locator(".intro").inner_text().startswith(
        f"You are leaving {phase.plan.name} for {session.plan.name} on Feb 1, 2026.")
