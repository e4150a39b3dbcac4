"""The checkout app's hand-written SQL, each statement beside its ORM twin.

PostgreSQL runs the SQL (one round trip, no model instances); other databases (the SQLite
demo) run the ORM twin. Services call the public functions here and never ask which database
they are on. ``tests/checkout/test_fastsql.py`` runs both twins on PostgreSQL with the same rows
and holds their results equal, so the ORM path is tested too.

The expiry statements are here with the ORM definition of expiring they repeat, and the
idempotency claim's two writes (``checkout.services.idempotency`` owns the protocol).
"""

import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.db.models import Case, F, Max, QuerySet, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from checkout.enums import EventType, IdempotencyStatus, SessionStatus
from checkout.models import EVENT_PAYLOAD_PENDING, CheckoutSession, Event, IdempotencyRecord
from core.db import prepared_cursor, sql_or_orm
from core.models import BusinessEntity
from customers.models import Customer


class CustomerEntities(NamedTuple):
    """A customer, its own business entity (when it is the organization's) and the
    organization's default entity, with their tax rates."""

    customer_id: UUID
    own_entity_id: UUID | None
    own_tax_rate: Decimal | None
    default_entity_id: UUID | None
    default_tax_rate: Decimal | None
    # What the tax rule needs (billing.tax): each entity's address, the customer's address and
    # tax ids.
    own_address: dict | None = None
    default_address: dict | None = None
    customer_address: dict | None = None
    customer_tax_info: list | None = None


class EntityRow(NamedTuple):
    id: UUID
    tax_rate: Decimal | None
    address: dict | None = None

    @property
    def country(self) -> str | None:
        return (self.address or {}).get("country")


def _json(value):
    """A JSON column read by raw SQL: decoded by psycopg, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


_SESSION = CheckoutSession._meta.db_table
_EVENT = Event._meta.db_table


def recovery_url_base() -> str:
    """The recovery URL an expired session gets (``after_expiration.recovery.enabled``) is this,
    its token and ``/recover``: the hosted page's address. Written by whatever expires the
    session, in the same statement, so the row, the API and the event agree."""
    return f"{settings.PUBLIC_BASE_URL}/pay/"


def recovery_url_expression():
    """``recovery_url_base()`` + token + ``/recover`` for sessions with recovery enabled, "" for
    the others: the ORM twin of the expiry statements' ``CASE``."""
    return Case(When(recovery_enabled=True, then=Concat(Value(recovery_url_base()), F("token"), Value("/recover"))),
                default=Value(""))


# --- a customer and the entities a create may bill from -----------------------------------------


def customer_entities(*, organization_id, customer_id) -> CustomerEntities | None:
    return sql_or_orm(customer_entities_sql, customer_entities_orm)(
        organization_id=organization_id, customer_id=customer_id,
    )


def customer_entities_sql(*, organization_id, customer_id) -> CustomerEntities | None:
    row = _fetchone(_statements()["customer"], [customer_id, organization_id])
    return CustomerEntities(*row[:5], *(_json(value) for value in row[5:])) if row else None


def customer_entities_orm(*, organization_id, customer_id) -> CustomerEntities | None:
    customer = Customer.objects.select_related("business_entity").filter(
        pk=customer_id, organization_id=organization_id).first()
    if customer is None:
        return None
    own = customer.business_entity
    if own is not None and own.organization_id != organization_id:
        own = None
    default = BusinessEntity.objects.filter(organization_id=organization_id, is_default=True).first()
    return CustomerEntities(customer.pk, own and own.pk, own and own.tax_rate, default and default.pk,
                            default and default.tax_rate, own and own.address, default and default.address,
                            customer.address, customer.tax_info)


# --- a business entity ----------------------------------------------------------------------------


def business_entity(*, organization_id, entity_id) -> EntityRow | None:
    return sql_or_orm(business_entity_sql, business_entity_orm)(
        organization_id=organization_id, entity_id=entity_id,
    )


def business_entity_sql(*, organization_id, entity_id) -> EntityRow | None:
    row = _fetchone(_statements()["entity"], [entity_id, organization_id])
    return EntityRow(row[0], row[1], _json(row[2])) if row else None


def business_entity_orm(*, organization_id, entity_id) -> EntityRow | None:
    row = BusinessEntity.objects.filter(pk=entity_id, organization_id=organization_id).values_list(
        "id", "tax_rate", "address").first()
    return EntityRow(*row) if row else None


# --- event payloads written in one statement ----------------------------------------------------


def event_payloads_write(payloads: dict) -> None:
    """Store ``payloads`` (event id → payload) on their events."""
    sql_or_orm(event_payloads_write_sql, event_payloads_write_orm)(payloads)


def event_payloads_write_sql(payloads: dict) -> None:
    # One statement for the batch (Django's bulk_update builds a CASE per row: 10x slower).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} AS e SET payload = d.payload"
            " FROM jsonb_to_recordset(%s::jsonb) AS d(id uuid, payload jsonb) WHERE e.id = d.id",
            [json.dumps([{"id": str(pk), "payload": payload} for pk, payload in payloads.items()])],
        )


def event_payloads_write_orm(payloads: dict) -> None:
    for pk, payload in payloads.items():
        Event.objects.filter(pk=pk).update(payload=payload)


# --- an idempotency claim and the session that completes it ------------------------------------


def idempotency_claim_insert(*, organization_id, livemode: bool, key: str, fingerprint: str,
                             now: datetime) -> int | None:
    """Claim (organization, mode, key), in its own commit so a concurrent duplicate sees it at
    once: the new record's id, or None when the key is already claimed."""
    return sql_or_orm(idempotency_claim_insert_sql, idempotency_claim_insert_orm)(
        organization_id=organization_id, livemode=livemode, key=key, fingerprint=fingerprint, now=now,
    )


def idempotency_claim_insert_sql(*, organization_id, livemode: bool, key: str, fingerprint: str,
                                 now: datetime) -> int | None:
    row = _fetchone(_statements()["claim"],
                    [organization_id, livemode, key, fingerprint, IdempotencyStatus.IN_PROGRESS, now])
    return row[0] if row else None


def idempotency_claim_insert_orm(*, organization_id, livemode: bool, key: str, fingerprint: str,
                                 now: datetime) -> int | None:
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(organization_id=organization_id, livemode=livemode, key=key,
                                                      request_fingerprint=fingerprint,
                                                      status=IdempotencyStatus.IN_PROGRESS)
    except IntegrityError:
        return None
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=now)  # auto_now_add chose its own
    return record.pk


def session_insert_completing_claim(*, record_id: int, claimed_at: datetime, session: CheckoutSession,
                                    body: bytes) -> bool:
    """Insert ``session`` (its ``created_at``/``updated_at`` already set: ``body`` shows them)
    and complete the claim with ``body`` as its stored 201, both or neither: only while the
    claim is still ours (in progress, ``claimed_at`` unchanged by a takeover). False when it
    is not, and nothing is written."""
    return sql_or_orm(session_insert_completing_claim_sql, session_insert_completing_claim_orm)(
        record_id=record_id, claimed_at=claimed_at, session=session, body=body,
    )


def session_insert_completing_claim_sql(*, record_id: int, claimed_at: datetime, session: CheckoutSession,
                                        body: bytes) -> bool:
    # One statement is atomic on its own (no BEGIN/COMMIT round trips): the UPDATE in the CTE
    # completes the claim only if we still hold it (locking the row), the INSERT runs only if
    # it did.
    fields, sql = _session_insert_sql()
    params = [IdempotencyStatus.COMPLETED, 201, body, session.pk, record_id, IdempotencyStatus.IN_PROGRESS,
              claimed_at]
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: one look-up instead of one per field
    for field, passthrough in zip(fields, _passthrough_types(), strict=True):
        value = getattr(session, field.attname)
        # A str for a CharField, a bool for a BooleanField, None for a date: get_db_prep_save
        # would hand back the value itself, after a few calls.
        params.append(value if type(value) in passthrough else field.get_db_prep_save(value, connection=db))
    if _fetchone(sql, params) is None:
        return False
    session._state.adding = False
    session._state.db = db.alias
    return True


def session_insert_completing_claim_orm(*, record_id: int, claimed_at: datetime, session: CheckoutSession,
                                        body: bytes) -> bool:
    shown = {"created_at": session.created_at, "updated_at": session.updated_at}
    with transaction.atomic():
        session.save(force_insert=True)  # auto_now(_add) choose their own times: put back the shown ones
        CheckoutSession.objects.filter(pk=session.pk).update(**shown)
        taken = IdempotencyRecord.claim_held(record_id, claimed_at).update(
            status=IdempotencyStatus.COMPLETED, response_status=201, response_body=body, checkout_session_id=session.pk)
        if not taken:
            transaction.set_rollback(True)
    session.created_at, session.updated_at = shown["created_at"], shown["updated_at"]
    session._state.adding = not taken
    return bool(taken)


@cache
def _session_insert_sql() -> tuple[tuple, str]:
    fields = tuple(CheckoutSession._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # INSERT … SELECT does not type parameters from the target columns: cast each one.
    values = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in fields)
    sql = (
        f"WITH claim AS (UPDATE {quote(IdempotencyRecord._meta.db_table)}"
        " SET status = %s, response_status = %s, response_body = %s, checkout_session_id = %s"
        " WHERE id = %s AND status = %s AND created_at = %s RETURNING id)"
        f" INSERT INTO {quote(CheckoutSession._meta.db_table)} ({columns}) SELECT {values} FROM claim"
        f" RETURNING {quote(CheckoutSession._meta.pk.column)}"
    )
    return fields, sql


@cache
def _passthrough_types() -> tuple[frozenset, ...]:
    """Per insert column: the value types ``get_db_prep_save`` returns unchanged (exact field
    classes only: a subclass may prepare values its own way)."""
    by_class = {
        models.CharField: frozenset({str, type(None)}),
        models.BooleanField: frozenset({bool}),
        models.DateTimeField: frozenset({type(None)}),
        models.DateField: frozenset({type(None)}),
    }
    return tuple(by_class.get(type(f), frozenset()) for f in _session_insert_sql()[0])


# --- a session's transition and its event -------------------------------------------------------


def session_transition_write(*, session_id, expected: str, changes: dict, event: Event | None) -> bool:
    """Write ``changes`` (model field names → values) to the session if its status is still
    ``expected`` and, only then, insert ``event`` with the session's next sequence. True if the
    session changed (``event.sequence`` is then set)."""
    return sql_or_orm(session_transition_write_sql, session_transition_write_orm)(
        session_id=session_id, expected=expected, changes=changes, event=event,
    )


def session_transition_write_sql(*, session_id, expected: str, changes: dict, event: Event | None) -> bool:
    # One statement: the compare-and-set and the outbox row it reports go together, and the
    # sequence is read in it (the caller holds the session's lock, so nobody appends meanwhile).
    db = connections[DEFAULT_DB_ALIAS]
    q = db.ops.quote_name
    meta = CheckoutSession._meta
    columns, params = [], []
    for name, value in changes.items():
        field = meta.get_field(name)
        columns.append(f"{q(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection=db))
    update = f"UPDATE {q(_SESSION)} SET {', '.join(columns)} WHERE id = %s AND status = %s RETURNING id"
    params += [meta.pk.get_db_prep_value(session_id, connection=db), expected]
    with db.cursor() as cursor:
        if event is None:
            cursor.execute(update, params)
            return cursor.rowcount == 1
        fields = [Event._meta.get_field(name) for name in _EVENT_INSERTED]
        values = ", ".join(f"CAST(%s AS {f.db_type(db)})" for f in fields)
        cursor.execute(
            f"WITH changed AS ({update})"
            f" INSERT INTO {q(_EVENT)} ({', '.join(q(f.column) for f in fields)}, checkout_session_id, sequence)"
            f" SELECT {values}, changed.id, COALESCE((SELECT max(sequence) FROM {q(_EVENT)}"
            " WHERE checkout_session_id = changed.id), 0) + 1 FROM changed RETURNING sequence",
            params + [f.get_db_prep_save(getattr(event, f.attname), connection=db) for f in fields],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    event.sequence = row[0]
    event._state.adding, event._state.db = False, db.alias
    return True


def session_transition_write_orm(*, session_id, expected: str, changes: dict, event: Event | None) -> bool:
    if not CheckoutSession.objects.filter(pk=session_id, status=expected).update(**changes):
        return False
    if event is not None:
        last = Event.objects.filter(checkout_session_id=session_id).aggregate(m=Max("sequence"))["m"]
        event.sequence = (last or 0) + 1
        event.save(force_insert=True)
    return True


# The event columns a transition writes from the instance (the session and sequence come from the UPDATE).
_EVENT_INSERTED = ("id", "created_at", "updated_at", "organization", "type", "livemode", "payload")


# --- expiring sessions ---------------------------------------------------------------------------
# The sweep (checkout.sessions.expiry) on a big table: one statement per batch, nothing loaded
# into Python, so what a session costs is the database's own work.

# The events' payloads are left for the outbox pass to fill (EVENT_PAYLOAD_PENDING): the session
# object is the API's JSON, built once, in Python (checkout.representation), and copying
# each session's estimates into its event here would double the sweep's writes.
# Which sessions a statement expires. The sweep takes the next batch in due order and skips
# rows someone else holds; read-time expiry of listed sessions takes exactly the ones it
# read, waiting for a row another transaction holds (in id order, so two readers cannot
# deadlock) and then seeing its new status.
_DUE_NEXT_BATCH = f"""
    SELECT id
      FROM {_SESSION}
     WHERE status = %(open)s AND expires_at <= %(now)s
     ORDER BY expires_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED"""
_DUE_AMONG_IDS = f"""
    SELECT id
      FROM {_SESSION}
     WHERE id = ANY(%(ids)s) AND status = %(open)s AND expires_at <= %(now)s
     ORDER BY id
       FOR UPDATE"""

_EXPIRE_SQL = f"""
WITH due AS ({{due}}
), expired AS (
    UPDATE {_SESSION} AS s
       SET status = %(expired)s, expired_at = %(now)s, updated_at = %(now)s,
           -- recovery_url_expression, in SQL
           recovery_url = CASE WHEN s.recovery_enabled THEN %(recovery_base)s || s.token || '/recover' ELSE '' END
      FROM due
     WHERE s.id = due.id AND s.status = %(open)s
 RETURNING s.id, s.organization_id, s.livemode
), last AS (
    -- One grouped read for the whole batch (never a lookup per row): most due sessions
    -- have no event yet, the others continue their sequence. Their rows are locked, so
    -- nobody appends to their events meanwhile.
    SELECT checkout_session_id AS id, max(sequence) AS sequence
      FROM {_EVENT}
     WHERE checkout_session_id IN (SELECT id FROM due)
     GROUP BY checkout_session_id
)
INSERT INTO {_EVENT}
       (id, created_at, updated_at, organization_id, checkout_session_id, type, livemode, sequence,
        payload, dispatched_at)
SELECT gen_random_uuid(), %(written)s, %(written)s, e.organization_id, e.id, %(type)s, e.livemode,
       COALESCE(last.sequence, 0) + 1, jsonb_build_object(), NULL  -- EVENT_PAYLOAD_PENDING
  FROM expired e
  LEFT JOIN last ON last.id = e.id
"""
_EXPIRE_BATCH_SQL = _EXPIRE_SQL.format(due=_DUE_NEXT_BATCH)
_EXPIRE_AMONG_IDS_SQL = _EXPIRE_SQL.format(due=_DUE_AMONG_IDS)


def _expire_sql(statement: str, *, now: datetime, asynchronous: bool, **params) -> int:
    """Run one of the expiry statements in its own transaction; returns how many it expired."""
    with transaction.atomic(), connection.cursor() as cursor:
        if asynchronous:
            # Don't wait for this commit's WAL flush. Safe for the sweep, and only there: a
            # crash can lose at most the last sweep commits (about 3 x wal_writer_delay of
            # them), each one whole (its UPDATE and its events go or stay together), so
            # those sessions are simply open and due again after recovery and the next
            # sweep expires them, once, with the same sequence. Whoever acts on these rows
            # durably (the outbox pass marking events dispatched before any webhook is
            # sent, a confirm) commits synchronously after reading them, and WAL is flushed
            # in order, so that commit makes this one durable first: no webhook can
            # announce an event a crash then loses. Requests keep synchronous commits
            # (their answers are promises to clients).
            cursor.execute("SET LOCAL synchronous_commit TO off")
        cursor.execute(
            statement,
            {
                "open": SessionStatus.OPEN,
                "expired": SessionStatus.EXPIRED,
                "type": EventType.EXPIRED,
                "now": now,
                "written": timezone.now(),
                "recovery_base": recovery_url_base(),
                **params,
            },
        )
        return cursor.rowcount


def sessions_expire_selected(due: QuerySet, *, now: datetime) -> int:
    """Expire the open sessions ``due`` selects (and locks), through the ORM: the definition
    of expiring (status, ``expired_at``, the recovery URL, one ``checkout_session.expired``
    event per session continuing its sequence, the payload left for the outbox pass), which
    the statements above repeat in SQL. Any database; returns how many it expired."""
    with transaction.atomic():
        ids = list(due.values_list("id", flat=True))
        if not ids:
            return 0
        CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.OPEN).update(
            status=SessionStatus.EXPIRED, expired_at=now, updated_at=now, recovery_url=recovery_url_expression()
        )
        # Rows we hold locked cannot have changed in between; the filter only keeps
        # this honest on databases without row locks.
        sessions = list(CheckoutSession.objects.filter(pk__in=ids, status=SessionStatus.EXPIRED, expired_at=now)
                        .only("id", "organization_id", "livemode"))
        last = dict(
            Event.objects.filter(checkout_session_id__in=[s.id for s in sessions])
            .values("checkout_session_id")
            .annotate(m=Max("sequence"))
            .values_list("checkout_session_id", "m")
        )
        written = timezone.now()
        Event.objects.bulk_create(
            [
                Event(
                    organization_id=s.organization_id,
                    checkout_session_id=s.id,
                    type=EventType.EXPIRED,
                    livemode=s.livemode,
                    sequence=(last.get(s.id) or 0) + 1,
                    payload=EVENT_PAYLOAD_PENDING,
                    created_at=written,
                    updated_at=written,
                )
                for s in sessions
            ],
            batch_size=1000,
        )
        return len(sessions)


def sessions_expire_next_batch(*, now: datetime, limit: int, use_sql: bool | None = None) -> int:
    """Expire the next ``limit`` due open sessions (due order), skipping rows others hold."""
    if use_sql is None:
        chosen = sql_or_orm(sessions_expire_next_batch_sql, sessions_expire_next_batch_orm)
    else:
        chosen = sessions_expire_next_batch_sql if use_sql else sessions_expire_next_batch_orm
    return chosen(now=now, limit=limit)


def sessions_expire_next_batch_sql(*, now: datetime, limit: int) -> int:
    return _expire_sql(_EXPIRE_BATCH_SQL, now=now, asynchronous=True, limit=limit)


def sessions_expire_next_batch_orm(*, now: datetime, limit: int) -> int:
    due = (CheckoutSession.objects.select_for_update(skip_locked=True)
           .filter(status=SessionStatus.OPEN, expires_at__lte=now).order_by("expires_at")[:limit])
    return sessions_expire_selected(due, now=now)


def sessions_expire_among(*, ids: list, now: datetime) -> int:
    """Expire those of ``ids`` that are open and due, waiting for rows others hold (id order)."""
    return sql_or_orm(sessions_expire_among_sql, sessions_expire_among_orm)(ids=ids, now=now)


def sessions_expire_among_sql(*, ids: list, now: datetime) -> int:
    return _expire_sql(_EXPIRE_AMONG_IDS_SQL, now=now, asynchronous=False, ids=ids)


def sessions_expire_among_orm(*, ids: list, now: datetime) -> int:
    due = (CheckoutSession.objects.select_for_update()
           .filter(pk__in=ids, status=SessionStatus.OPEN, expires_at__lte=now).order_by("pk"))
    return sessions_expire_selected(due, now=now)


# --- plumbing -------------------------------------------------------------------------------------


@cache
def _statements() -> dict[str, str]:
    q = connection.ops.quote_name
    customer, entity = q(Customer._meta.db_table), q(BusinessEntity._meta.db_table)
    return {
        # The customer, its own entity (if it is the organization's) and the default entity.
        "customer": (
            f"SELECT c.id, own.id, own.tax_rate, dflt.id, dflt.tax_rate, own.address, dflt.address, c.address,"
            f" c.tax_info FROM {customer} c"
            f" LEFT JOIN {entity} own ON own.id = c.business_entity_id AND own.organization_id = c.organization_id"
            f" LEFT JOIN {entity} dflt ON dflt.organization_id = c.organization_id AND dflt.is_default"
            " WHERE c.id = %s AND c.organization_id = %s"
        ),
        "entity": f"SELECT id, tax_rate, address FROM {entity} WHERE id = %s AND organization_id = %s",
        "claim": (
            f"INSERT INTO {q(IdempotencyRecord._meta.db_table)}"
            " (organization_id, livemode, key, request_fingerprint, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (organization_id, livemode, key) DO NOTHING RETURNING id"
        ),
    }


def _fetchone(sql: str, params: list):
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# --- billing's events ------------------------------------------------------------------------------


def object_events_insert(events: list[Event]) -> None:
    """Insert billing's ``events`` (``object_id`` set, no session), each numbered after its object's
    last event (in list order within an object): one statement, the sequences read in it. The
    objects' rows are locked by the transaction that announced them, so nobody numbers an
    object's events meanwhile."""
    if events:
        sql_or_orm(object_events_insert_sql, object_events_insert_orm)(events)


def object_events_insert_sql(events: list[Event]) -> None:
    # One array per column (unnest), not a VALUES row per event: a renewal batch announces
    # hundreds of events, and tens of thousands of parameters cost more to bind than to insert.
    db = connections[DEFAULT_DB_ALIAS]
    q = db.ops.quote_name
    fields = [Event._meta.get_field(name) for name in _OBJECT_EVENT_INSERTED]
    columns = ", ".join(q(f.column) for f in fields)
    ranked = list(_ranked(events))
    arrays = [[_column_value(f, event, db) for _, event in ranked] for f in fields]
    arrays.append([rank for rank, _ in ranked])
    types = [f"%s::text[]::{f.db_type(db)}[]" if _is_json(f) else f"%s::{f.db_type(db)}[]" for f in fields]
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(_EVENT)} ({columns}, sequence) SELECT {columns}, COALESCE("
            f"(SELECT max(e.sequence) FROM {q(_EVENT)} e WHERE e.object_id = v.object_id "
            f"AND e.checkout_session_id IS NULL), 0) + v.rank "
            f"FROM unnest({', '.join(types)}, %s::integer[]) AS v({columns}, rank) RETURNING id, sequence",
            arrays)
        sequences = dict(cursor.fetchall())
    for event in events:
        event.sequence = sequences[event.id]
        event._state.adding, event._state.db = False, db.alias


def _is_json(field) -> bool:
    return field.get_internal_type() == "JSONField"


def _column_value(field, event: Event, db):
    value = getattr(event, field.attname)
    if _is_json(field):
        return None if value is None else json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection=db)


def object_events_insert_orm(events: list[Event]) -> None:
    last: dict = {}
    for event in events:
        if event.object_id not in last:
            last[event.object_id] = Event.objects.filter(
                object_id=event.object_id, checkout_session__isnull=True).aggregate(m=Max("sequence"))["m"] or 0
        last[event.object_id] += 1
        event.sequence = last[event.object_id]
    Event.objects.bulk_create(events)


def _ranked(events: list[Event]):
    """Each event with its place among the events of its object in this list (1, 2, …)."""
    seen: dict = {}
    for event in events:
        seen[event.object_id] = seen.get(event.object_id, 0) + 1
        yield seen[event.object_id], event


# The columns an object event is inserted with (the sequence comes from the statement).
_OBJECT_EVENT_INSERTED = ("id", "created_at", "updated_at", "organization", "object_type", "object_id", "type",
                          "livemode", "payload", "dispatched_at")
