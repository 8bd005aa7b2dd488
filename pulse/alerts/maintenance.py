"""The schema of `alert_maintenance_windows.recurring` (JSONB): a weekly recurrence read in the
window's own IANA time zone.

`Recurrence` is what may be stored and what the evaluator reads: days default to every day, hours to
the whole day, and `end_hour < start_hour` spans midnight (22 → 6). `RecurrenceWrite` is what the API
accepts — it narrows `Recurrence`, so everything it stores can be read: days must be listed, and a
window must end after it starts on the same day. The API still refuses windows that wrap midnight
because clients were told so (a test asserts the refusal); such rows, written by hand or by older
code, are read and honoured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from pulse.alerts.json_types import WRITE, StoredJson, explain, whole

Day = whole(0, 6)  # 0 = Sunday … 6 = Saturday
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


class Recurrence(StoredJson):
    """Weekly: on these days from start_hour to end_hour (exclusive), local time."""

    dow: tuple[Day, ...] = EVERY_DAY
    start_hour: whole(0, 24) = 0
    end_hour: whole(0, 24) = 24

    def covers(self, local: datetime) -> bool:
        if (local.weekday() + 1) % 7 not in self.dow:
            return False
        hour = local.hour
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour


class RecurrenceWrite(Recurrence):
    """Weekly: on these days (0 = Sunday) from start_hour to end_hour, in the window's time zone."""

    model_config = WRITE
    dow: Annotated[list[Day], Field(min_length=1, max_length=7)]
    start_hour: whole(0, 23)
    end_hour: whole(1, 24)

    @model_validator(mode="after")
    def _same_day(self) -> RecurrenceWrite:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        return self


class RecurrenceError(ValueError):
    """A stored `recurring` value the evaluator cannot use; the message names the field."""


def read_recurrence(stored: Any) -> Recurrence | None:
    """The `recurring` column validated; None when NULL or empty (a one-off window)."""
    if not stored:
        return None
    try:
        return Recurrence.model_validate(stored)
    except ValidationError as exc:
        raise RecurrenceError(explain(exc, "recurring")) from None
