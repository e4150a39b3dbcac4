"""Creating the customer for a confirmed guest session."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import services
from customers.models import Customer
from customers.services import customer_get_or_create_for_guest
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

GUEST = {"customer_name": "Ada Guest", "email": " Ada@Example.com ", "address": {"country": "DE"}}


def _customer_reads(captured) -> int:
    return sum(1 for q in captured.captured_queries
               if q["sql"].startswith("SELECT") and Customer._meta.db_table in q["sql"])


def test_guest_with_a_new_email_is_created_after_one_lookup():
    entity = CustomerFactory().business_entity  # an organization with an entity

    with CaptureQueriesContext(connection) as captured:
        customer, created = customer_get_or_create_for_guest(
            organization_id=entity.organization_id, business_entity_id=entity.pk, details=GUEST)

    assert created is True
    assert (customer.customer_name, customer.email) == ("Ada Guest", "Ada@Example.com")
    assert Customer.objects.filter(organization_id=entity.organization_id).count() == 2
    assert _customer_reads(captured) == 1


def test_guest_with_a_known_email_reuses_the_customer_unchanged():
    existing = CustomerFactory(email="ada@example.com", customer_name="Ada Lovelace")

    customer, created = customer_get_or_create_for_guest(
        organization_id=existing.organization_id, business_entity_id=existing.business_entity_id, details=GUEST)

    assert (customer.pk, created) == (existing.pk, False)
    existing.refresh_from_db()
    assert existing.customer_name == "Ada Lovelace"
    assert Customer.objects.filter(organization_id=existing.organization_id).count() == 1


def test_guest_losing_the_insert_race_gets_the_winners_customer(monkeypatch):
    # The winner's row is committed between our lookup (which saw nothing) and our insert.
    winner = CustomerFactory(email="ada@example.com")
    real_find = services.customer_find_by_email
    calls = []

    def find_missing_first(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_find(**kwargs)

    monkeypatch.setattr(services, "customer_find_by_email", find_missing_first)

    customer, created = customer_get_or_create_for_guest(
        organization_id=winner.organization_id, business_entity_id=winner.business_entity_id, details=GUEST)

    assert (customer.pk, created) == (winner.pk, False)
    assert Customer.objects.filter(organization_id=winner.organization_id).count() == 1
