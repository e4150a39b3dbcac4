"""Migration 0013 fills the reporting columns of sessions created before it, by the rules the
create service writes them with (checkout.services.create.reporting_columns)."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from checkout.models import CheckoutSession
from checkout.services.create import reporting_columns
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("checkout.migrations.0013_dashboard_metrics")


def test_fill_writes_what_the_create_service_would(monkeypatch):
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches
    cases = [
        ({"utm_source": "google", "utm_campaign": "brand", "referrer": "https://a.example"},
         {"current_invoice": {"total": "285.78"}, "next_invoice": None}),
        ({"utm_source": "ü" * 150, "utm_campaign": ""}, {"current_invoice": {"total": "0"}}),
        (None, {}),
        ({"utm_medium": "cpc"}, {"current_invoice": {"total": "1500"}}),
        ({"utm_campaign": "only-campaign"}, {"current_invoice": None}),
    ]
    sessions = [CheckoutSessionFactory(attribution=attribution, estimates=estimates) for attribution, estimates in cases]
    CheckoutSession.objects.update(utm_source=None, utm_campaign=None, amount_total=None)  # as before 0013
    with connection.schema_editor() as schema_editor:
        migration._reporting_columns_fill(apps, schema_editor)
    for session, (attribution, estimates) in zip(sessions, cases, strict=True):
        session.refresh_from_db()
        expected = reporting_columns(attribution=attribution, estimates=estimates)
        assert (session.utm_source, session.utm_campaign, session.amount_total) == (
            expected["utm_source"], expected["utm_campaign"], expected["amount_total"]), (attribution, estimates)
    assert sessions[0].amount_total == Decimal("285.78") and sessions[1].utm_source == "ü" * 100
