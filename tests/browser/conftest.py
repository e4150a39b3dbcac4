"""Real-browser fixtures: Debian's Chromium driven by Playwright's sync API (BROWSER.md)."""

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # The merchant's site does not exist here: requests to it fail fast, after we saw them.
    "--host-resolver-rules=MAP merchant.example ~NOTFOUND",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


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
    """Save the page as ``docs/screenshots/<name>-desktop.png`` and ``-phone.png`` (390 px)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        page.set_viewport_size(DESKTOP)

    return take
