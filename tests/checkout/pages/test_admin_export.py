"""Issue #15: the session list exports as CSV, as filtered; search by partial id, contract, metadata."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from checkout.admin.sessions import csv_cell
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db

EXPORT = "admin:checkout_checkoutsession_export"
CHANGELIST = "admin:checkout_checkoutsession_changelist"


def rows(response):
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_follows_the_changelist_filter_and_has_a_header(ops_client):
    open_one = CheckoutSessionFactory(attribution={"utm_source": "newsletter", "utm_campaign": "spring"})
    cancelled = CheckoutSessionFactory(status="cancelled")
    got = rows(ops_client.get(reverse(EXPORT), {"status__exact": "open"}))
    assert got[0][:3] == ["id", "organization_id", "livemode"]
    ids = [row[0] for row in got[1:]]
    assert ids == [str(open_one.pk)] and str(cancelled.pk) not in ids
    row = dict(zip(got[0], got[1], strict=True))
    assert (row["utm_source"], row["utm_campaign"]) == ("newsletter", "spring")
    assert LogEntry.objects.filter(user__username="ops", change_message__contains="CSV").exists()
    # The changelist links to the export with its current filter.
    page = ops_client.get(reverse(CHANGELIST), {"status__exact": "open"}).content.decode()
    assert reverse(EXPORT) + "?status__exact=open" in page


def test_csv_export_neutralises_formulas(ops_client):
    CheckoutSessionFactory(attribution={"utm_source": "=HYPERLINK(\"http://evil\")", "utm_campaign": "@SUM(1)"})
    got = rows(ops_client.get(reverse(EXPORT)))
    row = dict(zip(got[0], got[1], strict=True))
    assert row["utm_source"].startswith("'=") and row["utm_campaign"].startswith("'@")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@a", "\tx"])
def test_csv_cell_prefixes_formula_starters(value):
    assert csv_cell(value) == "'" + value


def test_csv_export_is_staff_only(client):
    response = client.get(reverse(EXPORT))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_session_search_by_partial_id_contract_and_metadata(ops_client):
    session = CheckoutSessionFactory(metadata={"order_ref": "ORD-77123"})
    other = CheckoutSessionFactory()
    for term in [str(session.pk)[:13], "ORD-77123"]:
        body = ops_client.get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert str(session.pk) in body and str(other.pk) not in body, term
