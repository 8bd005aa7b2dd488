"""In-process rate limiters for ingest.

- `TokenBuckets`: per-key token bucket (capacity = burst, refilled at `rate` per second, starts full,
  one token per message). Used per device and, with a larger budget, per tenant, on both transports.
- `SlidingWindows`: per-key sliding-window log for the HTTP endpoints (per IP, per device, global);
  answers how long to wait, for `Retry-After`.

Both forget keys that went idle, so a flood of distinct keys cannot grow memory without bound.
"""

from __future__ import annotations

import math
import time
from collections import deque


class TokenBuckets:
    def __init__(self, *, idle_ttl: float = 3600.0, clock=time.monotonic):
        self._buckets: dict[object, list[float]] = {}  # key -> [tokens, last refill time]
        self._idle_ttl = idle_ttl
        self._clock = clock
        self._next_purge = clock() + idle_ttl

    def allow(self, key: object, rate: float, burst: float) -> bool:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [burst, now]
        else:
            bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        if now >= self._next_purge:
            self._purge(now)
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return True
        return False

    def _purge(self, now: float) -> None:
        cutoff = now - self._idle_ttl
        for key in [k for k, b in self._buckets.items() if b[1] < cutoff]:
            del self._buckets[key]
        self._next_purge = now + self._idle_ttl


class SlidingWindows:
    """At most `limit` hits per `window` seconds per key."""

    def __init__(self, limit: int, window: float, *, clock=time.monotonic):
        self.limit, self.window = limit, window
        self._hits: dict[object, deque[float]] = {}
        self._clock = clock
        self._next_purge = clock() + max(window, 60.0)

    def hit(self, key: object) -> float | None:
        """Record a hit; None if allowed, else the seconds until one would be (for Retry-After)."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if now >= self._next_purge:
            self._purge(cutoff, now)
        if len(hits) >= self.limit:
            return max(hits[0] - cutoff, 0.001)
        hits.append(now)
        return None

    def _purge(self, cutoff: float, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= cutoff]:
            del self._hits[key]
        self._next_purge = now + max(self.window, 60.0)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
