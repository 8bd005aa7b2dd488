"""The escalation snapshot: the policy in force when the alert opened, copied onto the alert
(`alerts.escalation_snapshot`, written by the `alerts_escalation_start` trigger of migration 100 from
`pulse_escalation_snapshot()`), with the escalation's progress.

The structure (levels, delays, repeats) is frozen at open, so editing or deleting the policy never
changes a running escalation; targets are ids, resolved when their level fires (who is on call is
asked then). A snapshot that does not parse is reported and the escalation stops; it never raises in
the worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# A policy that repeats waits at least this long before starting over, even when its first level has
# no delay: repeating must not turn into a loop that pages people as fast as the worker runs.
MIN_REPEAT_WAIT = timedelta(minutes=1)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ScheduleTarget(_Frozen):
    type: Literal["schedule"]
    id: int


class UserTarget(_Frozen):
    type: Literal["user"]
    id: UUID


class ChannelTarget(_Frozen):
    type: Literal["channel"]
    id: int


Target = Annotated[ScheduleTarget | UserTarget | ChannelTarget, Field(discriminator="type")]


class Level(_Frozen):
    level: int
    delay_minutes: int = Field(ge=0)
    targets: tuple[Target, ...] = ()


class Progress(_Frozen):
    next_index: int = 0  # the level (0-based) that fires next
    pass_: int = Field(0, alias="pass")  # how many times the levels have started over
    fired: int = 0  # levels fired so far, repeats included
    held: str | None = None  # why the next level waits (silenced, maintenance); cleared when one fires

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class EscalationSnapshot(_Frozen):
    schema_version: Literal[1] = 1
    policy_id: int
    policy_name: str = ""
    repeat_count: int = Field(0, ge=0)
    levels: tuple[Level, ...] = Field(min_length=1)
    progress: Progress = Progress()

    @property
    def next_level(self) -> Level | None:
        index = self.progress.next_index
        return self.levels[index] if 0 <= index < len(self.levels) else None

    def after_fire(self, fired_at: datetime) -> tuple[EscalationSnapshot, datetime | None]:
        """The snapshot once the next level has fired, and when the one after is due (None: the
        policy is exhausted)."""
        index, passes = self.progress.next_index + 1, self.progress.pass_
        if index < len(self.levels):
            due: datetime | None = fired_at + timedelta(minutes=self.levels[index].delay_minutes)
        elif passes < self.repeat_count:
            index, passes = 0, passes + 1
            due = fired_at + max(timedelta(minutes=self.levels[0].delay_minutes), MIN_REPEAT_WAIT)
        else:
            due = None
        progress = Progress(next_index=index, pass_=passes, fired=self.progress.fired + 1)
        return self.model_copy(update={"progress": progress}), due

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class SnapshotError(ValueError):
    pass


def read_snapshot(stored: Any) -> EscalationSnapshot:
    """The stored JSON → snapshot, or SnapshotError naming what is wrong (never the whole value)."""
    try:
        return EscalationSnapshot.model_validate(stored)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'snapshot'}: {e['type']}" for e in exc.errors()
        )
        raise SnapshotError(where) from None
