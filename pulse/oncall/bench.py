"""How long the resolved timeline takes on a busy schedule (called by `pulse bench escalation`).

The schedule: five layers in Europe/London over a 90-day range that crosses a DST change — a 36-hour
rotation, a 12-hour one, a weekday 09:00-17:00 business-hours layer, a nightly layer whose window wraps
midnight, a weekly one at the bottom — and 50 overrides, some overlapping.
"""

from __future__ import annotations

import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from pulse.oncall.resolve import timeline
from pulse.oncall.schedule import Layer, Override, Restriction, Schedule

BENCH_START = datetime(2025, 2, 1, tzinfo=UTC)
BENCH_DAYS = 90
WEEKDAYS = frozenset(range(5))


def _people(first: int, count: int) -> tuple[UUID, ...]:
    return tuple(UUID(int=n) for n in range(first, first + count))


def busy_schedule() -> Schedule:
    start = BENCH_START.date() - timedelta(days=30)
    layers = (
        Layer(1, "Weekly base", 0, "weekly", None, time(9), 0, start, _people(1, 6)),
        Layer(2, "Twelve hours", 1, "hourly", 12, time(8), None, start, _people(10, 4)),
        Layer(3, "Thirty-six hours", 2, "hourly", 36, time(6, 30), None, date(2025, 1, 3), _people(20, 5)),
        Layer(
            4,
            "Business hours",
            3,
            "daily",
            None,
            time(9),
            None,
            start,
            _people(30, 3),
            (Restriction(WEEKDAYS, time(9), time(17)),),
        ),
        Layer(
            5,
            "Nights",
            4,
            "daily",
            None,
            time(22),
            None,
            start,
            _people(40, 2),
            (Restriction(frozenset(range(7)), time(22), time(6)),),
        ),
    )
    overrides = tuple(
        Override(
            n,
            UUID(int=100 + n % 7),
            BENCH_START + timedelta(hours=41 * n + 3),
            BENCH_START + timedelta(hours=41 * n + 3 + 4 + (n % 5) * 11),
        )
        for n in range(1, 51)
    )
    return Schedule(1, "Bench", "Europe/London", layers, overrides)


def timeline_benchmark(repeats: int) -> dict:
    """p50/p99 milliseconds of computing the 90-day timeline of `busy_schedule`, and its size."""
    schedule = busy_schedule()
    end = BENCH_START + timedelta(days=BENCH_DAYS)
    timings: list[float] = []
    slots = 0
    for _ in range(max(repeats, 1)):
        began = clock.perf_counter()
        slots = len(timeline(schedule, BENCH_START, end))
        timings.append((clock.perf_counter() - began) * 1000)
    timings.sort()
    return {
        "repeats": len(timings),
        "days": BENCH_DAYS,
        "layers": len(schedule.layers),
        "overrides": len(schedule.overrides),
        "slots": slots,
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 3),
    }
