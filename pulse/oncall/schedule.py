"""On-call schedules as plain data, and when each layer's people are on shift.

Rotation semantics (the contract `who_is_on_call`, the timeline and the escalation worker rely on):

- A layer's first handoff is at `handoff_time`, local to the schedule's zone, on `start_date`
  (weekly: on the first date >= `start_date` whose weekday is `handoff_weekday`, 0 = Monday; without
  one, `start_date`'s own weekday).
- Handoff k is the first handoff plus k periods in WALL-CLOCK terms: daily k days, weekly 7k days,
  hourly k * `shift_hours` hours, computed on naive local date-times and only then placed in the zone.
  A 09:00 handoff therefore stays 09:00 local across daylight-saving changes (that shift is 23 or 25
  real hours long).
- Shift k (from handoff k to handoff k+1) belongs to `participants[k % len(participants)]`: the index
  is arithmetic on k since the first handoff, continuous across weeks; nothing restarts weekly and
  nothing walks through history.
- A handoff whose wall-clock time does not exist (spring-forward gap) happens at the transition, the
  first instant after the gap; an ambiguous one (fall-back) at its first occurrence
  (`pulse.oncall.localtime`).
- Before its first handoff a layer has nobody; a layer without participants has nobody.
- Restrictions: a layer with restrictions has its participant on shift only inside them. A restriction
  is a local wall-clock window on some weekdays; `end <= start` runs past midnight into the next day
  (the weekday is the day it starts), so `start == end` is a whole 24 hours. Window ends are placed in
  the zone by the same rule as handoffs.

Everything here is pure: `shifts` and `restriction_windows` compute intervals over a half-open UTC range
[start, end) from the layer's definition alone, in time proportional to the number of handoffs and
windows in the range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, rrule

from pulse.oncall.localtime import localize, wall_clock

Rotation = Literal["daily", "weekly", "hourly"]


@dataclass(frozen=True, slots=True)
class Restriction:
    """On these weekdays (0 = Monday) from `start` to `end`, local; `end <= start` ends the next day."""

    weekdays: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Layer:
    layer_id: int
    name: str
    position: int  # a higher position wins where it has someone on shift
    rotation: Rotation
    shift_hours: int | None  # hourly rotations only
    handoff_time: time
    handoff_weekday: int | None  # weekly rotations only; None: start_date's weekday
    start_date: date
    participants: tuple[UUID, ...]
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    """`user_id` is on call for the whole schedule over [start, end) (aware datetimes)."""

    override_id: int
    user_id: UUID
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    schedule_id: int
    name: str
    timezone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True, slots=True)
class Shift:
    """`user_id` on shift over [start, end) (UTC)."""

    start: datetime
    end: datetime
    user_id: UUID


def _period(layer: Layer) -> timedelta:
    if layer.rotation == "daily":
        return timedelta(days=1)
    if layer.rotation == "weekly":
        return timedelta(days=7)
    if not layer.shift_hours or layer.shift_hours < 1:
        raise ValueError(f"layer {layer.layer_id}: an hourly rotation needs shift_hours >= 1")
    return timedelta(hours=layer.shift_hours)


def first_handoff(layer: Layer) -> datetime:
    """The naive local wall-clock time of handoff 0."""
    day = layer.start_date
    if layer.rotation == "weekly" and layer.handoff_weekday is not None:
        day += timedelta(days=(layer.handoff_weekday - day.weekday()) % 7)
    return datetime.combine(day, layer.handoff_time)


class Handoffs:
    """Handoff instants of one layer: handoff k is `anchor + k * period` on the wall clock."""

    __slots__ = ("anchor", "period", "tz")

    def __init__(self, layer: Layer, tz: ZoneInfo) -> None:
        self.anchor = first_handoff(layer)
        self.period = _period(layer)
        self.tz = tz

    def handoff(self, k: int) -> datetime:
        return localize(self.anchor + k * self.period, self.tz)

    def index_at(self, instant: datetime) -> int:
        """The k of the shift containing `instant` (negative: before the first handoff)."""
        k = (wall_clock(instant, self.tz) - self.anchor) // self.period
        # The wall-clock estimate is off by at most one shift around a DST change.
        while self.handoff(k + 1) <= instant:
            k += 1
        while k >= 0 and self.handoff(k) > instant:
            k -= 1
        return max(k, -1)


def _rotation_shifts(layer: Layer, tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[Shift]:
    participants = layer.participants
    if not participants or start >= end:
        return
    rotation = Handoffs(layer, tz)
    k = max(rotation.index_at(start), 0)
    begins = rotation.handoff(k)
    while begins < end:
        ends = rotation.handoff(k + 1)
        if ends > begins and ends > start:  # a handoff inside a DST gap can make a shift empty
            yield Shift(max(begins, start), min(ends, end), participants[k % len(participants)])
        k += 1
        begins = ends


def restriction_windows(
    restrictions: tuple[Restriction, ...], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The union of the restriction windows over [start, end), as sorted disjoint UTC intervals."""
    if not restrictions or start >= end:
        return []
    # A window starts on its weekday and lasts at most a day, so one that overlaps [start, end) starts
    # between the local date before `start` and the local date of `end`.
    first_day = wall_clock(start, tz).date() - timedelta(days=1)
    last_day = wall_clock(end, tz).date()
    windows: list[tuple[datetime, datetime]] = []
    for restriction in restrictions:
        if not restriction.weekdays:
            continue
        days = rrule(
            DAILY,
            dtstart=datetime.combine(first_day, time()),
            until=datetime.combine(last_day, time()),
            byweekday=sorted(restriction.weekdays),
        )
        wraps = restriction.end <= restriction.start
        for day in days:
            opens = localize(datetime.combine(day.date(), restriction.start), tz)
            end_day = day.date() + timedelta(days=1) if wraps else day.date()
            closes = localize(datetime.combine(end_day, restriction.end), tz)
            if closes > start and opens < end and closes > opens:
                windows.append((max(opens, start), min(closes, end)))
    windows.sort()
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in windows:
        if merged and opens <= merged[-1][1]:
            if closes > merged[-1][1]:
                merged[-1] = (merged[-1][0], closes)
        else:
            merged.append((opens, closes))
    return merged


def _intersect(shifts: list[Shift], windows: list[tuple[datetime, datetime]]) -> list[Shift]:
    """Each shift cut to the parts inside the windows (both lists sorted and disjoint)."""
    out: list[Shift] = []
    i = j = 0
    while i < len(shifts) and j < len(windows):
        shift, (opens, closes) = shifts[i], windows[j]
        begins, ends = max(shift.start, opens), min(shift.end, closes)
        if begins < ends:
            out.append(Shift(begins, ends, shift.user_id))
        if shift.end <= closes:
            i += 1
        else:
            j += 1
    return out


def shifts(layer: Layer, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """Who of this layer is on shift over [start, end): sorted, disjoint, restrictions applied."""
    on_rotation = list(_rotation_shifts(layer, tz, start, end))
    if not layer.restrictions:
        return on_rotation
    return _intersect(on_rotation, restriction_windows(layer.restrictions, tz, start, end))
