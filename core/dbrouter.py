"""Reads that tolerate lag go to a streaming replica (``DATABASE_REPLICA_URL``); everything else
stays on the primary.

Only views marked with ``replica_reads`` (the ops dashboard, the API's list endpoints) read from
the replica, and only their ORM queries: the hosted page, the API's creates, retrieves, updates
and confirms, every service and every Celery task read the primary, so whoever just wrote reads
what they wrote. A merchant that wrote through the API in the last ``REPLICA_STICKY_SECONDS``
reads its lists from the primary too (a flag in the shared cache, so it holds across web nodes).

The replica is used while it answers and lags less than ``REPLICA_MAX_LAG_SECONDS``; each
process checks that at most every ``REPLICA_CHECK_SECONDS``. A marked view whose replica query
fails (the replica stopped, its connection dropped) runs again on the primary, and the replica
is left alone until the next check. Without ``DATABASE_REPLICA_URL`` there is no router
(``DATABASE_ROUTERS`` is empty) and ``replica_reads`` calls the view as it is: the embedded
SQLite demo and the test suite never see any of this.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
_wanted: ContextVar[bool] = ContextVar("replica_reads_wanted", default=False)


class PrimaryReplicaRouter:
    """Installed by config/settings.py only when a replica is configured."""

    def db_for_read(self, model, **hints):
        if _wanted.get() and replica_usable():
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        # Explicit: an instance read from the replica is saved on the primary, never on the
        # replica (Django would otherwise follow the instance's own database).
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- health: per process, checked at most every REPLICA_CHECK_SECONDS ------------------------

_health_lock = threading.Lock()
_health = {"usable": True, "checked_at": float("-inf")}


def replica_usable() -> bool:
    """Is the replica answering and caught up enough? Checked now if the last check is older
    than ``REPLICA_CHECK_SECONDS`` (one thread checks, the others use the last answer)."""
    now = time.monotonic()
    if now - _health["checked_at"] < settings.REPLICA_CHECK_SECONDS:
        return _health["usable"]
    if not _health_lock.acquire(blocking=False):
        return _health["usable"]
    try:
        _health["usable"] = _replica_check()
        _health["checked_at"] = time.monotonic()
        return _health["usable"]
    finally:
        _health_lock.release()


def replica_mark_down() -> None:
    """A replica query failed: the primary serves until the next check."""
    _health.update(usable=False, checked_at=time.monotonic())


def replica_lag_seconds() -> float | None:
    """How far behind the replica is: 0 when it replayed all it received (an idle primary sends
    nothing, which is not lag), else the age of the last replayed transaction. None when it
    cannot be asked."""
    conn = connections[REPLICA]
    try:
        conn.close_if_unusable_or_obsolete()
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),"
                " COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)")
            caught_up, lag = cursor.fetchone()
    except DatabaseError:
        conn.close()
        return None
    return 0.0 if caught_up else float(lag)


def _replica_check() -> bool:
    lag = replica_lag_seconds()
    usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    if usable != _health["usable"]:
        logger.warning("database replica %s (lag: %s s)", "back in use" if usable else "not used", lag)
    return usable


# --- read-your-writes across nodes ----------------------------------------------------------


def _sticky_key(organization_id) -> str:
    return f"db:primary-sticky:{organization_id}"


def primary_sticky_mark(organization_id) -> None:
    """``organization_id`` just wrote: its lag-tolerant reads use the primary for a while."""
    if not replica_configured() or organization_id is None:
        return
    try:
        cache.set(_sticky_key(organization_id), 1, timeout=settings.REPLICA_STICKY_SECONDS)
    except Exception:  # noqa: BLE001 - cache down: primary_sticky() answers True then anyway
        logger.warning("could not mark organization %s primary-sticky", organization_id, exc_info=True)


def primary_sticky(organization_id) -> bool:
    try:
        return bool(cache.get(_sticky_key(organization_id)))
    except Exception:  # noqa: BLE001 - cannot tell: read-your-writes wins over offloading
        return True


# --- the marker for lag-tolerant views -------------------------------------------------------


def replica_reads(view=None, *, organization_of=None):
    """Mark a view (a function, or an APIView's method) whose ORM reads may come from the
    replica. ``organization_of(request)``: the organization whose recent writes pin the view to
    the primary (read-your-writes for API callers)."""

    def decorate(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            if not replica_configured():
                return func(*args, **kwargs)
            if organization_of is not None:
                request = next(a for a in args if hasattr(a, "META"))
                if primary_sticky(organization_of(request)):
                    return func(*args, **kwargs)
            token = _wanted.set(True)
            try:
                return func(*args, **kwargs)
            except DatabaseError:
                if replica_lag_seconds() is not None:
                    raise  # the replica answers: the error is the view's own
                logger.warning("replica read failed; answering from the primary", exc_info=True)
                replica_mark_down()
                connections[REPLICA].close()
                _wanted.set(False)
                return func(*args, **kwargs)
            finally:
                _wanted.reset(token)

        return wrapped

    return decorate(view) if view is not None else decorate



def replica_reading() -> bool:
    """Whether the ORM reads made here go to the replica now (a ``replica_reads`` view, a
    replica configured and usable)."""
    return _wanted.get() and replica_configured() and replica_usable()


@contextmanager
def primary_reads() -> Iterator[None]:
    """Inside a ``replica_reads`` view, the reads of this block go to the primary: a view that
    writes, then reads what it wrote (or must not read older than the primary)."""
    token = _wanted.set(False)
    try:
        yield
    finally:
        _wanted.reset(token)
