"""A small least-recently-used cache local to one process.

For what is worth keeping in memory between requests of one worker and must keep working
when Redis is down: the hosted page's rendered HTML, the API keys already verified.
Thread-safe (gunicorn's threaded workers share one), bounded, optionally with a
time-to-live per entry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LocalLru:
    def __init__(self, size: int, ttl: float | None = None):
        self._size = size
        self._ttl = ttl
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value, or None when absent or past its time-to-live."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] is not None and entry[0] <= time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        expires = None if self._ttl is None else time.monotonic() + self._ttl
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The cached value, or ``build()``'s, stored (built outside the lock: two threads
        may build the same value once each, never block each other)."""
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
