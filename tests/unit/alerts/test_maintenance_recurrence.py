"""The `alert_maintenance_windows.recurring` schema: API writes versus what the evaluator reads."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from pulse.alerts.maintenance import EVERY_DAY, Recurrence, RecurrenceError, RecurrenceWrite, read_recurrence


def test_what_the_api_stores_reads_back_the_same():
    body = {"dow": [1, 2], "start_hour": 0, "end_hour": 24}
    stored = RecurrenceWrite.model_validate(body).model_dump()
    assert read_recurrence(stored) == Recurrence(dow=(1, 2), start_hour=0, end_hour=24)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dow": [1], "start_hour": 5, "end_hour": 3}, "end_hour must be after start_hour"),
        ({"dow": [1], "start_hour": 5, "end_hour": 5}, "end_hour must be after start_hour"),
        ({"dow": [], "start_hour": 1, "end_hour": 3}, "dow"),
        ({"dow": [7], "start_hour": 1, "end_hour": 3}, "dow"),
        ({"start_hour": 1, "end_hour": 3}, "dow"),
        ({"dow": [1], "start_hour": 24, "end_hour": 24}, "start_hour"),
        ({"dow": [1], "start_hour": 1, "end_hour": 3, "every": "week"}, "every"),
    ],
)
def test_the_api_refuses(body, message):
    with pytest.raises(ValidationError, match=message):
        RecurrenceWrite.model_validate(body)


def test_legacy_rows_read_with_defaults_and_may_wrap_midnight():
    assert read_recurrence({"start_hour": 0, "end_hour": 24}).dow == EVERY_DAY
    overnight = read_recurrence({"start_hour": 22, "end_hour": 6})
    assert overnight.covers(datetime(2026, 5, 5, 23)) and overnight.covers(datetime(2026, 5, 5, 5))
    assert not overnight.covers(datetime(2026, 5, 5, 12))


def test_days_count_from_sunday():
    sundays = read_recurrence({"dow": [0]})
    assert sundays.covers(datetime(2026, 5, 3, 12))  # a Sunday
    assert not sundays.covers(datetime(2026, 5, 4, 12))


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (["x"], "must be an object"),
        ({"dow": "mon"}, "recurring.dow"),
        ({"start_hour": 25}, "recurring.start_hour"),
        ({"end_hour": True}, "recurring.end_hour"),
    ],
)
def test_unusable_rows_name_the_field(stored, message):
    with pytest.raises(RecurrenceError, match=message):
        read_recurrence(stored)


@pytest.mark.parametrize("empty", [None, {}])
def test_no_recurrence_is_a_one_off_window(empty):
    assert read_recurrence(empty) is None
