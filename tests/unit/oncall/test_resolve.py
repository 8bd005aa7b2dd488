"""Resolution: stacking with restrictions, windows that wrap midnight, overrides cutting shifts,
overlapping overrides, gaps and the answer at one instant (pulse/oncall/resolve.py)."""

from __future__ import annotations

from datetime import date, time, timedelta

from pulse.oncall.resolve import Gap, Slot, gaps, timeline, who_is_on_call
from pulse.oncall.schedule import Override, Restriction
from tests.unit.oncall.builders import ANN, BOB, CAT, DAN, WEEKDAYS, layer, schedule, utc

MONDAY = utc(2024, 1, 8)  # a Monday in winter (London on GMT = UTC)


def _who(slots: list[Slot]) -> list[tuple]:
    return [(s.start, s.end, s.user_id, s.layer_name) for s in slots]


def test_business_hours_layer_stacked_over_a_24_7_layer() -> None:
    base = layer(1, name="24/7", people=(ANN,))
    office = layer(
        2,
        name="Office",
        position=1,
        people=(BOB,),
        restrictions=(Restriction(WEEKDAYS, time(9), time(17)),),
    )
    slots = timeline(schedule(base, office, zone="Europe/London"), MONDAY, MONDAY + timedelta(days=7))
    expected = []
    cursor = MONDAY
    for day in range(5):
        opens, closes = MONDAY + timedelta(days=day, hours=9), MONDAY + timedelta(days=day, hours=17)
        expected += [(cursor, opens, ANN, "24/7"), (opens, closes, BOB, "Office")]
        cursor = closes
    expected.append((cursor, MONDAY + timedelta(days=7), ANN, "24/7"))  # the weekend merges
    assert _who(slots) == expected


def test_lower_layer_fills_where_the_higher_one_has_nobody_yet() -> None:
    base = layer(1, people=(ANN,))
    later = layer(2, position=5, people=(BOB,), start=date(2024, 1, 10))
    slots = timeline(schedule(base, later), MONDAY, MONDAY + timedelta(days=3))
    assert _who(slots) == [
        (MONDAY, utc(2024, 1, 10, 9), ANN, "L1"),
        (utc(2024, 1, 10, 9), MONDAY + timedelta(days=3), BOB, "L2"),
    ]


def test_restriction_wrapping_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = Restriction(frozenset({4}), time(22), time(6))
    nights = layer(people=(ANN,), restrictions=(friday_night,))
    slots = timeline(schedule(nights), MONDAY, MONDAY + timedelta(days=7))
    assert _who(slots) == [(utc(2024, 1, 12, 22), utc(2024, 1, 13, 6), ANN, "L1")]


def test_restriction_keeps_local_hours_across_dst() -> None:
    """09:00-17:00 London is 08:00-16:00 UTC in summer, 09:00-17:00 in winter."""
    office = layer(people=(ANN,), restrictions=(Restriction(frozenset({0}), time(9), time(17)),))
    sched = schedule(office, zone="Europe/London")
    summer = timeline(sched, utc(2024, 7, 1), utc(2024, 7, 2))
    winter = timeline(sched, utc(2024, 12, 2), utc(2024, 12, 3))
    assert _who(summer) == [(utc(2024, 7, 1, 8), utc(2024, 7, 1, 16), ANN, "L1")]
    assert _who(winter) == [(utc(2024, 12, 2, 9), utc(2024, 12, 2, 17), ANN, "L1")]


def test_override_in_the_middle_of_a_shift_splits_it() -> None:
    daily = layer(people=(ANN, BOB))
    cover = Override(1, CAT, utc(2024, 1, 8, 12), utc(2024, 1, 8, 14))
    slots = timeline(schedule(daily, overrides=[cover]), utc(2024, 1, 8, 9), utc(2024, 1, 9, 9))
    assert _who(slots) == [
        (utc(2024, 1, 8, 9), utc(2024, 1, 8, 12), BOB, "L1"),
        (utc(2024, 1, 8, 12), utc(2024, 1, 8, 14), CAT, "Override"),
        (utc(2024, 1, 8, 14), utc(2024, 1, 9, 9), BOB, "L1"),
    ]
    assert slots[1].is_override and slots[1].layer_id is None


def test_overlapping_overrides_latest_start_wins_then_higher_id() -> None:
    daily = layer(people=(ANN,))
    overrides = [
        Override(1, BOB, utc(2024, 1, 8, 10), utc(2024, 1, 8, 16)),
        Override(2, CAT, utc(2024, 1, 8, 12), utc(2024, 1, 8, 14)),  # starts later: wins inside
        Override(4, DAN, utc(2024, 1, 8, 15), utc(2024, 1, 8, 18)),
        Override(3, CAT, utc(2024, 1, 8, 15), utc(2024, 1, 8, 17)),  # same start, lower id: loses
    ]
    slots = timeline(schedule(daily, overrides=overrides), utc(2024, 1, 8, 9), utc(2024, 1, 8, 20))
    assert _who(slots) == [
        (utc(2024, 1, 8, 9), utc(2024, 1, 8, 10), ANN, "L1"),
        (utc(2024, 1, 8, 10), utc(2024, 1, 8, 12), BOB, "Override"),
        (utc(2024, 1, 8, 12), utc(2024, 1, 8, 14), CAT, "Override"),
        (utc(2024, 1, 8, 14), utc(2024, 1, 8, 15), BOB, "Override"),
        (utc(2024, 1, 8, 15), utc(2024, 1, 8, 18), DAN, "Override"),
        (utc(2024, 1, 8, 18), utc(2024, 1, 8, 20), ANN, "L1"),
    ]


def test_override_fills_a_gap() -> None:
    office = layer(people=(ANN,), restrictions=(Restriction(WEEKDAYS, time(9), time(17)),))
    cover = Override(1, BOB, utc(2024, 1, 8, 20), utc(2024, 1, 8, 22))
    sched = schedule(office, overrides=[cover])
    assert gaps(sched, MONDAY, MONDAY + timedelta(days=1)) == [
        Gap(MONDAY, utc(2024, 1, 8, 9)),
        Gap(utc(2024, 1, 8, 17), utc(2024, 1, 8, 20)),
        Gap(utc(2024, 1, 8, 22), MONDAY + timedelta(days=1)),
    ]


def test_gaps_report_before_start_and_outside_restrictions() -> None:
    office = layer(
        people=(ANN, BOB), start=date(2024, 1, 9), restrictions=(Restriction(WEEKDAYS, time(9), time(17)),)
    )
    found = gaps(schedule(office), MONDAY, MONDAY + timedelta(days=3))
    assert found == [
        Gap(MONDAY, utc(2024, 1, 9, 9)),  # before the layer's first handoff: nobody
        Gap(utc(2024, 1, 9, 17), utc(2024, 1, 10, 9)),
        Gap(utc(2024, 1, 10, 17), MONDAY + timedelta(days=3)),
    ]
    assert gaps(schedule(), MONDAY, MONDAY + timedelta(days=1)) == [Gap(MONDAY, MONDAY + timedelta(days=1))]


def test_who_is_on_call_gives_the_final_slot_and_its_bounds() -> None:
    daily = layer(people=(ANN, BOB))
    cover = Override(9, CAT, utc(2024, 1, 8, 12), utc(2024, 1, 8, 14))
    sched = schedule(daily, overrides=[cover])
    in_shift = who_is_on_call(sched, utc(2024, 1, 8, 10))
    assert (in_shift.user_id, in_shift.layer_name, in_shift.is_override) == (BOB, "L1", False)
    assert (in_shift.start, in_shift.end) == (utc(2024, 1, 8, 9), utc(2024, 1, 8, 12))
    overridden = who_is_on_call(sched, utc(2024, 1, 8, 13))
    assert (overridden.user_id, overridden.layer_name, overridden.is_override) == (CAT, "Override", True)
    assert (overridden.start, overridden.end, overridden.layer_id) == (cover.start, cover.end, None)


def test_who_is_on_call_nobody_and_unbounded() -> None:
    office = layer(people=(ANN,), restrictions=(Restriction(WEEKDAYS, time(9), time(17)),))
    nobody = who_is_on_call(schedule(office), utc(2024, 1, 13, 12))  # a Saturday
    assert nobody.user_id is None and nobody.layer_name == "" and nobody.start is None and nobody.end is None
    alone = who_is_on_call(schedule(layer(people=(ANN,), start=date(2020, 1, 1))), utc(2024, 1, 8))
    assert alone.user_id == ANN and alone.start is None and alone.end is None  # no change within a year
    starts = who_is_on_call(schedule(layer(people=(ANN,), start=date(2024, 1, 1))), utc(2024, 1, 20))
    assert starts.start == utc(2024, 1, 1, 9) and starts.end is None


def test_timeline_of_an_empty_or_inverted_range_is_empty() -> None:
    sched = schedule(layer())
    assert timeline(sched, MONDAY, MONDAY) == []
    assert timeline(sched, MONDAY, MONDAY - timedelta(hours=1)) == []
