"""The billing-interval switch (#27) in Debian's Chromium: a merchant offers its Team plan
billed monthly or yearly; the buyer switches on the hosted page, with JavaScript (re-priced in
place, nothing typed lost) and without (the adjust endpoint redirects back), then pays exactly
the estimate shown, on the chosen plan. axe-core on both states; screenshots under
docs/screenshots/plan-switch-*.png."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.enums import BillingType, PricingModel
from billing.models import Contract, Invoice
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
# Team: platform 49.00 + 5 seats × 12.00 = 109.00 a month (1308.00 a year) or platform 490.00
# + 5 seats × 120.00 = 1090.00 a year: 218.00 saved (16.67 %, shown 16 %). Onboarding 99.00 once.
MONTHLY_DUE, YEARLY_DUE = "$225.16", "$1,287.09"  # (109 + 99) and (1090 + 99), plus 8.25 % tax


@pytest.fixture
def merchant(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(organization=org, name="Acme Cloud Inc.", tax_rate=Decimal("8.25"),
                                   is_default=True)
    platform = ProductFactory(organization=org, name="Platform fee")
    seats = ProductFactory(organization=org, name="Seats")
    onboarding = PricingFactory(organization=org, product__organization=org, product__name="Onboarding",
                                pricing_model=PricingModel.FLAT_FEE, billing=BillingType.ONE_TIME, cadence="",
                                unit_amount=Decimal("99.00"))
    plans = {}
    for name, cadence, flat, seat in (("Team", "P1M", "49.00", "12.00"), ("Team yearly", "P1Y", "490.00", "120.00")):
        plan = plans[cadence] = PlanFactory(organization=org, name=name)
        PlanItemFactory(plan=plan, product=platform, position=0, pricing=PricingFactory(
            organization=org, product=platform, pricing_model=PricingModel.FLAT_FEE, cadence=cadence,
            unit_amount=Decimal(flat)))
        PlanItemFactory(plan=plan, product=seats, position=1, default_quantity=5, max_quantity=50, pricing=PricingFactory(
            organization=org, product=seats, cadence=cadence, unit_amount=Decimal(seat)))
        PlanItemFactory(plan=plan, product=onboarding.product, pricing=onboarding, position=2)
    customer = CustomerFactory(organization=org, business_entity=entity, customer_name="Grace Hopper",
                               email="grace@example.com")
    client = api_client_for(org)

    def create(**body) -> dict:
        response = client.post("/api/v1/checkout-sessions", {
            "plan_id": str(plans["P1M"].id), "plan_choices": [str(plans["P1M"].id), str(plans["P1Y"].id)],
            "customer_id": str(customer.id), "start_date": "2027-01-15", "success_url": THANKS,
            "cancel_url": "https://merchant.example/pricing", **body}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    create.entity, create.yearly = entity, plans["P1Y"]
    return create


def _guest(merchant):
    return merchant(customer_id=None, guest_checkout=True, business_entity_id=str(merchant.entity.id))


def _assert_billed_as_shown(created, yearly_plan):
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.status == SessionStatus.COMPLETED
    shown = session.estimates["current_invoice"]
    invoice = Invoice.objects.get(checkout_session=session)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal(shown["subtotal"]), Decimal(shown["tax"]), Decimal(shown["total"]))
    assert invoice.total == Decimal("1287.09")
    assert Contract.objects.get(pk=session.contract_id).plan_id == yearly_plan.id


def test_with_javascript_switching_to_yearly_reprices_in_place_and_keeps_what_was_typed(page, merchant, shoot):
    created = _guest(merchant)
    page.goto(created["url"])
    switch = page.get_by_role("group", name="Billing interval")
    expect(switch.get_by_role("radio", name="Billed monthly")).to_be_checked()
    expect(page.get_by_test_id("plan-saving")).to_have_text("Save $218.00 a year (16%)")
    expect(page.get_by_role("button", name="Update price")).to_be_hidden()  # the radios do it
    expect(page.get_by_test_id("amount-due")).to_have_text(MONTHLY_DUE)
    shoot(page, "plan-switch-monthly")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("Country").select_option("US")
    fill_card(page, "4242 4242 4242 4242")
    loads = []
    page.on("load", lambda _page: loads.append(1))

    switch.get_by_role("radio", name="Billed yearly").check()

    expect(page.get_by_test_id("amount-due")).to_have_text(YEARLY_DUE)
    expect(page.get_by_role("radio", name="Billed yearly")).to_be_checked()
    expect(page.get_by_role("radio", name="Billed yearly")).to_be_focused()
    expect(page.get_by_role("button", name=f"Pay {YEARLY_DUE}")).to_be_visible()
    assert loads == []  # no page load: everything typed is still there, the card number too
    assert page.get_by_label("Full name").input_value() == "Ada Lovelace"
    assert page.get_by_label("City").input_value() == "Austin"
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"
    assert str(CheckoutSession.objects.get(pk=created["id"]).plan_id) == str(merchant.yearly.id)
    shoot(page, "plan-switch-yearly")

    request = lands_on_merchant(page, page.get_by_role("button", name=f"Pay {YEARLY_DUE}").click)

    assert request.url == THANKS.replace("{CHECKOUT_SESSION_ID}", created["id"])
    _assert_billed_as_shown(created, merchant.yearly)


def test_without_javascript_the_switch_posts_and_comes_back_repriced(browser, merchant, shoot):
    created = merchant()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(created["url"])
        page.get_by_role("radio", name="Billed yearly").check()
        expect(page.get_by_test_id("amount-due")).to_have_text(MONTHLY_DUE)  # nothing happens by itself

        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Update price").click()

        response = navigation.value
        assert response.url == created["url"]  # redirected back to the page itself
        assert response.request.redirected_from.response().status == 302
        expect(page.get_by_test_id("amount-due")).to_have_text(YEARLY_DUE)
        expect(page.get_by_role("radio", name="Billed yearly")).to_be_checked()
        shoot(page, "plan-switch-no-javascript")
        fill_card(page, "4242 4242 4242 4242")
        request = lands_on_merchant(page, page.get_by_role("button", name=f"Pay {YEARLY_DUE}").click)
        assert request.url == THANKS.replace("{CHECKOUT_SESSION_ID}", created["id"])
    finally:
        context.close()
    _assert_billed_as_shown(created, merchant.yearly)


def test_without_javascript_a_forged_plan_is_refused_on_the_page(browser, merchant):
    created = merchant()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(created["url"])
        # A plan that is not offered, put in the form by hand.
        page.locator("#id_plan_2").evaluate("(radio) => { radio.value = '00000000-0000-0000-0000-000000000000'; }")
        page.get_by_role("radio", name="Billed yearly").check()
        page.get_by_role("button", name="Update price").click()
        expect(page.locator("#plan-choices-error")).to_have_text("This plan is not offered in this checkout.")
        expect(page.get_by_test_id("amount-due")).to_have_text(MONTHLY_DUE)
    finally:
        context.close()
    session = CheckoutSession.objects.get(pk=created["id"])
    assert session.estimates["current_invoice"]["total"] == "225.16"


def test_axe_reports_nothing_on_the_switch_before_and_after_switching(axe_page, merchant):
    created = _guest(merchant)
    axe_page.goto(created["url"])
    assert_accessible(axe_page)
    axe_page.get_by_role("radio", name="Billed yearly").check()
    expect(axe_page.get_by_test_id("amount-due")).to_have_text(YEARLY_DUE)
    assert_accessible(axe_page)
