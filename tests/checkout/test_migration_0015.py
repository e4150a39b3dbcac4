"""Migration 0015 gives existing idempotency records the mode of the session they created."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from checkout.models import IdempotencyRecord
from tests.checkout.factories import CheckoutSessionFactory, IdempotencyRecordFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("checkout.migrations.0015_idempotency_livemode")


def test_records_take_the_mode_of_their_session():
    live, test = CheckoutSessionFactory(livemode=True), CheckoutSessionFactory(livemode=False)
    records = [IdempotencyRecordFactory(checkout_session=live), IdempotencyRecordFactory(checkout_session=test),
               IdempotencyRecordFactory(checkout_session=None)]  # a claim in flight
    IdempotencyRecord.objects.update(livemode=False)  # as AddField leaves them
    with connection.schema_editor() as schema_editor:
        migration.modes_from_sessions(apps, schema_editor)
    assert [IdempotencyRecord.objects.get(pk=r.pk).livemode for r in records] == [True, False, False]
