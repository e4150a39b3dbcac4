"""One circuit breaker for every optional dependency a request touches: after a failure the
caller steps aside for a few seconds instead of paying a connection attempt (or a hanging
connect timeout) per request. Used by the two limiters (Redis; they fail open) and by task
queueing (the broker; a periodic task picks up what was not queued)."""

import logging
import time

logger = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, name: str, *, open_seconds: float = 5.0, meanwhile: str = "skipping it"):
        self.name = name
        self.open_seconds = open_seconds
        self.meanwhile = meanwhile  # what callers do while it is open, for the log line
        self.open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def call(self, action):
        """``action()``, or None while open or when it raises (which opens the circuit)."""
        if self.is_open:
            return None
        try:
            return action()
        except Exception:  # noqa: BLE001 - whatever the dependency raised, the request goes on
            self.open_until = time.monotonic() + self.open_seconds
            logger.warning("%s unavailable; %s for %ss", self.name, self.meanwhile, self.open_seconds, exc_info=True)
            return None

    def reset(self) -> None:
        self.open_until = 0.0
