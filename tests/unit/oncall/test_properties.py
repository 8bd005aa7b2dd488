"""Properties over random schedules: slots never overlap and stay in range, gaps are the exact
complement, and `who_is_on_call` agrees with the timeline at any instant."""

from __future__ import annotations

from datetime import date, time, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.oncall.bench import busy_schedule, timeline_benchmark
from pulse.oncall.resolve import gaps, timeline, who_is_on_call
from pulse.oncall.schedule import Layer, Override, Restriction, Schedule
from tests.unit.oncall.builders import ANN, BOB, CAT, DAN, EVE, utc

PEOPLE = (ANN, BOB, CAT, DAN, EVE)
ORIGIN = utc(2024, 3, 1)  # windows below cross spring changes in the northern zones

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30]))
restrictions = st.builds(Restriction, st.frozensets(st.integers(0, 6), min_size=1), times, times)


@st.composite
def layers(draw, layer_id: int) -> Layer:
    rotation = draw(st.sampled_from(["daily", "weekly", "hourly"]))
    return Layer(
        layer_id=layer_id,
        name=f"L{layer_id}",
        position=draw(st.integers(-3, 3)) * 10 + layer_id,
        rotation=rotation,
        shift_hours=draw(st.integers(1, 60)) if rotation == "hourly" else None,
        handoff_time=draw(times),
        handoff_weekday=draw(st.integers(0, 6)) if rotation == "weekly" else None,
        start_date=date(2024, 2, 20) + timedelta(days=draw(st.integers(0, 30))),
        participants=tuple(draw(st.lists(st.sampled_from(PEOPLE), max_size=4))),
        restrictions=tuple(draw(st.lists(restrictions, max_size=2))),
    )


@st.composite
def schedules(draw) -> Schedule:
    count = draw(st.integers(0, 3))
    overrides = []
    for n in range(draw(st.integers(0, 4))):
        start = ORIGIN + timedelta(hours=draw(st.integers(0, 24 * 20)))
        overrides.append(
            Override(
                n + 1, draw(st.sampled_from(PEOPLE)), start, start + timedelta(hours=draw(st.integers(1, 72)))
            )
        )
    zone = draw(st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney"]))
    return Schedule(1, "S", zone, tuple(draw(layers(i + 1)) for i in range(count)), tuple(overrides))


@settings(max_examples=150, deadline=None)
@given(schedules(), st.integers(0, 24 * 10), st.integers(1, 24 * 14), st.data())
def test_timeline_is_consistent(schedule, offset_hours, length_hours, data) -> None:
    start = ORIGIN + timedelta(hours=offset_hours)
    end = start + timedelta(hours=length_hours)
    slots = timeline(schedule, start, end)
    for slot in slots:
        assert start <= slot.start < slot.end <= end
    for before, after in pairwise(slots):
        assert before.end <= after.start
        if before.end == after.start:  # merged unless the person or the source changes
            assert (before.user_id, before.layer_id, before.is_override) != (
                after.user_id,
                after.layer_id,
                after.is_override,
            )
    covered = sum((s.end - s.start for s in slots), timedelta())
    uncovered = sum((g.end - g.start for g in gaps(schedule, start, end)), timedelta())
    assert covered + uncovered == end - start

    at = start + timedelta(minutes=data.draw(st.integers(0, length_hours * 60 - 1)))
    answer = who_is_on_call(schedule, at)
    here = [s for s in slots if s.start <= at < s.end]
    if not here:
        assert answer.user_id is None and answer.layer_name == ""
    else:
        assert (answer.user_id, answer.layer_id, answer.is_override) == (
            here[0].user_id,
            here[0].layer_id,
            here[0].is_override,
        )
        # The answer's slot contains the timeline's (which may be clipped to the range).
        assert answer.start is None or answer.start <= here[0].start
        assert answer.end is None or answer.end >= here[0].end


def test_benchmark_reports_percentiles_of_the_busy_schedule() -> None:
    result = timeline_benchmark(3)
    assert result["repeats"] == 3 and result["layers"] == 5 and result["overrides"] == 50
    assert result["slots"] > 100 and 0 < result["p50_ms"] <= result["p99_ms"]
    assert len(busy_schedule().layers) == 5
