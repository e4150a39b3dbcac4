"""The events list reads the replica (it tolerates lag, like the other lists), never with gaps;
the retrieve and a merchant that just wrote read the primary (docs/scaling.md, read-your-writes).

The suite has one database: a router that records where each read would go (the product's own
``PrimaryReplicaRouter`` decides) and then reads the primary stands in for the replica. The
stickiness flag is the real one, in the test Redis."""

import pytest
from django.db import DEFAULT_DB_ALIAS, router
from django.utils import timezone

from checkout.api import events as events_api
from checkout.models import EVENT_PAYLOAD_PENDING, Event
from core import dbrouter
from tests.checkout.factories import CheckoutSessionFactory, EventFactory

from .conftest import URL

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"


class _RecordingRouter(dbrouter.PrimaryReplicaRouter):
    def __init__(self):
        self.reads: list[tuple[str, str]] = []

    def db_for_read(self, model, **hints):
        self.reads.append((model.__name__, super().db_for_read(model, **hints)))
        return DEFAULT_DB_ALIAS

    def event_reads(self) -> list[str]:
        return [db for name, db in self.reads if name == "Event"]


@pytest.fixture
def replica(monkeypatch):
    recording = _RecordingRouter()
    monkeypatch.setattr(dbrouter, "replica_configured", lambda: True)
    monkeypatch.setattr(dbrouter, "replica_usable", lambda: True)
    monkeypatch.setattr(router, "routers", [recording])
    return recording


def _event(merchant, **fields) -> Event:
    session = CheckoutSessionFactory(organization=merchant.organization)
    return EventFactory(checkout_session=session, sequence=1, **{"dispatched_at": timezone.now(), **fields})


def test_events_list_reads_the_replica_after_completing_payloads_on_the_primary(merchant, replica):
    event = _event(merchant)

    response = merchant.get(EVENTS)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["data"]] == [str(event.pk)]
    reads = replica.event_reads()
    assert reads[0] == "default"  # event_payloads_complete_pending: the primary, where it writes
    assert reads[1:] and set(reads[1:]) == {"replica"}


def test_events_list_reads_the_primary_while_the_replica_shows_payloads_pending(merchant, replica, monkeypatch):
    # The completion ran on the primary, the replica has not replayed it: the replica still shows
    # the event pending and would list the newer one without it (a gap).
    monkeypatch.setattr(events_api, "event_payloads_complete_pending", lambda **scope: 1)
    _event(merchant, payload=EVENT_PAYLOAD_PENDING, dispatched_at=None)

    assert merchant.get(EVENTS).status_code == 200

    reads = replica.event_reads()
    assert reads[0] == "replica"  # the pending check
    assert reads[1:] and set(reads[1:]) == {"default"}


def test_events_list_reads_the_primary_for_a_merchant_that_just_wrote(merchant, replica):
    session_id = _event(merchant).checkout_session_id
    assert merchant.post({"reason": "abandoned"}, path=f"{URL}/{session_id}/cancel").status_code == 200
    replica.reads.clear()

    assert merchant.get(EVENTS).status_code == 200

    assert replica.event_reads() and set(replica.event_reads()) == {"default"}


def test_events_retrieve_reads_the_primary(merchant, replica):
    event = _event(merchant)

    assert merchant.get(f"{EVENTS}/{event.pk}").status_code == 200

    assert replica.event_reads() and set(replica.event_reads()) == {"default"}
