"""Every hand-written statement in checkout/fastsql.py against its ORM twin, on PostgreSQL, with
the same rows: identical results (so the ORM path, which the SQLite demo runs, is tested too)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from checkout import fastsql
from checkout.enums import EventType, IdempotencyStatus, SessionStatus
from checkout.models import CheckoutSession, Event, IdempotencyRecord
from tests.checkout.factories import CheckoutSessionFactory, EventFactory, IdempotencyRecordFactory
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                       reason="compares the PostgreSQL statements with the ORM"),
]


def test_customer_entities_sql_equals_orm():
    org, other = OrganizationFactory(), OrganizationFactory()
    default = BusinessEntityFactory(organization=org, is_default=True, tax_rate=Decimal("8.2500"))
    own = CustomerFactory(organization=org, business_entity__tax_rate=Decimal("19.0000"))
    foreign_entity = CustomerFactory(organization=org, business_entity=BusinessEntityFactory(organization=other))
    cases = [(org.pk, own.pk), (org.pk, foreign_entity.pk), (other.pk, own.pk), (org.pk, uuid.uuid4())]
    results = [(fastsql.customer_entities_sql(organization_id=o, customer_id=c),
                fastsql.customer_entities_orm(organization_id=o, customer_id=c)) for o, c in cases]
    for sql, orm in results:
        assert sql == orm
    assert results[0][0][:5] == (own.pk, own.business_entity_id, Decimal("19.0000"), default.pk, Decimal("8.2500"))
    # what the tax rule reads (billing.tax): both entities' addresses, the customer's address and tax ids
    assert results[0][0][5:] == (own.business_entity.address, default.address, own.address, own.tax_info)
    assert results[1][0].own_entity_id is None  # another organization's entity is not the customer's
    assert results[2][0] is None and results[3][0] is None


def test_business_entity_sql_equals_orm():
    entity = BusinessEntityFactory(tax_rate=None)
    for organization_id, entity_id in [(entity.organization_id, entity.pk), (OrganizationFactory().pk, entity.pk),
                                       (entity.organization_id, uuid.uuid4())]:
        sql = fastsql.business_entity_sql(organization_id=organization_id, entity_id=entity_id)
        assert sql == fastsql.business_entity_orm(organization_id=organization_id, entity_id=entity_id)
    assert fastsql.business_entity_sql(organization_id=entity.organization_id, entity_id=entity.pk) == (entity.pk, None, entity.address)


def test_event_payloads_write_sql_equals_orm():
    events = [EventFactory(payload={}) for _ in range(4)]
    payloads = [{"object": {"n": i, "text": "é \"quoted\"", "nested": [1, None, {"x": True}]}} for i in range(4)]
    fastsql.event_payloads_write_sql({e.pk: p for e, p in zip(events[:2], payloads[:2], strict=True)})
    fastsql.event_payloads_write_orm({e.pk: p for e, p in zip(events[2:], payloads[2:], strict=True)})
    assert [Event.objects.get(pk=e.pk).payload for e in events] == payloads


def _expired_state(sessions) -> list:
    """What expiring wrote, per session, without ids and tokens."""
    rows = []
    for session in sessions:
        session.refresh_from_db()
        events = list(Event.objects.filter(checkout_session=session).order_by("sequence")
                      .values_list("type", "sequence", "livemode", "payload", "dispatched_at"))
        rows.append((session.status, session.expired_at, bool(session.recovery_url),
                     session.recovery_url.endswith(f"/pay/{session.token}/recover"), events))
    return rows


def _twin_sessions(now):
    """Two identical sets of sessions (one per organization): due with and without recovery,
    due with an earlier event, not due, due but processing."""
    sets = []
    for _ in range(2):
        org = OrganizationFactory()
        due = now - datetime.timedelta(minutes=5)
        rows = [
            CheckoutSessionFactory(organization=org, expires_at=due, recovery_enabled=True, livemode=True),
            CheckoutSessionFactory(organization=org, expires_at=due),
            CheckoutSessionFactory(organization=org, expires_at=due),
            CheckoutSessionFactory(organization=org, expires_at=now + datetime.timedelta(hours=1)),
            CheckoutSessionFactory(organization=org, expires_at=due, status=SessionStatus.PROCESSING),
        ]
        EventFactory(checkout_session=rows[2], type=EventType.PAYMENT_FAILED, sequence=1, payload={"object": {}})
        sets.append(rows)
    return sets


def test_expiring_the_next_batch_sql_equals_orm():
    now = timezone.now()
    by_sql, by_orm = _twin_sessions(now)
    CheckoutSession.objects.filter(pk__in=[s.pk for s in by_orm]).update(expires_at=now + datetime.timedelta(days=9))
    assert fastsql.sessions_expire_next_batch_sql(now=now, limit=10) == 3
    CheckoutSession.objects.filter(pk__in=[s.pk for s in by_orm]).update(
        expires_at=now - datetime.timedelta(minutes=5))
    CheckoutSession.objects.filter(pk=by_orm[3].pk).update(expires_at=now + datetime.timedelta(hours=1))
    assert fastsql.sessions_expire_next_batch_orm(now=now, limit=10) == 3
    assert _expired_state(by_sql) == _expired_state(by_orm)
    assert [row[0] for row in _expired_state(by_sql)] == ["expired", "expired", "expired", "open", "processing"]


def test_expiring_among_ids_sql_equals_orm():
    now = timezone.now()
    by_sql, by_orm = _twin_sessions(now)
    assert fastsql.sessions_expire_among_sql(ids=[s.pk for s in by_sql], now=now) == 3
    assert fastsql.sessions_expire_among_orm(ids=[s.pk for s in by_orm], now=now) == 3
    assert _expired_state(by_sql) == _expired_state(by_orm)


# --- an idempotency claim and the session that completes it ---------------------------------------


def test_idempotency_claim_insert_sql_equals_orm():
    org, now = OrganizationFactory(), timezone.now()
    results = []
    for insert, key in [(fastsql.idempotency_claim_insert_sql, "by-sql"), (fastsql.idempotency_claim_insert_orm, "by-orm")]:
        first = insert(organization_id=org.pk, livemode=True, key=key, fingerprint="a" * 64, now=now)
        again = insert(organization_id=org.pk, livemode=True, key=key, fingerprint="b" * 64, now=now)  # taken
        other_mode = insert(organization_id=org.pk, livemode=False, key=key, fingerprint="c" * 64, now=now)
        elsewhere = insert(organization_id=OrganizationFactory().pk, livemode=True, key=key, fingerprint="d" * 64,
                           now=now)
        record = IdempotencyRecord.objects.get(pk=first)
        results.append((again, other_mode is not None, elsewhere is not None, record.livemode,
                        record.request_fingerprint, record.status, record.created_at,
                        IdempotencyRecord.objects.filter(organization=org, key=key).count()))
    assert results[0] == results[1] == (None, True, True, True, "a" * 64, IdempotencyStatus.IN_PROGRESS, now, 2)


def _unsaved_copy(source: CheckoutSession, now) -> CheckoutSession:
    copy = CheckoutSession(**{f.attname: getattr(source, f.attname) for f in CheckoutSession._meta.concrete_fields})
    copy.pk, copy.token = uuid.uuid4(), f"tok_{uuid.uuid4().hex}"
    copy._state.adding = True
    copy.created_at = copy.updated_at = now
    return copy


def _stored(session: CheckoutSession) -> dict:
    row = CheckoutSession.objects.filter(pk=session.pk).values().first()
    return row and {k: v for k, v in row.items() if k not in ("id", "token")}


def test_session_insert_completing_claim_sql_equals_orm():
    source = CheckoutSessionFactory(metadata={"order": "7", "nested": {"n": 1.5}}, attribution={"utm_source": "x"},
                                    customer_details={"email": "a@example.com"})
    now = timezone.now() - datetime.timedelta(seconds=3)
    inserts = [fastsql.session_insert_completing_claim_sql, fastsql.session_insert_completing_claim_orm]
    results = []
    for n, insert in enumerate(inserts):
        record = IdempotencyRecordFactory(organization=source.organization)
        session, body = _unsaved_copy(source, now), f'{{"n": {n}}}'.encode()
        stale = insert(record_id=record.pk, claimed_at=record.created_at - datetime.timedelta(seconds=1),
                       session=session, body=body)
        assert (stale, _stored(session), IdempotencyRecord.objects.get(pk=record.pk).status) == (
            False, None, IdempotencyStatus.IN_PROGRESS)  # taken over meanwhile: nothing written
        ours = insert(record_id=record.pk, claimed_at=record.created_at, session=session, body=body)
        record.refresh_from_db()
        results.append((ours, session._state.adding, session.created_at, _stored(session), record.status,
                        record.response_status, bytes(record.response_body) == body,
                        record.checkout_session_id == session.pk))
    assert results[0] == results[1]
    assert results[0][:3] == (True, False, now)
    assert results[0][3]["created_at"] == results[0][3]["updated_at"] == now  # the times the body shows
    assert results[0][3]["metadata"] == {"order": "7", "nested": {"n": 1.5}}
    assert results[0][4:] == (IdempotencyStatus.COMPLETED, 201, True, True)
