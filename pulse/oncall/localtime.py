"""Wall-clock times of a schedule's zone turned into instants, with one rule for the two DST cases.

- A wall-clock time that does not exist (the spring-forward gap, e.g. 02:30 on the night clocks jump
  02:00 → 03:00) happens at the first instant after the gap: the transition itself (03:00 local).
- An ambiguous one (the fall-back overlap, e.g. 01:30 that occurs twice) happens at its first
  occurrence (`fold=0`).

`zoneinfo` alone gets the second right, but maps a gap time with the offset before the transition
(02:30 EST = 03:30 EDT), half an hour after the gap ends; `localize` finds the transition instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone (ZoneInfoNotFoundError for an unknown name: callers validate names first)."""
    return ZoneInfo(name)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (see the module docstring for gaps and overlaps)."""
    instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap. `fold=1` reads the time with the offset after the transition, which puts it before the
    # transition; `fold=0` with the offset before, after it. The transition is the first instant in
    # between whose offset is the new one (bisected to the second: zone transitions are whole seconds).
    early = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    late = instant
    new_offset = late.astimezone(tz).utcoffset()
    while late - early > _SECOND:
        middle = early + (late - early) / 2
        middle = middle.replace(microsecond=0)
        if middle <= early:
            break
        if middle.astimezone(tz).utcoffset() == new_offset:
            late = middle
        else:
            early = middle
    return late


def wall_clock(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)
