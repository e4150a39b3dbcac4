"""The process-local LRU behind the page cache and the verified-key cache."""

import threading

from core import lru
from core.lru import LocalLru


def test_the_least_recently_used_entry_goes_first():
    cache = LocalLru(size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_entries_expire_after_their_time_to_live(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(lru.time, "monotonic", lambda: now[0])
    cache = LocalLru(size=4, ttl=60)
    cache.put("page", "<html>")

    now[0] += 59.9
    assert cache.get("page") == "<html>"
    now[0] += 0.1
    assert cache.get("page") is None
    assert len(cache) == 0


def test_without_a_ttl_entries_stay_until_evicted_or_popped(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(lru.time, "monotonic", lambda: now[0])
    cache = LocalLru(size=4)
    cache.put("key", "value")
    now[0] += 10**9

    assert cache.get("key") == "value"
    cache.pop("key")
    cache.pop("key")  # popping an absent key is fine
    assert cache.get("key") is None


def test_get_or_build_builds_only_on_a_miss():
    cache = LocalLru(size=4)
    built = []

    def build():
        built.append(1)
        return "value"

    assert cache.get_or_build("k", build) == "value"
    assert cache.get_or_build("k", build) == "value"
    assert built == [1]


def test_threads_never_see_more_than_size_entries():
    cache = LocalLru(size=50)

    def writer(offset):
        for i in range(2_000):
            cache.put((offset, i), i)
            cache.get((offset, i - 1))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(cache) == 50
