"""Schedules loaded from the database into the engine's plain data (`pulse.oncall.schedule`).

Three queries whatever the number of schedules: the schedules, their layers, their overrides. Runs in
whatever transaction the caller holds (a tenant transaction in the API, the escalation worker's own);
the tenant id is in every WHERE clause as well, so an operator transaction loads only that tenant.
Restrictions are stored as `[{"weekdays": [0..6], "start": "HH:MM", "end": "HH:MM"}]`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, time
from typing import Any

import asyncpg

from pulse.oncall.schedule import Layer, Override, Restriction, Schedule


def restriction_from_json(value: Mapping[str, Any]) -> Restriction:
    return Restriction(
        weekdays=frozenset(int(day) for day in value["weekdays"]),
        start=time.fromisoformat(value["start"]),
        end=time.fromisoformat(value["end"]),
    )


def restriction_to_json(restriction: Restriction) -> dict[str, Any]:
    return {
        "weekdays": sorted(restriction.weekdays),
        "start": restriction.start.strftime("%H:%M"),
        "end": restriction.end.strftime("%H:%M"),
    }


def layer_from_row(row: Mapping[str, Any]) -> Layer:
    return Layer(
        layer_id=row["layer_id"],
        name=row["name"],
        position=row["position"],
        rotation=row["rotation"],
        shift_hours=row["shift_hours"],
        handoff_time=row["handoff_time"],
        handoff_weekday=row["handoff_weekday"],
        start_date=row["start_date"],
        participants=tuple(row["participants"]),
        restrictions=tuple(restriction_from_json(r) for r in row["restrictions"]),
    )


LAYER_COLUMNS = (
    "layer_id, schedule_id, name, position, rotation, shift_hours, handoff_time, handoff_weekday, "
    "start_date, participants, restrictions"
)


async def load_schedules(
    conn: asyncpg.Connection,
    tenant_id: str,
    schedule_ids: Collection[int],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, Schedule]:
    """The tenant's schedules among `schedule_ids` by id (unknown ids are left out), with the
    overrides overlapping [since, until): by default every override ending after now() - 90 days."""
    ids = sorted({int(i) for i in schedule_ids})
    if not ids:
        return {}
    schedules = await conn.fetch(
        """SELECT schedule_id, name, timezone FROM oncall_schedules
            WHERE tenant_id = $1 AND schedule_id = ANY($2::bigint[])""",
        tenant_id,
        ids,
    )
    if not schedules:
        return {}
    layers = await conn.fetch(
        f"""SELECT {LAYER_COLUMNS} FROM oncall_layers
             WHERE tenant_id = $1 AND schedule_id = ANY($2::bigint[])
             ORDER BY schedule_id, position, layer_id""",
        tenant_id,
        ids,
    )
    overrides = await conn.fetch(
        """SELECT override_id, schedule_id, user_id, start_at, end_at FROM oncall_overrides
            WHERE tenant_id = $1 AND schedule_id = ANY($2::bigint[])
              AND end_at > COALESCE($3::timestamptz, now() - interval '90 days')
              AND ($4::timestamptz IS NULL OR start_at < $4)
            ORDER BY schedule_id, start_at, override_id""",
        tenant_id,
        ids,
        since,
        until,
    )
    return assemble(schedules, layers, overrides)


def assemble(
    schedules: Iterable[Mapping[str, Any]],
    layers: Iterable[Mapping[str, Any]],
    overrides: Iterable[Mapping[str, Any]],
) -> dict[int, Schedule]:
    """Rows of the three queries into `Schedule`s by id."""
    layers_of: dict[int, list[Layer]] = {}
    for row in layers:
        layers_of.setdefault(row["schedule_id"], []).append(layer_from_row(row))
    overrides_of: dict[int, list[Override]] = {}
    for row in overrides:
        overrides_of.setdefault(row["schedule_id"], []).append(
            Override(row["override_id"], row["user_id"], row["start_at"], row["end_at"])
        )
    return {
        row["schedule_id"]: Schedule(
            schedule_id=row["schedule_id"],
            name=row["name"],
            timezone=row["timezone"],
            layers=tuple(layers_of.get(row["schedule_id"], ())),
            overrides=tuple(overrides_of.get(row["schedule_id"], ())),
        )
        for row in schedules
    }
