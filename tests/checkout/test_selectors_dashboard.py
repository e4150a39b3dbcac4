"""The conversion dashboard's numbers (checkout.selectors.conversion_dashboard_get), exact against
seeded rows, and its queries answered from the session_dashboard index alone."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from checkout.selectors import Outcomes, conversion_dashboard_get, conversion_dashboard_querysets
from tests.billing.factories import PlanFactory
from tests.checkout.factories import checkout_session_created_at
from tests.core.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
FIRST_DAY = TODAY - datetime.timedelta(days=29)


def seed(org, *, created_at, status="open", livemode=True, plan=None, currency="USD", amount=None,
         source=None, campaign=None, **fields):
    return checkout_session_created_at(
        created_at, organization=org, status=status, livemode=livemode, currency=currency, amount_total=amount,
        plan=plan, utm_source=source, utm_campaign=campaign, **fields)


@pytest.fixture
def seeded():
    org = OrganizationFactory(name="Acme")
    other = OrganizationFactory(name="Globex")
    pro = PlanFactory(organization=org, name="Pro")
    eur = PlanFactory(organization=org, name="Pro EUR", currency="EUR")
    at = lambda days, hour=10: datetime.datetime.combine(  # noqa: E731
        TODAY - datetime.timedelta(days=days), datetime.time(hour), tzinfo=datetime.UTC)
    # Today: completed $100, expired, open (not due), processing.
    seed(org, created_at=at(0, 9), status="completed", plan=pro, amount=Decimal("100.00"), source="google",
         campaign="brand")
    seed(org, created_at=at(0, 9), status="expired", plan=pro, source="google", campaign="brand")
    seed(org, created_at=at(0, 11), status="open", plan=pro, expires_at=NOW + datetime.timedelta(hours=1))
    seed(org, created_at=at(0, 11), status="processing", plan=pro, amount=Decimal("7.00"))
    # Yesterday: completed €50 and $0.50 (another plan), cancelled.
    seed(org, created_at=at(1), status="completed", plan=eur, currency="EUR", amount=Decimal("50.00"),
         source="newsletter", campaign="spring")
    seed(org, created_at=at(1), status="completed", plan=None, amount=Decimal("0.50"), source="newsletter",
         campaign="spring")
    seed(org, created_at=at(1), status="cancelled", plan=pro, source="google", campaign="brand")
    # Two days ago: open but past its expiry, not swept yet: counted as expired.
    seed(org, created_at=at(2), status="open", plan=pro, expires_at=NOW - datetime.timedelta(minutes=5))
    # The window's first instant (included) and the instant before it (not).
    first = datetime.datetime.combine(FIRST_DAY, datetime.time.min, tzinfo=datetime.UTC)
    seed(org, created_at=first, status="completed", plan=pro, amount=Decimal("10.00"))
    seed(org, created_at=first - datetime.timedelta(microseconds=1), status="completed", plan=pro,
         amount=Decimal("999.00"))
    # Not in the live view: a test-mode session; another organization's session.
    seed(org, created_at=at(0), status="completed", livemode=False, plan=pro, amount=Decimal("5.00"))
    seed(other, created_at=at(0), status="completed", amount=Decimal("20.00"),
         plan=PlanFactory(organization=other, name="Basic"))
    return org, other, pro, eur


def test_dashboard_counts_per_day_exactly(seeded):
    org, *_ = seeded
    dashboard = conversion_dashboard_get(livemode=True, organization_id=org.pk, now=NOW)
    assert (dashboard.first_day, dashboard.last_day) == (FIRST_DAY, TODAY)
    days = dict(dashboard.days)
    assert len(dashboard.days) == 30 and list(days) == sorted(days)
    assert days[TODAY] == Outcomes(created=4, completed=1, expired=1, cancelled=0)
    assert days[TODAY].still_open == 2 and days[TODAY].conversion == Decimal("0.25")
    assert days[TODAY - datetime.timedelta(days=1)] == Outcomes(created=3, completed=2, expired=0, cancelled=1)
    assert days[TODAY - datetime.timedelta(days=2)] == Outcomes(created=1, completed=0, expired=1, cancelled=0)
    assert days[FIRST_DAY] == Outcomes(created=1, completed=1)
    assert days[TODAY - datetime.timedelta(days=5)] == Outcomes() and Outcomes().conversion is None
    assert dashboard.totals == Outcomes(created=9, completed=4, expired=2, cancelled=1)


def test_dashboard_per_plan_and_source(seeded):
    org, _other, pro, eur = seeded
    dashboard = conversion_dashboard_get(livemode=True, organization_id=org.pk, now=NOW)
    plans = {(p.plan_id, p.plan_name, p.organization_name): p.outcomes for p in dashboard.plans}
    assert plans == {
        (pro.pk, "Pro", "Acme"): Outcomes(created=7, completed=2, expired=2, cancelled=1),
        (eur.pk, "Pro EUR", "Acme"): Outcomes(created=1, completed=1),
        (None, "", ""): Outcomes(created=1, completed=1),
    }
    assert dashboard.plans[0].plan_id == pro.pk  # most sessions first
    sources = {(s.utm_source, s.utm_campaign): s.outcomes for s in dashboard.sources}
    assert sources == {
        ("google", "brand"): Outcomes(created=3, completed=1, expired=1, cancelled=1),
        ("newsletter", "spring"): Outcomes(created=2, completed=2),
        (None, None): Outcomes(created=4, completed=1, expired=1),
    }


def test_dashboard_revenue_per_currency_counts_completed_sessions_only(seeded):
    org, *_ = seeded
    dashboard = conversion_dashboard_get(livemode=True, organization_id=org.pk, now=NOW)
    revenue = {r.currency: r for r in dashboard.revenue}
    assert set(revenue) == {"EUR", "USD"}
    usd = revenue["USD"]
    # $100 today, $0.50 yesterday, $10 on the first day; not the processing $7, nor the $999 outside.
    assert (usd.total, usd.completed) == (Decimal("110.50"), 3)
    by_day = dict(usd.by_day)
    assert len(by_day) == 30 and by_day[TODAY] == Decimal("100.00") and by_day[FIRST_DAY] == Decimal("10.00")
    assert by_day[TODAY - datetime.timedelta(days=1)] == Decimal("0.50")
    assert by_day[TODAY - datetime.timedelta(days=3)] == 0
    assert (revenue["EUR"].total, revenue["EUR"].completed) == (Decimal("50.00"), 1)


def test_dashboard_mode_and_organization_filters(seeded):
    org, other, *_ = seeded
    everyone = conversion_dashboard_get(livemode=True, now=NOW)
    assert everyone.totals.created == 10 and {r.currency: r.total for r in everyone.revenue}["USD"] == Decimal("130.50")
    assert "Globex" in {p.organization_name for p in everyone.plans}
    test_mode = conversion_dashboard_get(livemode=False, organization_id=org.pk, now=NOW)
    assert test_mode.totals == Outcomes(created=1, completed=1)
    assert [(r.currency, r.total) for r in test_mode.revenue] == [("USD", Decimal("5.00"))]
    assert conversion_dashboard_get(livemode=True, organization_id=other.pk, now=NOW).totals.created == 1


def test_dashboard_runs_four_queries(seeded, django_assert_num_queries):
    with django_assert_num_queries(4):  # per day and currency, per plan, per source, plan names
        conversion_dashboard_get(livemode=True, now=NOW)


def test_dashboard_queries_are_index_only_scans_of_session_dashboard(seeded):
    """With sequential scans ruled out, each query can still be answered from the index alone:
    every column it reads is in session_dashboard (a missing one would force heap visits, an
    Index Scan or a Bitmap Heap Scan, instead). With one organization chosen the planner may
    prefer session_org_created for a small one; bench/bench_dashboard.py times a big one."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for name, queryset in conversion_dashboard_querysets(livemode=True, now=NOW).items():
            plan = queryset.explain()
            assert "Index Only Scan using session_dashboard" in plan, (name, plan)
