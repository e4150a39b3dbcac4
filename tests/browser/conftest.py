"""Real-browser fixtures: Debian's Chromium driven by Playwright's sync API (BROWSER.md)."""

import os
import re
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # The merchant's site does not exist here: requests to it fail fast, after we saw them.
    "--host-resolver-rules=MAP merchant.example ~NOTFOUND",
]
MERCHANT = re.compile(r"https://merchant\.example/.*")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Where screenshots go: docs/screenshots only when asked (``make screenshots``), so that running the
# suite never rewrites files of the checkout; else a scratch folder (the tests still take them).
SCREENSHOTS = (Path(settings.BASE_DIR) / os.environ["SCREENSHOT_DIR"] if os.environ.get("SCREENSHOT_DIR")
               else Path(tempfile.gettempdir()) / "checkout-screenshots")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def shoot():
    """Save the page as ``<SCREENSHOTS>/<name>-desktop.png`` and ``-phone.png`` (390 px)."""

    def take(page, name: str):
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        page.set_viewport_size(DESKTOP)

    return take


AXE_JS = None  # axe-core's axe.min.js, shipped by the axe-playwright-python package (a dev dependency)


def _axe_script() -> str:
    global AXE_JS
    if AXE_JS is None:
        import axe_playwright_python

        AXE_JS = str(Path(axe_playwright_python.__file__).with_name("axe.min.js"))
    return AXE_JS


@pytest.fixture
def axe_page(browser):
    """A page whose context ignores the hosted page's CSP, so axe-core can be injected
    (BROWSER.md): only for accessibility checks, never for the flows CSP guards."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def axe_violations(page, impacts=("critical", "serious", "moderate")) -> list[tuple[str, str, list[str]]]:
    """axe-core's violations of those impacts on the page as it is: (rule, impact, targets)."""
    page.add_script_tag(path=_axe_script())
    assert page.evaluate("typeof window.axe") == "object"  # a blocked injection would report nothing
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [str(node["target"]) for node in v["nodes"]])
            for v in result["violations"] if v["impact"] in impacts]


def assert_accessible(page, widths=(DESKTOP["width"], 375)):
    """0 critical, serious and moderate violations at desktop and phone widths."""
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        assert axe_violations(page) == [], width
    page.set_viewport_size(DESKTOP)


def type_stripe_card(page, number: str):
    """Type a card into Stripe's card element as localstripe's Stripe.js renders it (its inputs
    are named by placeholder)."""
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("31")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("94105")


def lands_on_merchant(page, action):
    """Run ``action`` (a click, a key press) and return the request that sent the browser to the
    merchant's site, asserting it came from our 302.

    The merchant's site does not resolve here, so Chromium goes on to its own error page. Wait
    until it has: a test's next ``goto`` would otherwise be interrupted by that late navigation.
    Waiting can itself see the failed navigation (ERR_NAME_NOT_RESOLVED) and end early; then the
    error page comes next, and the wait is made again. (A ``page.route`` answer is no help: routes
    do not see the target of a redirect.)"""
    with page.expect_request(MERCHANT) as landed:
        action()
    request = landed.value
    assert request.redirected_from is not None
    assert request.redirected_from.response().status == 302
    for attempt in range(3):
        try:
            page.wait_for_url(re.compile(r"^chrome-error://"))
            break
        except PlaywrightError as error:
            if "ERR_NAME_NOT_RESOLVED" not in str(error) or attempt == 2:
                raise
    return request
