"""Rate limits and concurrency limits per client, kept in memory (one server process).

A client is the signed-in user's id, or else the peer address. Limits are sliding windows: at most
`limit` events in the last `window` seconds; when over, the caller learns how long to wait.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque

from backend.core.errors import RateLimitedError


class SlidingWindowLimiter:
    def __init__(self, name: str, limit: int, window_seconds: float) -> None:
        self.name = name
        self.limit = limit
        self.window = window_seconds
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, client: str, now: float | None = None) -> None:
        """Count one event for `client`, or raise RateLimitedError with Retry-After when over the limit."""
        if self.limit <= 0:
            return
        now = time.monotonic() if now is None else now
        events = self._events[client]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            retry_after = max(1, math.ceil(events[0] + self.window - now))
            raise RateLimitedError(
                f"Too many {self.name} requests: at most {self.limit} per {self.window:g} seconds. "
                f"Try again in {retry_after} seconds.", retry_after=retry_after)
        events.append(now)
        if len(self._events) > 10_000:  # forget idle clients so memory stays bounded
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for client in [c for c, ev in self._events.items() if not ev or ev[-1] <= now - self.window]:
            del self._events[client]
