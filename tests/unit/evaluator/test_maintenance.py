"""Maintenance windows: one-off bounds, filters, and recurring windows in an IANA zone across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse.evaluator.maintenance import WindowError, parse_window, suppressed


def window(**fields):
    base = {
        "window_id": "mw-1",
        "starts_at": datetime(2026, 1, 1, tzinfo=UTC),
        "ends_at": None,
        "recurring": None,
        "timezone": "UTC",
    }
    return parse_window(base | fields)


def test_one_off_bounds():
    w = window(ends_at=datetime(2026, 1, 2, tzinfo=UTC))
    assert not w.suppresses(datetime(2025, 12, 31, 23, 59, tzinfo=UTC), "s", None, ())
    assert w.suppresses(datetime(2026, 1, 1, 12, tzinfo=UTC), "s", None, ())
    assert not w.suppresses(datetime(2026, 1, 2, tzinfo=UTC), "s", None, ())


def test_filters_by_site_type_and_group():
    w = window(site_ids=["s1"], device_types=["pump"], group_ids=["g"])
    at = datetime(2026, 2, 1, tzinfo=UTC)
    assert w.suppresses(at, "s1", "pump", ("g", "h"))
    assert not w.suppresses(at, "s2", "pump", ("g",))
    assert not w.suppresses(at, "s1", "fan", ("g",))  # the reference never applied device_types (§17.14)
    assert not w.suppresses(at, "s1", "pump", ())


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # Sunday 02:00-04:00 Europe/Berlin. Winter (UTC+1): 01:00-03:00 UTC.
        (datetime(2026, 3, 22, 1, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 22, 0, 30, tzinfo=UTC), False),
        # 29 March 2026 the clocks jump 02:00 -> 03:00: only local 03:00-04:00 exists, i.e. 01:00-02:00 UTC.
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 2, 30, tzinfo=UTC), False),  # 04:30 local
        # Summer (UTC+2): 00:00-02:00 UTC.
        (datetime(2026, 4, 5, 0, 30, tzinfo=UTC), True),
        (datetime(2026, 4, 5, 2, 30, tzinfo=UTC), False),
        # Monday at the same local hour: not a Sunday.
        (datetime(2026, 4, 6, 0, 30, tzinfo=UTC), False),
    ],
)
def test_recurring_window_follows_local_time_across_dst(utc, expected):
    w = window(recurring={"dow": [0], "start_hour": 2, "end_hour": 4}, timezone="Europe/Berlin")
    assert w.suppresses(utc, "s", None, ()) is expected


def test_overnight_recurrence():
    w = window(recurring={"start_hour": 22, "end_hour": 6})
    assert w.suppresses(datetime(2026, 5, 5, 23, tzinfo=UTC), "s", None, ())
    assert w.suppresses(datetime(2026, 5, 5, 5, tzinfo=UTC), "s", None, ())
    assert not w.suppresses(datetime(2026, 5, 5, 12, tzinfo=UTC), "s", None, ())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"timezone": "../../etc/passwd"}, "time zone"),
        ({"recurring": {"dow": [7]}}, "dow"),
        ({"recurring": {"dow": "mon"}}, "dow"),
        ({"recurring": {"start_hour": 25}}, "start_hour"),
        ({"recurring": ["x"]}, "object"),
    ],
)
def test_bad_windows_are_refused_with_a_reason(fields, message):
    with pytest.raises(WindowError, match=message):
        window(**fields)


def test_any_matching_window_suppresses():
    ws = [window(site_ids=["a"]), window(site_ids=["b"])]
    at = datetime(2026, 2, 1, tzinfo=UTC)
    assert suppressed(ws, at, "b", None, []) and not suppressed(ws, at, "c", None, [])
