"""Who a firing level reaches: its targets resolved at fire time, as plain data in and out.

A schedule target becomes whoever is on call at that instant (`pulse.oncall`, overrides included),
a user target that user, a channel target the channel itself. A target that cannot be reached is a
`Problem` with a code (`target_missing`, `no_responder`, `unreachable`) recorded on the alert; it
never stops the escalation (the next level still fires on time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pulse.escalation.people import Person
from pulse.escalation.snapshot import ChannelTarget, Level, ScheduleTarget, UserTarget
from pulse.oncall.resolve import who_is_on_call
from pulse.oncall.schedule import Schedule


@dataclass(frozen=True)
class Problem:
    code: str  # target_missing | no_responder | unreachable
    target: str  # "schedule:3", "user:<uuid>", "channel:7"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "target": self.target}


@dataclass(frozen=True)
class Reached:
    """A person the level notifies, and through which target (`schedule:3` when on call there)."""

    person: Person
    via: str


@dataclass
class Resolution:
    people: list[Reached] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def user_ids_wanted(level: Level, now: datetime, schedules: Mapping[int, Schedule]) -> set[UUID]:
    """The users the level would reach at `now` (so their contact routes can be loaded at once)."""
    wanted: set[UUID] = set()
    for target in level.targets:
        if isinstance(target, UserTarget):
            wanted.add(target.id)
        elif isinstance(target, ScheduleTarget) and target.id in schedules:
            on_call = who_is_on_call(schedules[target.id], now).user_id
            if on_call is not None:
                wanted.add(on_call)
    return wanted


def resolve_level(
    level: Level,
    now: datetime,
    schedules: Mapping[int, Schedule],
    people: Mapping[UUID, Person],
    channels: Collection[int],
) -> Resolution:
    """Each person once (the first target that names them), each channel once."""
    result = Resolution()
    seen: set[UUID] = set()

    def reach(user_id: UUID, via: str) -> None:
        if user_id in seen:
            return
        seen.add(user_id)
        person = people.get(user_id)
        if person is None:
            result.problems.append(Problem("target_missing", f"user:{user_id}"))
        elif not person.routes:
            result.problems.append(Problem("unreachable", f"user:{user_id}"))
        else:
            result.people.append(Reached(person, via))

    for target in level.targets:
        name = f"{target.type}:{target.id}"
        if isinstance(target, ChannelTarget):
            if target.id not in channels:
                result.problems.append(Problem("target_missing", name))
            elif target.id not in result.channels:
                result.channels.append(target.id)
        elif isinstance(target, UserTarget):
            reach(target.id, name)
        elif target.id not in schedules:
            result.problems.append(Problem("target_missing", name))
        elif (on_call := who_is_on_call(schedules[target.id], now).user_id) is None:
            result.problems.append(Problem("no_responder", name))
        else:
            reach(on_call, name)
    return result
