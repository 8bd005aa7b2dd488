"""iCalendar output parsed back with icalendar: one event per final slot, stable UIDs, UTC times."""

from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar

from pulse.oncall.ical import schedule_calendar, user_calendar
from pulse.oncall.schedule import Override, Schedule
from tests.unit.oncall.builders import ANN, BOB, CAT, NAMES, layer, schedule, utc

START = utc(2024, 1, 8)


def _events(data: bytes) -> list:
    return Calendar.from_ical(data).walk("VEVENT")


def test_schedule_calendar_has_one_event_per_slot() -> None:
    cover = Override(1, CAT, utc(2024, 1, 8, 12), utc(2024, 1, 8, 14))
    sched = schedule(layer(people=(ANN, BOB)), zone="Europe/London", overrides=[cover])
    data = schedule_calendar(sched, START, START + timedelta(days=2), NAMES)
    calendar = Calendar.from_ical(data)
    assert str(calendar["X-WR-CALNAME"]) == "Primary"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London"
    events = _events(data)
    summaries = [str(e["SUMMARY"]) for e in events]
    assert summaries == ["On call: ann", "On call: bob", "On call: cat", "On call: bob", "On call: ann"]
    cat = events[2]
    assert cat["DTSTART"].dt == utc(2024, 1, 8, 12) and cat["DTEND"].dt == utc(2024, 1, 8, 14)
    assert cat["DTSTART"].dt.tzinfo is not None and cat["DTSTART"].dt.utcoffset() == timedelta(0)
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_uids_are_stable_across_renders_and_names_fall_back_to_ids() -> None:
    sched = schedule(layer(people=(ANN, BOB)))
    first = _events(schedule_calendar(sched, START, START + timedelta(days=3), {}))
    again = _events(schedule_calendar(sched, START + timedelta(hours=9), START + timedelta(days=4), {}))
    by_start = {e["DTSTART"].dt: str(e["UID"]) for e in first}
    shared = [e for e in again if e["DTSTART"].dt in by_start]
    assert shared and all(str(e["UID"]) == by_start[e["DTSTART"].dt] for e in shared)
    assert str(first[0]["SUMMARY"]) == f"On call: {ANN}"


def test_user_calendar_keeps_only_that_users_slots_across_schedules() -> None:
    primary = schedule(layer(people=(ANN, BOB)))
    secondary = Schedule(8, "Secondary", "UTC", (layer(people=(BOB, ANN)),))
    data = user_calendar([primary, secondary], ANN, START, START + timedelta(days=4), NAMES)
    events = _events(data)
    assert [str(e["SUMMARY"]) for e in events] == [
        "On call: ann (Primary)",
        "On call: ann (Primary)",
        "On call: ann (Primary)",
        "On call: ann (Secondary)",
        "On call: ann (Secondary)",
    ]
    assert all(e["DTSTART"].dt.astimezone(UTC).hour in (0, 9) for e in events)
    assert str(Calendar.from_ical(data)["X-WR-CALNAME"]) == "On call: ann"
