"""The hosted page in German and Japanese (issue #14, "Language"), in Debian's Chromium:
German chosen by the browser's Accept-Language, Japanese by the session's locale.
Screenshots: docs/screenshots/translated-de-desktop.png, translated-ja-desktop.png."""

import pytest

from tests.browser import test_checkout_pages
from tests.browser.conftest import DESKTOP, SCREENSHOTS

merchant = test_checkout_pages.merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def german_browser(browser):
    """A browser whose language is German: it sends Accept-Language: de-DE."""
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_open_page_in_german_from_the_browser_language(german_browser, merchant):
    page = german_browser
    created = merchant()
    assert created["locale"] == "auto"
    page.goto(created["url"])
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Ihre Bestellung").is_visible()
    # 49 + 5 × 12 + 99 = 208.00, plus 8.25 % tax: 225.16, written the German way
    assert page.get_by_test_id("amount-due").inner_text() == "225,16\xa0$"
    assert page.get_by_role("button", name="225,16\xa0$ bezahlen").is_visible()
    assert page.get_by_label("Kartennummer").is_visible()
    assert "Vereinigte Staaten" in page.locator(".site-footer").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "translated-de-desktop.png"), full_page=True)


def test_open_page_in_japanese_from_the_session_locale_over_a_german_browser(german_browser, merchant):
    page = german_browser
    created = merchant(locale="ja")
    assert created["locale"] == "ja"
    page.goto(created["url"])
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.get_by_role("heading", name="ご購入内容").is_visible()
    assert page.get_by_test_id("amount-due").inner_text() == "$225.16"
    assert page.get_by_role("button", name="$225.16を支払う").is_visible()
    assert page.get_by_label("カード番号").is_visible()
    assert "アメリカ合衆国" in page.locator(".site-footer").inner_text()
    # Glyphs need a CJK font (scripts/browser-deps.sh installs fonts-noto-cjk); checked by eye
    # on the screenshot: a width probe cannot tell glyphs from tofu boxes, both are 1em wide.
    page.screenshot(path=str(SCREENSHOTS / "translated-ja-desktop.png"), full_page=True)
