"""Request and response models of /customer/oncall-schedules: every string, number and list bounded,
invariants of a layer (shift_hours iff hourly, handoff_weekday only for weekly) checked here."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from pulse.api.queries.oncall_schedules import LayerPublic, OverridePublic, SchedulePublic
from pulse.api.routes.customer.models import Name, Text
from pulse.api.routes.params import utc
from pulse.oncall.resolve import Gap
from pulse.oncall.schedule import Restriction
from pulse.oncall.store import restriction_to_json

MAX_OVERRIDE = timedelta(days=90)
HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday.")]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone") from None
    return value


Zone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_zone)]
StartDate = Annotated[date, AfterValidator(lambda d: _in_range(d))]


def _in_range(value: date) -> date:
    if not date(2000, 1, 1) <= value <= date(2100, 12, 31):
        raise ValueError("must be between 2000-01-01 and 2100-12-31")
    return value


class RestrictionBody(BaseModel):
    """On these weekdays from start to end, local; end <= start runs past midnight."""

    model_config = ConfigDict(extra="forbid")
    weekdays: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    start: HHMM
    end: HHMM

    def restriction(self) -> Restriction:
        return Restriction(
            frozenset(self.weekdays), time.fromisoformat(self.start), time.fromisoformat(self.end)
        )


class LayerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    position: Annotated[int, Field(ge=-1000, le=1000, description="Higher wins where it has someone.")]
    rotation: Literal["daily", "weekly", "hourly"]
    shift_hours: Annotated[int, Field(ge=1, le=8760)] | None = Field(
        None, description="Hourly rotations only."
    )
    handoff_time: HHMM = "09:00"
    handoff_weekday: Weekday | None = Field(None, description="Weekly rotations only; default start_date's.")
    start_date: StartDate
    participants: Annotated[list[uuid.UUID], Field(min_length=1, max_length=100)]
    restrictions: Annotated[list[RestrictionBody], Field(max_length=14)] = []

    @model_validator(mode="after")
    def _rotation_fields(self) -> LayerBody:
        if (self.rotation == "hourly") != (self.shift_hours is not None):
            raise ValueError("shift_hours is required for an hourly rotation and only allowed there")
        if self.rotation != "weekly" and self.handoff_weekday is not None:
            raise ValueError("handoff_weekday is only allowed for a weekly rotation")
        if self.rotation == "weekly" and self.handoff_weekday is None:
            self.handoff_weekday = self.start_date.weekday()
        return self

    def stored(self) -> dict[str, Any]:
        """The columns of `oncall_layers`."""
        values = self.model_dump()
        values["handoff_time"] = time.fromisoformat(self.handoff_time)
        values["restrictions"] = [restriction_to_json(r.restriction()) for r in self.restrictions]
        return values


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Text | None = None
    timezone: Zone = "UTC"
    layers: Annotated[list[LayerBody], Field(max_length=20)] = []


class ScheduleReplace(ScheduleCreate):
    """The whole schedule: `layers` replaces every layer (send `[]` to remove them all)."""

    layers: Annotated[list[LayerBody], Field(max_length=20)]


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    reason: Text | None = None

    @field_validator("start_at", "end_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)

    @model_validator(mode="after")
    def _order(self) -> OverrideCreate:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        if self.end_at - self.start_at > MAX_OVERRIDE:
            raise ValueError("an override lasts at most 90 days")
        return self


class GapPublic(BaseModel):
    start: datetime
    end: datetime

    @classmethod
    def of(cls, gap: Gap) -> GapPublic:
        return cls(start=gap.start, end=gap.end)


class ScheduleList(BaseModel):
    schedules: list[SchedulePublic]


class OverrideList(BaseModel):
    overrides: list[OverridePublic]


class ScheduleSaved(SchedulePublic):
    gaps: list[GapPublic] = Field(description="Nobody on call in the next 14 days.")


class LayerSaved(BaseModel):
    layer: LayerPublic
    schedule: SchedulePublic
    gaps: list[GapPublic] = Field(description="Nobody on call in the next 14 days.")


class CurrentOnCall(BaseModel):
    responder: str = Field(description='Username; "" when nobody is on call.')
    layer: str = Field(description='Layer name, "Override", or "" when nobody is on call.')
    until: datetime | None = Field(
        description="End of the current slot; null: nobody, or no change in a year."
    )
    since: datetime | None
    user_id: uuid.UUID | None
    username: str | None
    display_name: str | None
    is_override: bool


class SlotPublic(BaseModel):
    start: datetime
    end: datetime
    responder: str
    layer_name: str
    is_override: bool
    user_id: uuid.UUID


class Timeline(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    slots: list[SlotPublic]


class GapList(BaseModel):
    timezone: str
    start: datetime
    end: datetime
    gaps: list[GapPublic]


class FeedUrl(BaseModel):
    url: str = Field(description="Shown once: keep it secret; rotate to invalidate it.")
