"""The ops dashboard (issue #29): who may see it, the funnel, why sessions were not paid, trials,
MRR and revenue, against the previous period; charts with the same numbers in tables."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from checkout.dashboard import Funnel, dashboard_range, monthly_recurring, ops_dashboard_get, recurring_lines
from checkout.models import PageView
from core.errors import DomainError
from tests.billing.factories import PlanFactory
from tests.checkout.factories import PaymentFactory, checkout_session_created_at
from tests.core.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
URL = reverse("admin:checkout_checkoutsession_dashboard")


@pytest.fixture(autouse=True)
def noon():
    """Midday UTC: "an hour ago" and "two days ago" fall on the days the assertions count."""
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC), tick=False):
        yield


def next_invoice(*lines, currency="USD"):
    return {"next_invoice": {"currency": currency, "line_items": [
        {"kind": "recurring", "cadence": cadence, "amount": amount} for cadence, amount in lines]}}


def session(created_at, *, opened=False, payments=(), **fields):
    made = checkout_session_created_at(created_at, **fields)
    if opened:
        PageView.objects.create(checkout_session=made, opened_at=created_at + datetime.timedelta(minutes=1))
    for status, code in payments:
        PaymentFactory(checkout_session=made, status=status, failure_code=code)
    return made


@pytest.fixture
def seeded():
    """Seven live sessions in the last 30 days, two in the 30 days before, one test session."""
    org = OrganizationFactory(name="Acme")
    plan = PlanFactory(organization=org, name="Growth")
    now = timezone.now()
    hour_ago = now - datetime.timedelta(hours=1)
    live = {"organization": org, "plan": plan, "livemode": True}
    trial = {"quote": {"trial_end": "2026-02-01"}}
    session(hour_ago, opened=True, payments=[("succeeded", "")], status="completed", amount_total=Decimal("285.78"),
            estimates=next_invoice(("P1M", "100.00"), ("P1Y", "120.00")), utm_source="google",
            utm_campaign="<script>alert(1)</script>", **live)
    session(hour_ago, opened=True, status="completed", amount_total=Decimal("14.22"),
            estimates=next_invoice(("P3M", "30.00")), **trial, **live)  # by invoice: no payment row
    session(hour_ago, opened=True, payments=[("failed", "card_declined"), ("failed", "card_declined")], **live)
    session(hour_ago, opened=True, payments=[("failed", "authentication_abandoned")], status="expired", **live)
    session(hour_ago, status="expired", **live)
    session(hour_ago, opened=True, status="cancelled", **live)
    session(now - datetime.timedelta(days=2), expires_at=now - datetime.timedelta(hours=2), **trial, **live)
    before = now - datetime.timedelta(days=35)
    session(before, opened=True, payments=[("succeeded", "")], status="completed", amount_total=Decimal("100.00"),
            estimates=next_invoice(("P1M", "50.00")), **live)
    session(before, status="expired", **live)
    session(hour_ago, organization=org, plan=plan, status="completed", livemode=False, amount_total=Decimal("9.99"))
    return org


def rows(body: str, table_id: str) -> dict[str, list[str]]:
    table = body[body.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    return {label: re.findall(r"<td[^>]*>(.*?)</td>", cells)
            for label, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S)}


def staff(django_user_model, *perms):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    user.user_permissions.add(*[Permission.objects.get(codename=codename) for codename in perms])
    return user


def test_dashboard_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_dashboard_staff_without_session_permission_is_refused(client, django_user_model, seeded):
    client.force_login(staff(django_user_model))
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


def test_dashboard_staff_with_view_permission_sees_it_linked(client, django_user_model, seeded):
    client.force_login(staff(django_user_model, "view_checkoutsession"))
    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in client.get(reverse("admin:checkout_checkoutsession_changelist")).content.decode()


def test_dashboard_funnel_counts_each_step_against_the_previous_period(ops_client, seeded):
    body = ops_client.get(URL).content.decode()
    assert "<strong>Live mode</strong> (the mode with sessions in this period)" in body
    funnel = rows(body, "funnel-table")
    # created 7; opened 5 (all but the two never viewed); attempted 4 (three with a payment
    # row, one completed by invoice); completed 2. Previous 30 days: 2 created, 1 of each after.
    assert funnel["Created"] == ["7", "—", "2", "+250.0%"]
    assert funnel["Page opened"] == ["5", "71.4%", "1", "+400.0%"]
    assert funnel["Payment attempted"] == ["4", "80.0%", "1", "+300.0%"]
    assert funnel["Completed"] == ["2", "50.0%", "1", "+100.0%"]
    assert funnel["Conversion (completed ÷ created)"][0] == "28.6%"
    assert funnel["Conversion (completed ÷ created)"][2] == "50.0%"


def test_dashboard_says_why_sessions_were_not_paid(ops_client, seeded):
    reasons = rows(ops_client.get(URL).content.decode(), "reasons-table")
    assert reasons["Card declined: card_declined"][:2] == ["1", "2 attempt(s)"]
    assert reasons["3-D Secure abandoned"][0] == "1"
    # Expired: the abandoned one (opened), one never opened, and an open one past expires_at.
    assert reasons["Expired after opening the page"][0] == "1"
    assert reasons["Expired without a page view"] == ["2", "the link was never opened", "1", "+100.0%"]
    assert reasons["Cancelled"][0] == "1"


def test_dashboard_trials_mrr_and_revenue_to_the_cent(ops_client, seeded):
    money = rows(ops_client.get(URL).content.decode(), "money-table")
    # MRR: 100.00/1 + 120.00/12 + 30.00/3 = 120.00 (before: 50.00); revenue 285.78 + 14.22.
    assert money["MRR booked, USD"] == ["$120.00", "$50.00", "+140.0%"]
    assert money["Revenue booked, USD"] == ["$300.00", "$100.00", "+200.0%"]
    assert money["Trial conversion"][0] == "50.0% (1 / 2)"


def test_dashboard_tables_and_charts_escape_labels_and_need_no_javascript(ops_client, seeded):
    body = ops_client.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert body.count('<svg class="chart"') == 4  # funnel, per day, per plan, per source
    assert "<script" not in body.split('id="content-main"')[1].split("</main>")[0]
    growth = re.search(r'<th scope="row">Growth</th>((?:<td>.*?</td>){7})', body).group(1)
    assert re.findall(r"<td>(.*?)</td>", growth) == ["7", "5", "4", "2", "28.6%", "3", "1"]


def test_dashboard_day_table_leaves_out_days_without_sessions(ops_client, seeded):
    body = ops_client.get(URL).content.decode()
    days = rows(body, "daily-table")
    assert len(days) == 3  # two days with sessions + the total
    assert "28 days without sessions left out" in body


def test_dashboard_opens_on_test_mode_when_live_has_no_sessions(ops_client):
    org = OrganizationFactory(name="Demo")
    session(timezone.now() - datetime.timedelta(hours=1), organization=org, status="completed", livemode=False,
            amount_total=Decimal("9.99"))
    body = ops_client.get(URL).content.decode()
    assert "<strong>Test mode</strong> (the mode with sessions in this period)" in body
    assert rows(body, "funnel-table")["Created"][0] == "1"
    body = ops_client.get(URL, {"mode": "live"}).content.decode()
    assert "<strong>Live mode</strong> ·" in body and rows(body, "funnel-table")["Created"][0] == "0"
    assert "No sessions in this period." in body  # the empty charts say so instead of drawing an axis


def test_dashboard_date_range_and_organization_filter(ops_client, seeded):
    today = timezone.now().date()
    start = today - datetime.timedelta(days=40)
    end = today - datetime.timedelta(days=30)
    body = ops_client.get(URL, {"start": start.isoformat(), "end": end.isoformat(), "mode": "live"}).content.decode()
    assert rows(body, "funnel-table")["Created"][0] == "2"
    other = OrganizationFactory(name="Globex")
    body = ops_client.get(URL, {"organization": str(other.pk), "mode": "live"}).content.decode()
    assert rows(body, "funnel-table")["Created"] == ["0", "—", "0", "="]


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2026-05-10", "end": "2026-05-01"}, "The end date is before the start date."),
    ({"start": "2024-01-01", "end": "2026-01-01"}, "Choose at most 366 days."),
    ({"start": "yesterday"}, "Enter a valid date."),
    ({"mode": "sideways"}, "Select a valid choice."),
])
def test_dashboard_bad_filter_is_a_422_with_the_error(ops_client, params, message):
    response = ops_client.get(URL, params)
    assert response.status_code == 422
    assert message in response.content.decode() and 'id="funnel-table"' not in response.content.decode()


def test_dashboard_query_count_is_constant(ops_client, seeded, django_assert_max_num_queries):
    # session + user, the organization choices, the mode probe, four reads per period (counts,
    # failed payments, recurring lines, trials), plan names; the read's savepoint, its release and
    # SET LOCAL jit = off. The same whatever the number of sessions.
    with django_assert_max_num_queries(16):
        assert ops_client.get(URL).status_code == 200


def test_dashboard_selector_compares_with_the_days_just_before():
    today = datetime.date(2026, 3, 31)
    first, last = dashboard_range(None, None, today)
    assert (first, last) == (datetime.date(2026, 3, 2), today)
    dashboard = ops_dashboard_get(livemode=True, first_day=first, last_day=last)
    assert (dashboard.previous.first_day, dashboard.previous.last_day) == (datetime.date(2026, 1, 31),
                                                                            datetime.date(2026, 3, 1))
    assert len(dashboard.days) == 30 and dashboard.current.funnel == Funnel()
    with pytest.raises(DomainError):
        dashboard_range(today, today - datetime.timedelta(days=1), today)


@pytest.mark.parametrize(("estimates", "expected"), [
    ([next_invoice(("P1M", "10.00"))], {"USD": Decimal("10.00")}),
    ([next_invoice(("P1Y", "100.00"))], {"USD": Decimal("8.33")}),  # 8.333… rounded half up
    ([next_invoice(("P6M", "0.03"))], {"USD": Decimal("0.01")}),  # 0.005 → 0.01
    ([next_invoice(("P3M", "1000"), currency="JPY")], {"JPY": Decimal("333")}),
    ([next_invoice(("P1M", "9.99"), (None, "50.00"))], {"USD": Decimal("9.99")}),  # one-time: not recurring
    # Summed before rounding: three yearly 1.00 are 0.25 a month, not 3 × 0.08.
    ([next_invoice(("P1Y", "1.00"))] * 3, {"USD": Decimal("0.25")}),
    ([next_invoice(("P1M", "5.00")), next_invoice(("P1M", "7.00"), currency="EUR")],
     {"EUR": Decimal("7.00"), "USD": Decimal("5.00")}),
    ([{"next_invoice": None}], {}),
    ([next_invoice((None, "5.00"))], {}),
])
def test_monthly_recurring_divides_each_line_by_its_cadence(estimates, expected):
    lines = [line for each in estimates for line in recurring_lines(each)]
    assert monthly_recurring(lines) == expected
