"""Rotation semantics: wall-clock handoffs across DST in three zones, continuous rotation index,
layers before their start and without people (pulse/oncall/schedule.py's contract)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from pulse.oncall.localtime import localize, zone
from pulse.oncall.schedule import shifts
from tests.unit.oncall.builders import ANN, BOB, CAT, DAN, EVE, layer, utc

# (scenario, zone, handoff, DST night (local date), the UTC instant of that night's handoff)
DST_HANDOFFS = [
    # A wall-clock time in the spring-forward gap happens at the transition (first instant after).
    (
        "london_spring_forward_0130_in_gap",
        "Europe/London",
        time(1, 30),
        date(2024, 3, 31),
        utc(2024, 3, 31, 1),
    ),
    (
        "new_york_spring_forward_0230_in_gap",
        "America/New_York",
        time(2, 30),
        date(2024, 3, 10),
        utc(2024, 3, 10, 7),
    ),
    (
        "sydney_spring_forward_0230_in_gap",
        "Australia/Sydney",
        time(2, 30),
        date(2024, 10, 6),
        utc(2024, 10, 5, 16),
    ),
    # An ambiguous one happens at its first occurrence (still on summer time).
    (
        "london_fall_back_0130_first",
        "Europe/London",
        time(1, 30),
        date(2024, 10, 27),
        utc(2024, 10, 27, 0, 30),
    ),
    (
        "new_york_fall_back_0130_first",
        "America/New_York",
        time(1, 30),
        date(2024, 11, 3),
        utc(2024, 11, 3, 5, 30),
    ),
    (
        "sydney_fall_back_0230_first",
        "Australia/Sydney",
        time(2, 30),
        date(2024, 4, 7),
        utc(2024, 4, 6, 15, 30),
    ),
]


@pytest.mark.parametrize(
    ("zone_name", "handoff", "night", "expected"),
    [case[1:] for case in DST_HANDOFFS],
    ids=[case[0] for case in DST_HANDOFFS],
)
def test_handoff_on_a_dst_night(zone_name, handoff, night, expected) -> None:
    tz = zone(zone_name)
    rotation = layer(handoff=handoff, start=night - timedelta(days=3))
    window = shifts(rotation, tz, utc(2024, 1, 1), utc(2024, 12, 31))
    starts = [s.start for s in window]
    assert expected in starts
    # The night's shift goes to the next person in line: the index is the handoff count.
    k = starts.index(expected)
    assert k == 3 and window[k].user_id == ANN
    # The handoffs either side are at the ordinary wall-clock time.
    for neighbour in (window[k - 1], window[k + 1]):
        assert neighbour.start.astimezone(tz).time() == handoff


@pytest.mark.parametrize(
    ("zone_name", "spring", "autumn"),
    [
        ("Europe/London", date(2024, 3, 31), date(2024, 10, 27)),
        ("America/New_York", date(2024, 3, 10), date(2024, 11, 3)),
        ("Australia/Sydney", date(2024, 10, 6), date(2024, 4, 7)),
    ],
)
def test_0900_handoff_stays_at_0900_local_across_each_change(zone_name, spring, autumn) -> None:
    tz = zone(zone_name)
    for night, hours in ((spring, 23), (autumn, 25)):
        rotation = layer(start=night - timedelta(days=5))
        start = localize(datetime.combine(night - timedelta(days=2), time(12)), tz)
        window = shifts(rotation, tz, start, start + timedelta(days=5))
        assert all(s.start.astimezone(tz).time() == time(9) for s in window[1:])
        lengths = {s.start.astimezone(tz).date(): s.end - s.start for s in window[1:-1]}
        # The shift that spans the change is an hour shorter (spring) or longer (autumn).
        assert lengths[night - timedelta(days=1)] == timedelta(hours=hours)
        assert lengths[night] == timedelta(hours=24)


def test_36_hour_rotation_index_is_continuous_across_weeks() -> None:
    people = (ANN, BOB, CAT, DAN, EVE)
    rotation = layer(
        rotation="hourly", shift_hours=36, handoff=time(6), start=date(2024, 1, 1), people=people
    )
    anchor = utc(2024, 1, 1, 6)
    window = shifts(rotation, zone("UTC"), anchor, anchor + timedelta(days=60))
    assert len(window) == 40
    for k, shift in enumerate(window):
        assert shift.start == anchor + timedelta(hours=36 * k)
        assert shift.user_id == people[k % 5]
    # A week after the anchor is inside shift 4 (96..132 h): EVE, not a "weekly restart" back to ANN.
    week_later = [s for s in window if s.start <= anchor + timedelta(days=7) < s.end]
    assert week_later[0].user_id == EVE


def test_36_hour_rotation_computed_late_agrees_with_the_walk_from_the_anchor() -> None:
    """Arithmetic, not history: a window a year out gives the same people as counting shifts."""
    people = (ANN, BOB, CAT, DAN, EVE)
    rotation = layer(
        rotation="hourly", shift_hours=36, handoff=time(6), start=date(2024, 1, 1), people=people
    )
    start = utc(2025, 1, 1)
    first = shifts(rotation, zone("UTC"), start, start + timedelta(days=3))[1]
    k = (first.start - utc(2024, 1, 1, 6)) // timedelta(hours=36)
    assert first.user_id == people[k % 5]


def test_hourly_rotation_keeps_wall_clock_across_dst() -> None:
    tz = zone("America/New_York")
    rotation = layer(rotation="hourly", shift_hours=12, handoff=time(8), start=date(2024, 3, 8))
    window = shifts(rotation, tz, utc(2024, 3, 8, 13), utc(2024, 3, 13))
    assert {s.start.astimezone(tz).time() for s in window} == {time(8), time(20)}


def test_weekly_rotation_starts_on_the_first_handoff_weekday() -> None:
    # 2024-01-03 is a Wednesday; the first Monday on or after it is 2024-01-08.
    rotation = layer(rotation="weekly", weekday=0, start=date(2024, 1, 3), people=(ANN, BOB))
    window = shifts(rotation, zone("UTC"), utc(2024, 1, 1), utc(2024, 1, 30))
    assert [(s.start, s.user_id) for s in window] == [
        (utc(2024, 1, 8, 9), ANN),
        (utc(2024, 1, 15, 9), BOB),
        (utc(2024, 1, 22, 9), ANN),
        (utc(2024, 1, 29, 9), BOB),
    ]


def test_weekly_rotation_without_weekday_hands_off_on_the_start_date_weekday() -> None:
    rotation = layer(rotation="weekly", start=date(2024, 1, 3), people=(ANN, BOB))
    window = shifts(rotation, zone("UTC"), utc(2024, 1, 1), utc(2024, 1, 12))
    assert [s.start for s in window] == [utc(2024, 1, 3, 9), utc(2024, 1, 10, 9)]


def test_layer_before_its_start_date_has_nobody() -> None:
    rotation = layer(start=date(2024, 6, 1))
    assert shifts(rotation, zone("UTC"), utc(2024, 5, 1), utc(2024, 6, 1, 9)) == []
    window = shifts(rotation, zone("UTC"), utc(2024, 5, 1), utc(2024, 6, 2))
    assert window[0].start == utc(2024, 6, 1, 9) and window[0].user_id == ANN


def test_layer_without_participants_has_nobody() -> None:
    assert shifts(layer(people=()), zone("UTC"), utc(2024, 2, 1), utc(2024, 3, 1)) == []
