"""Adaptive concurrency: how many requests a task keeps in flight, cut on 429 and grown back on success.

Additive increase, multiplicative decrease (as TCP does): every 429 the provider sends (including those
the SDK retries by itself) halves the limit, at most once per `cooldown` seconds so that one burst of
429s counts as one signal; after `limit` successes in a row the limit grows by one, up to the maximum
the request asked for. The batch loop starts a new request only while fewer than `limit` are in flight.

    >>> clock = iter([0.0, 0.1, 5.0]).__next__
    >>> limit = AdaptiveLimit(8, cooldown=1.0, clock=clock)
    >>> limit.on_throttle(); limit.limit          # cut
    4
    >>> limit.on_throttle(); limit.limit          # same burst: no second cut
    4
    >>> for _ in range(4): limit.on_success()
    >>> limit.limit
    5
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class AdaptiveLimit:
    def __init__(self, maximum: int, *, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.lowest = self.maximum
        self.cuts = 0
        self._cooldown = cooldown
        self._clock = clock
        self._last_cut = -math.inf
        self._successes = 0

    def on_throttle(self) -> None:
        now = self._clock()
        if now - self._last_cut < self._cooldown:
            return
        self._last_cut = now
        self._successes = 0
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self.cuts += 1

    def on_success(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0
