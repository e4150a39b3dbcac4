"""core/db.py builds its server-binding cursor from Django's private PostgreSQL backend pieces.
This test fails loudly when a Django upgrade moves or changes them (then core/db.py needs a
look), and checks the cursor still answers like Django's own."""

import datetime
import uuid

import pytest
from django.conf import settings
from django.db import connection

from core.db import prepared_cursor

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                       reason="the server-binding cursor is PostgreSQL's"),
]


def test_the_private_django_pieces_core_db_uses_still_exist():
    from django.db.backends.postgresql import base

    assert callable(base.ServerBindingCursor) and callable(base.register_tzloader)
    assert isinstance(base.TIMESTAMPTZ_OID, int)
    for name in ("_prepare_cursor", "close_if_health_check_failed", "ensure_connection", "wrap_database_errors"):
        assert hasattr(connection, name), name
    assert hasattr(connection, "timezone")


def test_prepared_cursor_answers_like_djangos_cursor():
    value = uuid.uuid4()
    sql = "SELECT %s::uuid, now(), %s::numeric"
    with prepared_cursor() as ours, connection.cursor() as djangos:
        ours.execute(sql, [value, "12.50"])
        djangos.execute(sql, [value, "12.50"])
        mine, theirs = ours.fetchone(), djangos.fetchone()
    assert mine[0] == theirs[0] == value
    assert mine[1].tzinfo is not None and mine[1].utcoffset() == theirs[1].utcoffset() == datetime.timedelta(0)
    assert mine[2] == theirs[2]
