"""The conversion dashboard page in admin: who may see it, and what it shows (charts with the
same numbers in tables beside them)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.billing.factories import PlanFactory
from tests.checkout.factories import checkout_session_created_at
from tests.core.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
URL = reverse("admin:checkout_checkoutsession_dashboard")


@pytest.fixture
def seeded():
    org = OrganizationFactory(name="Acme")
    plan = PlanFactory(organization=org, name="Growth")
    now = timezone.now()
    for status, amount in (("completed", "285.78"), ("completed", "14.22"), ("expired", None), ("cancelled", None)):
        checkout_session_created_at(now - datetime.timedelta(hours=1), organization=org, plan=plan, status=status,
                                    livemode=True, amount_total=amount and Decimal(amount),
                                    utm_source="google", utm_campaign="<script>alert(1)</script>")
    checkout_session_created_at(now - datetime.timedelta(days=3), organization=org, plan=plan, status="completed",
                                livemode=True, currency="JPY", amount_total=Decimal("1500"))
    checkout_session_created_at(now, organization=org, plan=plan, status="completed", livemode=False,
                                amount_total=Decimal("9.99"))
    return org


def staff(django_user_model, *perms):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    user.user_permissions.add(*[Permission.objects.get(codename=codename) for codename in perms])
    return user


def test_dashboard_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_dashboard_non_staff_user_is_sent_to_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("customer", "c@example.com", "pw"))
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_dashboard_staff_without_session_permission_is_refused(client, django_user_model, seeded):
    client.force_login(staff(django_user_model))
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


def test_dashboard_staff_with_view_permission_sees_it_linked_from_the_index(client, django_user_model, seeded):
    client.force_login(staff(django_user_model, "view_checkoutsession"))
    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in client.get(reverse("admin:checkout_checkoutsession_changelist")).content.decode()


def test_dashboard_shows_the_seeded_numbers_in_tables_beside_svg_charts(ops_client, seeded):
    response = ops_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    summary = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body))
    assert summary["Sessions created"] == "5" and summary["Completed"] == "3" and summary["Conversion"] == "60.0%"
    assert summary["Revenue booked, USD"] == "$300.00"  # 285.78 + 14.22, live mode only
    assert summary["Revenue booked, JPY"] == "¥1,500"
    # Per plan: 5 created, 3 completed, 1 expired, 1 cancelled, 0 open, 60 %.
    row = re.search(r'<th scope="row">Growth \(Acme\)</th>((?:<td>.*?</td>){6})', body).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["5", "3", "1", "1", "0", "60.0%"]
    # Labels are escaped, in the chart and in the table.
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # Five charts (per day, conversion, plan, source, one per currency = 2), each an image named by a title.
    assert body.count('<svg class="chart"') == 6 and body.count('role="img"') == 6
    assert body.count("<table>") >= 5 and "<caption>Sessions per day of creation</caption>" in body
    assert "<script" not in body.split('id="content-main"')[1].split("</main>")[0]  # no JavaScript needed


def test_dashboard_test_mode_and_organization_filter(ops_client, seeded):
    body = ops_client.get(URL, {"mode": "test", "organization": str(seeded.pk)}).content.decode()
    summary = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body))
    assert summary["Sessions created"] == "1" and summary["Revenue booked, USD"] == "$9.99"
    assert "<strong>Test mode</strong>" in body
    other = OrganizationFactory(name="Globex")
    body = ops_client.get(URL, {"organization": str(other.pk)}).content.decode()
    assert dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body))["Sessions created"] == "0"
    assert "No completed sessions in this period." in body


def test_dashboard_bad_filter_shows_the_error_and_the_defaults(ops_client, seeded):
    response = ops_client.get(URL, {"organization": "not-an-id", "mode": "sideways"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="errornote"' in body
    assert dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body))["Sessions created"] == "5"


def test_dashboard_page_query_count_is_constant(ops_client, seeded, django_assert_max_num_queries):
    # session + user, the organization choices, the four dashboard queries (and savepoint noise)
    with django_assert_max_num_queries(10):
        assert ops_client.get(URL).status_code == 200
