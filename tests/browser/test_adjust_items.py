"""Adjustable quantities and optional add-ons (#27) in Debian's Chromium: a merchant lets the
buyer choose 1–20 seats and drop the onboarding add-on; the buyer changes them on the hosted
page, with JavaScript (re-priced in place, nothing typed lost) and without (the adjust endpoint
redirects back), then pays exactly the estimate shown, with those items. A quantity out of range
is refused on the page and changes nothing. axe-core on each state; screenshots under
docs/screenshots/adjust-items-*.png."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.enums import BillingType, PricingModel
from billing.models import Invoice
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from tests.billing.factories import PlanFactory, PlanItemFactory, PricingFactory, ProductFactory
from tests.browser.conftest import assert_accessible, lands_on_merchant
from tests.browser.test_checkout_pages import fill_card
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THANKS = "https://merchant.example/thanks?session_id={CHECKOUT_SESSION_ID}"
# Team: platform 49.00 + 5 seats × 12.00 a month, onboarding 99.00 once (optional); 8.25 % tax.
DUE = "$225.16"  # (49 + 60 + 99) × 1.0825
TEN_SEATS_DUE = "$290.11"  # (49 + 120 + 99) × 1.0825
TEN_SEATS_NO_ONBOARDING_DUE = "$182.94"  # (49 + 120) × 1.0825


@pytest.fixture
def merchant(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(organization=org, name="Acme Cloud Inc.", tax_rate=Decimal("8.25"),
                                   is_default=True)
    platform = ProductFactory(organization=org, name="Platform fee")
    seats = ProductFactory(organization=org, name="Seats")
    onboarding = ProductFactory(organization=org, name="Onboarding")
    plan = PlanFactory(organization=org, name="Team")
    PlanItemFactory(plan=plan, product=platform, position=0, pricing=PricingFactory(
        organization=org, product=platform, pricing_model=PricingModel.FLAT_FEE, unit_amount=Decimal("49.00")))
    PlanItemFactory(plan=plan, product=seats, position=1, default_quantity=5, min_quantity=1, max_quantity=50,
                    pricing=PricingFactory(organization=org, product=seats, unit_amount=Decimal("12.00")))
    PlanItemFactory(plan=plan, product=onboarding, position=2, min_quantity=0, is_optional=True,
                    pricing=PricingFactory(organization=org, product=onboarding, pricing_model=PricingModel.FLAT_FEE,
                                           billing=BillingType.ONE_TIME, cadence="", unit_amount=Decimal("99.00")))
    customer = CustomerFactory(organization=org, business_entity=entity, customer_name="Grace Hopper",
                               email="grace@example.com")
    client = api_client_for(org)

    def create(**body) -> dict:
        response = client.post("/api/v1/checkout-sessions", {
            "plan_id": str(plan.id), "customer_id": str(customer.id), "start_date": "2027-01-15",
            "product_overrides": [
                {"product_id": str(seats.id), "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 20}},
                {"product_id": str(onboarding.id), "optional": True}],
            "success_url": THANKS, "cancel_url": "https://merchant.example/pricing", **body}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    create.entity, create.seats, create.platform = entity, seats, platform
    return create


def _guest(merchant):
    return merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id))


def _assert_billed_as_shown(created, merchant, total):
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.status == SessionStatus.COMPLETED
    shown = session.estimates["current_invoice"]
    invoice = Invoice.objects.get(checkout_session=session)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal(shown["subtotal"]), Decimal(shown["tax"]), Decimal(shown["total"]))
    assert invoice.total == Decimal(total)
    items = {item.product_id: item.quantity for item in session.contract.phases.get().items.all()}
    assert items == {merchant.platform.id: 1, merchant.seats.id: 10}


def test_with_javascript_quantity_and_add_on_reprice_in_place_and_keep_what_was_typed(page, merchant, shoot):
    created = _guest(merchant)
    page.goto(created["url"])
    box = page.get_by_role("group", name="Your items")
    quantity = box.get_by_role("spinbutton", name="Quantity of Seats")
    expect(quantity).to_have_value("5")
    expect(box.get_by_role("checkbox", name="Add Onboarding")).to_be_checked()
    expect(page.get_by_role("button", name="Update price")).to_be_hidden()  # a change does it
    expect(page.get_by_test_id("amount-due")).to_have_text(DUE)
    shoot(page, "adjust-items-open")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("Country").select_option("US")
    fill_card(page, "4242 4242 4242 4242")
    loads = []
    page.on("load", lambda _page: loads.append(1))

    quantity.fill("10")
    quantity.press("Enter")

    expect(page.get_by_test_id("amount-due")).to_have_text(TEN_SEATS_DUE)
    expect(box.get_by_role("spinbutton", name="Quantity of Seats")).to_be_focused()
    assert CheckoutSession.objects.get(pk=created["id"]).estimates["current_invoice"]["total"] == "290.11"

    box.get_by_role("checkbox", name="Add Onboarding").uncheck()

    expect(page.get_by_test_id("amount-due")).to_have_text(TEN_SEATS_NO_ONBOARDING_DUE)
    expect(box.get_by_role("checkbox", name="Add Onboarding")).not_to_be_checked()
    expect(box.get_by_role("checkbox", name="Add Onboarding")).to_be_focused()
    expect(page.get_by_role("button", name=f"Pay {TEN_SEATS_NO_ONBOARDING_DUE}")).to_be_visible()
    assert loads == []  # no page load: everything typed is still there, the card number too
    assert page.get_by_label("Full name").input_value() == "Ada Lovelace"
    assert page.get_by_label("City").input_value() == "Austin"
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"
    shoot(page, "adjust-items-changed")

    request = lands_on_merchant(page, page.get_by_role("button", name=f"Pay {TEN_SEATS_NO_ONBOARDING_DUE}").click)

    assert request.url == THANKS.replace("{CHECKOUT_SESSION_ID}", created["id"])
    _assert_billed_as_shown(created, merchant, "182.94")


def test_with_javascript_a_quantity_out_of_range_is_refused_in_place(page, merchant, shoot):
    created = merchant()
    page.goto(created["url"])
    quantity = page.get_by_role("spinbutton", name="Quantity of Seats")

    quantity.fill("21")
    quantity.press("Enter")

    error = page.locator(f"#id_quantity_{merchant.seats.id}_error")
    expect(error).to_have_text("Choose a quantity from 1 to 20.")
    expect(page.get_by_role("spinbutton", name="Quantity of Seats")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("amount-due")).to_have_text(DUE)
    shoot(page, "adjust-items-out-of-range")
    assert CheckoutSession.objects.get(pk=created["id"]).estimates["current_invoice"]["total"] == "225.16"


def test_without_javascript_update_price_posts_and_comes_back_repriced(browser, merchant, shoot):
    created = merchant()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(created["url"])
        page.get_by_role("spinbutton", name="Quantity of Seats").fill("10")
        page.get_by_role("checkbox", name="Add Onboarding").uncheck()
        expect(page.get_by_test_id("amount-due")).to_have_text(DUE)  # nothing happens by itself

        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Update price").click()

        response = navigation.value
        assert response.url == created["url"]  # redirected back to the page itself
        assert response.request.redirected_from.response().status == 302
        expect(page.get_by_test_id("amount-due")).to_have_text(TEN_SEATS_NO_ONBOARDING_DUE)
        expect(page.get_by_role("spinbutton", name="Quantity of Seats")).to_have_value("10")
        expect(page.get_by_role("checkbox", name="Add Onboarding")).not_to_be_checked()
        shoot(page, "adjust-items-no-javascript")
        fill_card(page, "4242 4242 4242 4242")
        request = lands_on_merchant(page, page.get_by_role("button", name=f"Pay {TEN_SEATS_NO_ONBOARDING_DUE}").click)
        assert request.url == THANKS.replace("{CHECKOUT_SESSION_ID}", created["id"])
    finally:
        context.close()
    _assert_billed_as_shown(created, merchant, "182.94")


def test_without_javascript_out_of_range_and_forged_lines_are_refused_on_the_page(browser, merchant):
    created = merchant()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(created["url"])
        page.get_by_role("spinbutton", name="Quantity of Seats").fill("0")
        page.get_by_role("button", name="Update price").click()
        expect(page.locator(f"#id_quantity_{merchant.seats.id}_error")).to_have_text(
            "Choose a quantity from 1 to 20.")
        expect(page.get_by_test_id("amount-due")).to_have_text(DUE)

        # A line the merchant did not make adjustable, put in the form by hand.
        page.get_by_role("spinbutton", name="Quantity of Seats").evaluate(
            f"(input) => {{ input.name = 'quantity_{merchant.platform.id}'; input.value = '3'; }}")
        page.get_by_role("button", name="Update price").click()
        expect(page.locator("#adjust-items-error")).to_have_text("This item cannot be changed in this checkout.")
        expect(page.get_by_test_id("amount-due")).to_have_text(DUE)
    finally:
        context.close()
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.estimates["current_invoice"]["total"] == "225.16"
    assert session.product_overrides == created["product_overrides"]


def test_axe_reports_nothing_on_the_items_box_in_each_state(axe_page, merchant):
    created = _guest(merchant)
    axe_page.goto(created["url"])
    assert_accessible(axe_page)
    quantity = axe_page.get_by_role("spinbutton", name="Quantity of Seats")
    quantity.fill("10")
    quantity.press("Enter")
    expect(axe_page.get_by_test_id("amount-due")).to_have_text(TEN_SEATS_DUE)
    assert_accessible(axe_page)
    quantity = axe_page.get_by_role("spinbutton", name="Quantity of Seats")
    quantity.fill("99")
    quantity.press("Enter")
    expect(axe_page.locator(f"#id_quantity_{merchant.seats.id}_error")).to_be_visible()
    assert_accessible(axe_page)
