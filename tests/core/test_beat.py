"""Beat safe when started twice (core/beat.py): the PostgreSQL advisory lock, for real, on two
connections of the test database."""

import time

import pytest
from django.db import connection

from core.beat import BEAT_LOCK_KEY, BeatLock, LockedScheduler

pytestmark = pytest.mark.django_db(transaction=True)


def _conninfo(name: str) -> dict:
    if connection.vendor != "postgresql":
        pytest.skip("the lock is PostgreSQL's")
    s = connection.settings_dict
    return {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "dbname": s["NAME"], "user": s["USER"],
            "password": s["PASSWORD"] or None, "application_name": name, "autocommit": True}


def _holders() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = %s",
            [BEAT_LOCK_KEY])
        return [row[0] for row in cursor.fetchall()]


def test_beat_lock_second_beat_stands_by_until_first_releases():
    first, second = BeatLock(_conninfo("beat-a")), BeatLock(_conninfo("beat-b"))
    try:
        assert first.held() is True
        assert second.held() is False
        assert first.held() is True  # asking again keeps it
        assert _holders() == ["beat-a"]
        first.release()  # the active beat dies: its session ends
        assert second.held() is True
        assert _holders() == ["beat-b"]
        assert first.held() is False
    finally:
        first.release()
        second.release()


def test_beat_lock_lost_connection_stops_sending():
    lock = BeatLock(_conninfo("beat-a"))
    try:
        assert lock.held() is True
        with connection.cursor() as cursor:  # an operator (or a failover) ends its session
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'beat-a'")
        assert lock.held() is False  # noticed at once: no tick sent on a lock it no longer has
        assert lock.held() is True  # next check: free again, so taken again
    finally:
        lock.release()


def test_locked_scheduler_standby_sends_nothing(settings, monkeypatch, tmp_path):
    from config.celery import app

    holder = BeatLock(_conninfo("beat-a"))
    assert holder.held()
    sent = []
    monkeypatch.setattr(LockedScheduler, "apply_async", lambda self, entry, **kw: sent.append(entry.name))
    s = connection.settings_dict
    settings.BEAT_LOCK_DATABASE_URL = (f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
                                       f"/{s['NAME']}")
    scheduler = LockedScheduler(app=app, schedule_filename=str(tmp_path / "schedule"))
    scheduler.update_from_dict({"every-second": {"task": "checkout.events_dispatch_pending", "schedule": 0.01}})
    try:
        assert scheduler.tick() == settings.BEAT_STANDBY_SECONDS
        assert sent == []
        holder.release()
        # Once it holds the lock it sends what is due; each tick sends the heap's first due entry
        # (the project's own beat entries are due too), so allow it a few ticks. The entry is due
        # 10 ms after it was added: on a quiet machine thirty ticks in a row can all come sooner,
        # so wait that long between them, as beat itself sleeps what tick() returns.
        for _ in range(30):
            scheduler.tick()
            if "every-second" in sent:
                break
            time.sleep(0.02)
        assert "every-second" in sent
    finally:
        holder.release()
        scheduler.close()
