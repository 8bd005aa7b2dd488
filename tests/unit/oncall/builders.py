"""Builders for on-call unit tests: people are UUIDs with readable names, layers have defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from uuid import UUID

from pulse.oncall.schedule import Layer, Restriction, Schedule

ANN, BOB, CAT, DAN, EVE = (UUID(int=n) for n in range(1, 6))
NAMES = {ANN: "ann", BOB: "bob", CAT: "cat", DAN: "dan", EVE: "eve"}
WEEKDAYS = frozenset(range(5))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def layer(
    layer_id: int = 1,
    *,
    position: int = 0,
    rotation: str = "daily",
    shift_hours: int | None = None,
    handoff: time = time(9),
    weekday: int | None = None,
    start: date = date(2024, 1, 1),
    people: tuple[UUID, ...] = (ANN, BOB, CAT),
    restrictions: tuple[Restriction, ...] = (),
    name: str | None = None,
) -> Layer:
    return Layer(
        layer_id=layer_id,
        name=name or f"L{layer_id}",
        position=position,
        rotation=rotation,
        shift_hours=shift_hours,
        handoff_time=handoff,
        handoff_weekday=weekday,
        start_date=start,
        participants=people,
        restrictions=restrictions,
    )


def schedule(*layers: Layer, zone: str = "UTC", overrides=()) -> Schedule:
    return Schedule(schedule_id=7, name="Primary", timezone=zone, layers=layers, overrides=tuple(overrides))
