"""Cursors for hand-written SQL on hot paths.

``prepared_cursor()`` is ``connection.cursor()`` with server-side parameter binding: the SQL and
its parameters travel separately, so psycopg need not quote every parameter into the text, and
a statement run ``prepare_threshold`` times on a connection (``config.settings``) becomes a
prepared statement, which PostgreSQL no longer parses and plans on every run. Only for fixed
SQL with ``%s`` placeholders (no literals built per call, which would fill the prepared cache).
The result is wrapped like any Django cursor: logged, counted by the test tools and the bench.
"""

from django.db import DEFAULT_DB_ALIAS, connections


def prepared_cursor():
    # The wrapper itself, once: every attribute read through the ``connection`` proxy costs a
    # thread-local look-up, and building a cursor reads a dozen.
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        return conn.cursor()
    from django.db.backends.postgresql.base import (
        TIMESTAMPTZ_OID,
        ServerBindingCursor,
        register_tzloader,
    )
    from psycopg.pq import Format

    # What BaseDatabaseWrapper._cursor and DatabaseWrapper.create_cursor do, with another class.
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = conn.connection
        cursor = ServerBindingCursor(raw)
        if conn.timezone != raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
            register_tzloader(conn.timezone, cursor)
        return conn._prepare_cursor(cursor)


def hand_written_sql_supported() -> bool:
    """The hot paths' hand-written SQL is PostgreSQL's. The embedded demo database (SQLite)
    takes the ORM route instead: its raw rows carry neither UUIDs nor aware datetimes."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
