"""Celery beat that is safe to start twice: only the holder of a PostgreSQL advisory lock sends.

Every beat process (one per machine, say, for failover) asks for one session-level advisory
lock on its own direct connection to the primary (``BEAT_LOCK_DATABASE_URL``, default
``DATABASE_URL``; never through PgBouncer in transaction mode, where a session lock would be
held by whichever server connection ran the query). The holder runs the schedule; the others
check every ``BEAT_STANDBY_SECONDS`` and send nothing. The holder checks its connection before
every tick: a beat that lost its connection (and so its lock) stops sending until it holds the
lock again. When the active beat dies, its connection closes, PostgreSQL releases the lock at
once, and a standby takes over at its next check (keepalives bound the wait when the machine
itself disappears). The work beat queues is idempotent anyway (row claims, compare-and-set), so
the lock keeps the queues and the database free of duplicated sweeps rather than guarding
correctness.

Without PostgreSQL (the embedded demo on SQLite) there is nothing to lock: beat runs as usual.
"""

from __future__ import annotations

import logging
import os
import socket

import environ
import psycopg
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

# pg_try_advisory_lock's key: "checkout" in ASCII, one 64-bit number.
BEAT_LOCK_KEY = int.from_bytes(b"checkout", "big") & 0x7FFF_FFFF_FFFF_FFFF


def beat_lock_conninfo() -> dict | None:
    """psycopg connection arguments for the lock, or None without PostgreSQL."""
    url = settings.BEAT_LOCK_DATABASE_URL or os.environ.get("DATABASE_URL", "")
    if not url:
        return None
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        return None
    return {
        "host": config.get("HOST") or None, "port": config.get("PORT") or None, "dbname": config["NAME"],
        "user": config.get("USER") or None, "password": config.get("PASSWORD") or None,
        "application_name": f"checkout-beat {socket.gethostname()} {os.getpid()}",
        "connect_timeout": 5, "autocommit": True, "prepare_threshold": None,
        # A holder whose machine vanished is seen dead within ~30 s instead of hours.
        "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
    }


class BeatLock:
    """The advisory lock on its own connection. ``held()`` answers whether this process holds
    it now, trying to take it when it does not."""

    def __init__(self, conninfo: dict):
        self._conninfo = conninfo
        self._conn: psycopg.Connection | None = None
        self._held = False

    def held(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._held = False
                self._conn = psycopg.connect(**self._conninfo)
            if self._held:
                self._conn.execute("SELECT 1")  # still connected, so still holding it
                return True
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()
            self._held = bool(row[0])
            if self._held:
                logger.warning("beat: holds the lock, sending the schedule (pid %s)", os.getpid())
            return self._held
        except psycopg.Error as error:
            if self._held:
                logger.warning("beat: lost the lock's connection (%s); standing by", error)
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                if self._held:
                    # Released now, not when the server notices the closed session: a standby
                    # asking right after a clean shutdown gets it.
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", [BEAT_LOCK_KEY])
                self._conn.close()  # closing the session releases the lock anyway
            except psycopg.Error:
                pass
            self._conn = None
        self._held = False


class LockedScheduler(PersistentScheduler):
    """``CELERY_BEAT_SCHEDULER``: the usual persistent scheduler, ticking only under the lock."""

    def __init__(self, *args, **kwargs):
        conninfo = beat_lock_conninfo()
        self._lock = BeatLock(conninfo) if conninfo else None
        self._active = True if self._lock is None else None  # None: not yet asked
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        if self._lock is not None:
            held = self._lock.held()
            if not held:
                if self._active is not False:
                    logger.warning("beat: standing by, another beat holds the lock (pid %s)", os.getpid())
                self._active = False
                return settings.BEAT_STANDBY_SECONDS
            if not self._active:
                self._active = True
                # Everything overdue runs once now, as on a fresh start (each entry expires
                # before its next run, so nothing piles up).
                self._heap = None
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        if self._lock is not None:
            self._lock.release()
