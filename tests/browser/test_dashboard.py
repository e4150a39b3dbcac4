"""The admin's conversion dashboard in a real browser (Debian's Chromium), with 30 days of seeded
sessions: ops staff log in, follow the link from the admin index, and read charts and tables.
The page is saved as docs/screenshots/dashboard.png."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.selectors import conversion_dashboard_get
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


def seed_month(now) -> None:
    """About 1,300 live sessions over the last 30 days: busier on weekdays, growing, each plan and
    source converting at its own rate."""
    rng = random.Random(15)
    org = OrganizationFactory(name="Acme Cloud")
    entity = BusinessEntityFactory(organization=org, is_default=True)
    customer = CustomerFactory(organization=org, business_entity=entity)
    plans = [(PlanFactory(organization=org, name=name, currency=currency), currency, total)
             for name, currency, total in PLANS]
    rows = []
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in range(29, -1, -1):
        day = midnight - datetime.timedelta(days=days_ago)
        minutes = int((now - midnight).total_seconds() // 60) if days_ago == 0 else 24 * 60
        volume = int((30 + (29 - days_ago)) * (0.6 if day.weekday() >= 5 else 1.0))
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
                utm_source=source, utm_campaign=campaign, amount_total=total))
    CheckoutSession.objects.bulk_create(rows)
    # created_at is auto_now_add: set each row's from its expiry (24 hours after it).
    CheckoutSession.objects.filter(organization=org).update(created_at=F("expires_at") - datetime.timedelta(hours=24))


@pytest.fixture
def ops_login(live_server, django_user_model):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "ops-password")

    def login(page):
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill("ops")
        page.get_by_label("Password").fill("ops-password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/admin/")

    return login


def test_dashboard_from_the_admin_index_with_a_month_of_sessions(page, ops_login):
    seed_month(timezone.now())
    expected = conversion_dashboard_get(livemode=True)

    ops_login(page)
    page.get_by_role("link", name="Conversion dashboard").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Conversion dashboard"

    # Each chart is an image named by its title, with a table of its numbers beside it.
    for name in ("Sessions per day, by what became of them", "Conversion rate per day", "Sessions per plan",
                 "Sessions per attribution source / campaign", "Revenue booked per day, USD",
                 "Revenue booked per day, EUR"):
        assert page.get_by_role("img", name=name).is_visible(), name
    daily = page.get_by_role("table", name="Sessions per day of creation")
    assert daily.locator("tbody tr").count() == 30
    total_row = daily.locator("tfoot tr td")
    assert total_row.nth(0).inner_text() == f"{expected.totals.created:,}"
    assert total_row.nth(1).inner_text() == f"{expected.totals.completed:,}"
    assert page.get_by_role("row", name="Growth (monthly) (Acme Cloud)").is_visible()
    assert page.get_by_role("row", name="newsletter / november").is_visible()
    usd = next(r for r in expected.revenue if r.currency == "USD")
    assert page.get_by_text(f"${usd.total:,.2f}").first.is_visible()

    page.set_viewport_size(DESKTOP)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
