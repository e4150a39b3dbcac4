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


def sql_or_orm(sql, orm):
    """``sql`` on PostgreSQL, else ``orm``: how every ``fastsql`` function picks its twin."""
    return sql if hand_written_sql_supported() else orm


class JoinedRowLoader:
    """One row of ``model`` with its to-one relations, in one hand-written query: what
    ``select_related(*relations)`` fetches, without compiling the ORM query on every call.

    The SQL and each column's converters are built once per loader and database vendor;
    each call runs the fixed statement (prepared after a few runs) and builds the
    instances with ``Model.from_db``, applying the same converters the ORM applies (JSON
    decoding, for instance), and caches each relation on the instance as ``select_related``
    does, so ``session.customer`` costs no query. A nullable relation whose row is missing
    (a NULL foreign key) is cached as None.

    ``by`` names the fields the row is found by (equality, all of them); ``get`` takes their
    values in that order and prepares each as the ORM would (a UUID as hex on SQLite), so the
    same loader serves PostgreSQL and the embedded demo's SQLite.

    With ``fields`` (names of the model's own fields, no relations) the loader reads only
    those columns and ``values`` returns them as a converted tuple, like
    ``values_list(*fields).first()``.
    """

    def __init__(self, model, relations: tuple[str, ...] = (), *, by: tuple[str, ...],
                 fields: tuple[str, ...] | None = None):
        if fields is not None and relations:
            raise ValueError("fields reads the model's own columns only")
        self.model = model
        self.relations = relations
        self.by = [model._meta.get_field(name) for name in by]
        self.fields = None if fields is None else [model._meta.get_field(name) for name in fields]
        self._built: dict[str, tuple] = {}

    def _build(self, conn):
        quote = conn.ops.quote_name
        parts = [(None, self.model, "t0", None)]
        joins = []
        for i, name in enumerate(self.relations, start=1):
            field = self.model._meta.get_field(name)
            alias = f"t{i}"
            kind = "LEFT JOIN" if field.null else "JOIN"
            target = field.related_model
            joins.append(
                f"{kind} {quote(target._meta.db_table)} {alias} "
                f"ON {alias}.{quote(field.target_field.column)} = t0.{quote(field.column)}"
            )
            parts.append((field, target, alias, field.target_field.attname))
        columns, plans = [], []
        for field, model, alias, key in parts:
            fields = self.fields if field is None and self.fields is not None else model._meta.concrete_fields
            start = len(columns)
            columns += [f"{alias}.{quote(f.column)}" for f in fields]
            converters = []
            for index, f in enumerate(fields):
                col = f.get_col(alias)
                found = conn.ops.get_db_converters(col) + f.get_db_converters(conn)
                if found:
                    converters.append((start + index, col, found))
            plans.append((field, model, [f.attname for f in fields], start, len(fields), converters, key))
        where = " AND ".join(f"t0.{quote(field.column)} = %s" for field in self.by)
        sql = f"SELECT {', '.join(columns)} FROM {quote(self.model._meta.db_table)} t0 {' '.join(joins)} WHERE {where}"
        return sql, plans

    def _row(self, values):
        """(connection, plans, the converted row) for the ``by`` values, or None."""
        conn = connections[DEFAULT_DB_ALIAS]
        built = self._built.get(conn.vendor)
        if built is None:
            built = self._built[conn.vendor] = self._build(conn)
        sql, plans = built
        params = [field.get_db_prep_value(value, connection=conn) for field, value in zip(self.by, values, strict=True)]
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for _field, _model, _names, _start, _count, converters, _key in plans:
            for index, col, found in converters:
                value = row[index]
                for converter in found:
                    value = converter(value, col, conn)
                row[index] = value
        return conn, plans, row

    def values(self, *values) -> tuple | None:
        """The ``fields`` of the row whose ``by`` fields equal ``values``, or None."""
        if self.fields is None:
            raise TypeError("values() needs the loader's fields")
        found = self._row(values)
        return None if found is None else tuple(found[2])

    def get(self, *values):
        """The instance whose ``by`` fields equal ``values``, or None."""
        if self.fields is not None:
            raise TypeError("get() loads whole rows; this loader reads some fields only")
        found = self._row(values)
        if found is None:
            return None
        conn, plans, row = found
        main = None
        for field, model, names, start, count, _converters, key in plans:
            values = row[start:start + count]
            if field is None:
                main = model.from_db(conn.alias, names, values)
                continue
            related = None if values[names.index(key)] is None else model.from_db(conn.alias, names, values)
            field.set_cached_value(main, related)
        return main
