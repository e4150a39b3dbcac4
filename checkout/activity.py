"""What customers do on the hosted page, recorded cheaply for the ops dashboard (#29).

A page view costs at most one ``INSERT … ON CONFLICT DO NOTHING`` per session per worker
process: a process-local set remembers the sessions already recorded, so reloads (and the page
cache's fast path) add nothing. The session row itself is never written (its ``updated_at`` keys
the page cache). Payment attempts need no recording of their own: each is a ``Payment`` row the
confirm service writes anyway.
"""

import logging
import uuid

from django.db import DatabaseError, connection
from django.utils import timezone

from checkout.models import PageView
from core.lru import LocalLru

logger = logging.getLogger(__name__)

_recorded = LocalLru(size=8192)


def page_view_record(session_id) -> None:
    """Remember that ``session_id``'s page was opened (the first time only). Never raises: a
    failed write loses one view, never the page."""
    if _recorded.get(session_id):
        return
    try:
        _insert_once(session_id)
    except DatabaseError:
        logger.warning("page view of checkout session %s not recorded", session_id, exc_info=True)
        _end_failed_transaction()
        return
    _recorded.put(session_id, True)


def _insert_once(session_id) -> None:
    """One round trip. On PostgreSQL, outside a transaction, the insert commits asynchronously
    (``synchronous_commit = off`` for it alone): the page never waits for the WAL flush (7 ms
    here), and a crash can lose at most the last fraction of a second of page views, never
    anything else. Elsewhere (SQLite, or inside a caller's transaction, e.g. a test) the same
    insert, plainly."""
    table = connection.ops.quote_name(PageView._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            session_uuid = uuid.UUID(str(session_id))  # a literal, safely: a UUID has no quotes
            # Several statements in one simple query: no parameters (psycopg's extended protocol
            # would take one statement per round trip).
            cursor.execute(f"BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO {table} "
                           f"(checkout_session_id, opened_at) VALUES ('{session_uuid}'::uuid, now()) "
                           "ON CONFLICT DO NOTHING; COMMIT")
            return
        fields = PageView._meta
        cursor.execute(f"INSERT INTO {table} (checkout_session_id, opened_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                       [fields.pk.get_db_prep_value(session_id, connection),
                        fields.get_field("opened_at").get_db_prep_value(timezone.now(), connection)])


def _end_failed_transaction() -> None:
    """A failed statement inside our own BEGIN … COMMIT leaves the connection in an aborted
    transaction; end it so the rest of the request can use the connection."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except DatabaseError:
        pass  # the connection is gone: Django opens a new one (CONN_HEALTH_CHECKS)
