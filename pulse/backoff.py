"""Exponential backoff: how long every retry in Pulse waits.

`exponential_delay` is the ceiling base·2^(attempt-1), capped; `full_jitter` draws uniformly below it,
so copies that failed together (every notify worker after a provider outage) do not retry together.
`Backoff` keeps a retry loop's place — reconnecting listeners, the ingest batch writer — and is reset
after a success. Its delays are the plain ceilings unless it is given a random source.
"""

from __future__ import annotations

import asyncio
import random

# 2^64 times any sensible base is far past any cap: the exponent stops there, so a retry loop that runs
# through a days-long outage never overflows a float.
_MAX_EXPONENT = 64


def exponential_delay(attempt: int, base: float, cap: float) -> float:
    """base, 2·base, 4·base … for attempt 1, 2, 3 …, never more than `cap`."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return min(cap, base * 2 ** min(attempt - 1, _MAX_EXPONENT))


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Uniform in [0, exponential_delay(attempt, base, cap)] ("full jitter")."""
    return rng.uniform(0, exponential_delay(attempt, base, cap))


class Backoff:
    """The delays of one retry loop: `next_delay()` after each failure, `reset()` after a success."""

    def __init__(self, base: float, cap: float, *, rng: random.Random | None = None):
        self.base, self.cap = base, cap
        self._rng = rng  # given: full jitter; None: the ceilings themselves
        self.attempt = 0

    def next_delay(self) -> float:
        self.attempt += 1
        if self._rng is not None:
            return full_jitter(self.attempt, self.base, self.cap, self._rng)
        return exponential_delay(self.attempt, self.base, self.cap)

    async def sleep(self) -> None:
        await asyncio.sleep(self.next_delay())

    def reset(self) -> None:
        self.attempt = 0
