"""The resolved timeline as iCalendar (RFC 5545): a schedule's calendar and a person's "my shifts".

One VEVENT per final slot (overrides included, gaps left out), times in UTC so every client agrees;
X-WR-TIMEZONE tells calendar apps which zone the schedule is kept in. An event's UID is stable for
(schedule, slot start, user), so a client refreshing the feed updates events instead of duplicating
them. DTSTAMP is the start of the window the calendar was computed for (the caller's "now"), which
keeps these functions pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from uuid import UUID

from icalendar import Calendar, Event

from pulse.oncall.resolve import Slot, timeline
from pulse.oncall.schedule import Schedule

PRODID = "-//Pulse//On-call//EN"
UID_DOMAIN = "oncall.pulse"


def _calendar(name: str, timezone: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    return calendar


def slot_uid(schedule_id: int, slot: Slot) -> str:
    key = f"{schedule_id}|{slot.start.astimezone(UTC).isoformat()}|{slot.user_id}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{UID_DOMAIN}"


def _event(schedule: Schedule, slot: Slot, summary: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", slot_uid(schedule.schedule_id, slot))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", slot.start.astimezone(UTC))
    event.add("dtend", slot.end.astimezone(UTC))
    event.add("summary", summary)
    source = "override" if slot.is_override else f"layer {slot.layer_name}"
    event.add("description", f"Schedule {schedule.name} ({source})")
    event.add("transp", "TRANSPARENT")  # being on call does not make a person busy
    return event


def _name(names: Mapping[UUID, str], user_id: UUID) -> str:
    return names.get(user_id) or str(user_id)


def schedule_calendar(schedule: Schedule, start: datetime, end: datetime, names: Mapping[UUID, str]) -> bytes:
    """Every final slot of the schedule over [start, end); `names` gives each user's shown name."""
    calendar = _calendar(schedule.name, schedule.timezone)
    for slot in timeline(schedule, start, end):
        calendar.add_component(_event(schedule, slot, f"On call: {_name(names, slot.user_id)}", start))
    return calendar.to_ical()


def user_calendar(
    schedules: Iterable[Schedule], user_id: UUID, start: datetime, end: datetime, names: Mapping[UUID, str]
) -> bytes:
    """Only `user_id`'s slots, across all the given schedules, each summary naming its schedule."""
    schedules = list(schedules)
    zones = {schedule.timezone for schedule in schedules}
    person = _name(names, user_id)
    calendar = _calendar(f"On call: {person}", zones.pop() if len(zones) == 1 else "UTC")
    for schedule in schedules:
        for slot in timeline(schedule, start, end):
            if slot.user_id == user_id:
                summary = f"On call: {person} ({schedule.name})"
                calendar.add_component(_event(schedule, slot, summary, start))
    return calendar.to_ical()
