"""Who is on call: the resolved timeline of a schedule, its gaps, and the answer at one instant.

Resolution order (Grafana OnCall's): overrides win over every layer (among overlapping overrides the
latest-starting wins, ties to the higher override id); then, where a higher-`position` layer has
someone on shift, it wins; lower layers fill the rest; what is left is a gap.

The timeline is a sweep over the sorted boundaries of every layer's shifts and every override in the
range: between two consecutive boundaries nothing changes, so each elementary segment is resolved
once. Cost grows with the number of handoffs, restriction windows and overrides in the range, not with
its length in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID

from pulse.oncall.localtime import zone
from pulse.oncall.schedule import Override, Schedule, Shift, shifts

OVERRIDE_LAYER_NAME = "Override"


@dataclass(frozen=True, slots=True)
class Slot:
    """`user_id` is on call over [start, end) (UTC) through a layer or an override."""

    start: datetime
    end: datetime
    user_id: UUID
    layer_id: int | None  # None for an override
    layer_name: str
    is_override: bool


@dataclass(frozen=True, slots=True)
class Gap:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class OnCallAnswer:
    """Who is on call at an instant. `start`/`end` bound the final slot they are in; None when nobody
    is on call, or when that slot has not changed within a year either side."""

    user_id: UUID | None
    layer_id: int | None
    layer_name: str  # "Override" for an override, "" when nobody
    is_override: bool
    start: datetime | None
    end: datetime | None


NOBODY = OnCallAnswer(None, None, "", False, None, None)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("on-call times must be timezone-aware")
    return value.astimezone(UTC)


def _override_rank(override: Override) -> tuple[datetime, int]:
    return (_utc(override.start), override.override_id)


def timeline(schedule: Schedule, start: datetime, end: datetime) -> list[Slot]:
    """The final resolved slots over [start, end): sorted, contiguous where someone is on call, cut at
    real handoffs and overrides, adjacent slots of the same user and source merged, gaps omitted."""
    start, end = _utc(start), _utc(end)
    if start >= end:
        return []
    tz = zone(schedule.timezone)
    # Highest position first; equal positions (never stored, the database refuses them) by layer id.
    layers = sorted(schedule.layers, key=lambda layer: (layer.position, layer.layer_id), reverse=True)
    layer_shifts: list[list[Shift]] = [shifts(layer, tz, start, end) for layer in layers]
    overrides = sorted(
        (o for o in schedule.overrides if _utc(o.start) < end and _utc(o.end) > start),
        key=lambda o: _utc(o.start),
    )

    boundaries = {start, end}
    for shift_list in layer_shifts:
        for shift in shift_list:
            boundaries.add(shift.start)
            boundaries.add(shift.end)
    for override in overrides:
        boundaries.add(max(_utc(override.start), start))
        boundaries.add(min(_utc(override.end), end))

    slots: list[Slot] = []
    cursors = [0] * len(layers)
    next_override = 0
    active: list[Override] = []
    for seg_start, seg_end in pairwise(sorted(boundaries)):
        while next_override < len(overrides) and _utc(overrides[next_override].start) <= seg_start:
            active.append(overrides[next_override])
            next_override += 1
        active = [o for o in active if _utc(o.end) > seg_start]
        slot = None
        if active:
            winner = max(active, key=_override_rank)
            slot = Slot(seg_start, seg_end, winner.user_id, None, OVERRIDE_LAYER_NAME, True)
        else:
            for index, layer in enumerate(layers):
                shift_list, cursor = layer_shifts[index], cursors[index]
                while cursor < len(shift_list) and shift_list[cursor].end <= seg_start:
                    cursor += 1
                cursors[index] = cursor
                if cursor < len(shift_list) and shift_list[cursor].start <= seg_start:
                    user = shift_list[cursor].user_id
                    slot = Slot(seg_start, seg_end, user, layer.layer_id, layer.name, False)
                    break
        if slot is None:
            continue
        previous = slots[-1] if slots else None
        if (
            previous is not None
            and previous.end == slot.start
            and previous.user_id == slot.user_id
            and previous.layer_id == slot.layer_id
            and previous.is_override == slot.is_override
        ):
            slots[-1] = Slot(
                previous.start, slot.end, slot.user_id, slot.layer_id, slot.layer_name, slot.is_override
            )
        else:
            slots.append(slot)
    return slots


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Gap]:
    """The periods of [start, end) in which nobody is on call."""
    start, end = _utc(start), _utc(end)
    found: list[Gap] = []
    cursor = start
    for slot in timeline(schedule, start, end):
        if slot.start > cursor:
            found.append(Gap(cursor, slot.start))
        cursor = slot.end
    if cursor < end:
        found.append(Gap(cursor, end))
    return found


# How far around `at` the slot's bounds are looked for: most answers need only the first.
_HORIZONS = (timedelta(days=7), timedelta(days=49), timedelta(days=366))


def who_is_on_call(schedule: Schedule, at: datetime) -> OnCallAnswer:
    """Who is on call at `at`, through which layer or override, and the bounds of that final slot."""
    at = _utc(at)
    for horizon in _HORIZONS:
        window_start, window_end = at - horizon, at + horizon
        slot = next((s for s in timeline(schedule, window_start, window_end) if s.start <= at < s.end), None)
        if slot is None:
            return NOBODY
        starts_open, ends_open = slot.start == window_start, slot.end == window_end
        if (starts_open or ends_open) and horizon != _HORIZONS[-1]:
            continue  # the slot may reach beyond this window: look further
        return OnCallAnswer(
            user_id=slot.user_id,
            layer_id=slot.layer_id,
            layer_name=slot.layer_name,
            is_override=slot.is_override,
            start=None if starts_open else slot.start,
            end=None if ends_open else slot.end,
        )
    return NOBODY  # unreachable: the last horizon always answers
