"""Ops screens in a real browser (Debian's Chromium), issue #29: staff log in with an
authenticator code, read the dashboard over 30 days of seeded sessions (funnel, failure reasons,
MRR, against the 30 days before), and follow one session's story on its timeline. Screenshots:
docs/screenshots/admin-login.png, dashboard.png, admin-sessions.png, session-timeline.png."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from billing.models import Payment
from checkout.dashboard import ops_dashboard_get
from checkout.models import CheckoutSession, PageView
from checkout.tokens import session_token_new
from tests.billing.factories import PlanFactory
from tests.browser.conftest import DESKTOP, SCREENSHOTS
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOURCES = [("google", "brand"), ("google", "spring_sale"), ("newsletter", "november"), ("linkedin", "webinar"),
           ("partner", "acme-resellers"), (None, None)]
PLANS = [("Starter (monthly)", "USD", Decimal("53.06")), ("Growth (monthly)", "USD", Decimal("285.78")),
         ("Growth (annual)", "USD", Decimal("2857.80")), ("Growth EUR (monthly)", "EUR", Decimal("264.00"))]


DECLINES = ["card_declined", "insufficient_funds", "expired_card", "authentication_abandoned"]


def seed_month(now, *, days=60) -> None:
    """About 2,000 live sessions over the last 60 days (the dashboard compares 30 with the 30
    before): busier on weekdays, growing, each plan and source converting at its own rate; most
    pages opened, some declines and abandoned 3-D Secure on the way."""
    rng = random.Random(15)
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(organization=org, is_default=True)
    customer = CustomerFactory(organization=org, business_entity=entity)
    plans = [(PlanFactory(organization=org, name=name, currency=currency), currency, total)
             for name, currency, total in PLANS]
    rows = []
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in range(days - 1, -1, -1):
        day = midnight - datetime.timedelta(days=days_ago)
        minutes = int((now - midnight).total_seconds() // 60) if days_ago == 0 else 24 * 60
        volume = int((20 + (days - 1 - days_ago) / 2) * (0.6 if day.weekday() >= 5 else 1.0))
        for _ in range(volume):
            plan, currency, total = rng.choices(plans, weights=[5, 3, 1, 1])[0]
            source, campaign = rng.choices(SOURCES, weights=[6, 3, 3, 2, 1, 4])[0]
            created = day + datetime.timedelta(minutes=rng.randrange(0, max(minutes, 1)))
            converts = 0.35 + (0.15 if source == "newsletter" else 0) + (0.1 if plan.name.startswith("Starter") else 0)
            roll = rng.random()
            if days_ago == 0 and roll < 0.4:
                status = "open"
            elif roll < converts:
                status = "completed"
            elif roll < converts + 0.12:
                status = "cancelled"
            else:
                status = "expired"
            rows.append(CheckoutSession(
                organization=org, business_entity=entity, customer=customer, plan=plan, livemode=True,
                checkout_type="new_contract", status=status, token=session_token_new(), currency=currency,
                start_date=created.date(), expires_at=created + datetime.timedelta(hours=24),
                attribution={"utm_source": source, "utm_campaign": campaign} if source else None,
                utm_source=source, utm_campaign=campaign, amount_total=total,
                estimates={"next_invoice": {"currency": currency, "line_items": [
                    {"kind": "recurring", "cadence": "P1Y" if "annual" in plan.name else "P1M",
                     "amount": str(total)}]}}))
    CheckoutSession.objects.bulk_create(rows)
    # created_at is auto_now_add: set each row's from its expiry (24 hours after it).
    CheckoutSession.objects.filter(organization=org).update(created_at=F("expires_at") - datetime.timedelta(hours=24))
    views, payments = [], []
    for session in rows:
        created = session.expires_at - datetime.timedelta(hours=24)
        opened = session.status in ("completed",) or rng.random() < 0.7
        if opened:
            views.append(PageView(checkout_session=session, opened_at=created + datetime.timedelta(minutes=2)))
        if opened and (session.status == "completed" or rng.random() < 0.4):
            failures = rng.choices([0, 1, 2], weights=[6, 3, 1])[0]
            for _ in range(failures):
                payments.append(Payment(organization=org, checkout_session=session, method="card", status="failed",
                                        amount=session.amount_total, currency=session.currency, card_last4="0002",
                                        failure_code=rng.choices(DECLINES, weights=[5, 3, 1, 2])[0]))
            if session.status == "completed":
                payments.append(Payment(organization=org, checkout_session=session, method="card",
                                        status="succeeded", amount=session.amount_total, currency=session.currency,
                                        card_last4="4242"))
    PageView.objects.bulk_create(views)
    Payment.objects.bulk_create(payments)


@pytest.fixture
def ops_login(live_server, django_user_model):
    """ops logs in on the admin's login page with password and authenticator code."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "ops-password")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    def login(page, screenshot: bool = False):
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill("ops")
        page.get_by_label("Password").fill("ops-password")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label("Authenticator code").fill(f"{totp.token():06d}")
        if screenshot:
            page.screenshot(path=str(SCREENSHOTS / "admin-login.png"))
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/admin/")

    return login


def cells(row) -> list[str]:
    return [cell.inner_text() for cell in row.locator("td").all()]


def test_dashboard_from_the_admin_index_with_two_months_of_sessions(page, ops_login):
    now = timezone.now()
    seed_month(now)
    today = now.date()
    expected = ops_dashboard_get(livemode=True, first_day=today - datetime.timedelta(days=29), last_day=today)
    assert expected.current.funnel.created > 500 and expected.previous.funnel.created > 300

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ops_login(page, screenshot=True)
    page.get_by_role("link", name="Checkout dashboard").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Why did people not pay? Checkout dashboard"
    assert page.get_by_text("Live mode", exact=True).is_visible()  # the demo's test-only data would open on Test

    # Each chart is an image named by its title, with a table of its numbers beside it.
    for name in ("Checkout funnel", "Sessions per day, by how far they got", "Sessions per plan",
                 "Sessions per attribution source / campaign"):
        assert page.get_by_role("img", name=name).is_visible(), name
    funnel = page.get_by_role("table", name="Sessions at each step, and against the previous period")
    now_f, before_f = expected.current.funnel, expected.previous.funnel
    for step, value, before in (("Created", now_f.created, before_f.created), ("Page opened", now_f.opened,
                                before_f.opened), ("Payment attempted", now_f.attempted, before_f.attempted),
                                ("Completed", now_f.completed, before_f.completed)):
        row = cells(funnel.get_by_role("row", name=step, exact=False).first)
        assert (row[0], row[2]) == (f"{value:,}", f"{before:,}"), step
    reasons = page.get_by_role("table", name="Sessions per reason (a session may have several declines before "
                                             "it completes)")
    top_code, _attempts, sessions = expected.current.failures.declines[0]
    assert cells(reasons.get_by_role("row", name=f"Card declined: {top_code}"))[0] == f"{sessions:,}"
    assert cells(reasons.get_by_role("row", name="Expired without a page view"))[0] == \
        f"{expected.current.failures.expired_unopened:,}"
    money = page.get_by_role("table", name="Booked, and trials")
    assert cells(money.get_by_role("row", name="MRR booked, USD"))[0] == f"${expected.current.mrr['USD']:,.2f}"
    # The day table is folded away (the page stays short) and opens on a click.
    days = page.get_by_role("table", name="Sessions per day of creation")
    assert not days.is_visible()
    page.get_by_text("days with sessions, as a table").click()
    assert days.locator("tbody tr").count() == 30
    assert page.get_by_role("row", name="newsletter / november").first.is_visible()
    page.get_by_text("days with sessions, as a table").click()

    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollHeight") < 3400

    # The sessions list fits 1,400 px: no horizontal scrolling.
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(page.url.split("/admin/")[0] + "/admin/checkout/checkoutsession/")
    page.wait_for_selector("#result_list")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert page.evaluate("(() => { const r = document.querySelector('.results');"
                         " return r.scrollWidth <= r.clientWidth; })()")
    page.screenshot(path=str(SCREENSHOTS / "admin-sessions.png"))


def test_session_timeline_tells_one_story_and_copies_the_payment_link(page, ops_login, live_server, settings):
    from checkout.services.confirm import checkout_session_confirm
    from tests.checkout.factories import WebhookDeliveryFactory, WebhookEndpointFactory
    from tests.checkout.pages.helpers import card, priced_session

    settings.PUBLIC_BASE_URL = live_server.url
    session = priced_session()
    page.goto(f"{live_server.url}/pay/{session.token}")  # the customer opens the page
    checkout_session_confirm(session_id=session.pk, card=card("4000000000000002"))
    open_session = priced_session(organization=session.organization)
    endpoint = WebhookEndpointFactory(organization=session.organization, url="https://merchant.example/hooks")
    event = session.events.get()
    WebhookDeliveryFactory(endpoint=endpoint, event=event, status="pending", attempt_count=2,
                           next_attempt_at=timezone.now() + datetime.timedelta(seconds=30))

    ops_login(page)
    page.goto(f"{live_server.url}/admin/checkout/checkoutsession/{session.pk}/change/")
    assert page.get_by_role("heading", name="View checkout session").is_visible()
    timeline = page.get_by_role("list", name="Timeline")
    items = [item.inner_text() for item in timeline.get_by_role("listitem").all()]
    assert [next(t for t in ("Created", "Hosted page opened", "Payment attempt failed", "Event",
                             "Webhook retrying") if t in item) for item in items] == [
        "Created", "Hosted page opened", "Payment attempt failed", "Event", "Webhook retrying"]
    assert "card_declined" in items[2] and "(2 attempts)" in items[4]

    # Cancel the session from its page, then the timeline names who did it.
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.get_by_label("Reason").select_option("duplicate")
    page.get_by_role("button", name="Yes, cancel").click()
    assert page.locator(".messagelist").inner_text() == "Cancel: done.", page.locator(".messagelist").inner_text()
    assert timeline.get_by_role("listitem").last.inner_text().count("by ops") == 1
    page.screenshot(path=str(SCREENSHOTS / "session-timeline.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/checkout/checkoutsession/{open_session.pk}/change/")
    link = page.get_by_label("Payment link")
    assert link.input_value() == f"{live_server.url}/pay/{open_session.token}"
    page.get_by_role("button", name="Copy payment link").click()
    # The label changes after the clipboard promise resolves: wait for it (a loaded machine is slow).
    page.get_by_role("button", name="Copied").wait_for(state="visible", timeout=10_000)
