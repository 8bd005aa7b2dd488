"""On-call schedules, layers, overrides and personal feeds as the API shows them, and their writes.
What the engine computes from them (`pulse.oncall`) is loaded with `pulse.oncall.store`."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pulse.errors import PulseError
from pulse.oncall.store import LAYER_COLUMNS


class RestrictionPublic(BaseModel):
    weekdays: list[int]
    start: str
    end: str


class LayerPublic(BaseModel):
    layer_id: int
    name: str
    position: int
    rotation: str
    shift_hours: int | None
    handoff_time: str  # HH:MM in the schedule's zone
    handoff_weekday: int | None
    start_date: date
    participants: list[uuid.UUID]
    restrictions: list[RestrictionPublic]
    created_at: datetime
    updated_at: datetime


class SchedulePublic(BaseModel):
    schedule_id: int
    name: str
    description: str | None
    timezone: str
    layers: list[LayerPublic]
    created_at: datetime
    updated_at: datetime


class OverridePublic(BaseModel):
    override_id: int
    schedule_id: int
    user_id: uuid.UUID
    username: str
    start_at: datetime
    end_at: datetime
    reason: str | None
    created_by: str | None
    created_at: datetime


def _layer(row: Mapping[str, Any]) -> LayerPublic:
    values = dict(row)
    values["handoff_time"] = row["handoff_time"].strftime("%H:%M")
    return LayerPublic(**values)


_SCHEDULE_COLUMNS = "schedule_id, name, description, timezone, created_at, updated_at"


async def _with_layers(
    conn: asyncpg.Connection, tenant: str, rows: list[asyncpg.Record]
) -> list[SchedulePublic]:
    ids = [r["schedule_id"] for r in rows]
    layers = await conn.fetch(
        f"""SELECT {LAYER_COLUMNS}, created_at, updated_at FROM oncall_layers
             WHERE tenant_id = $1 AND schedule_id = ANY($2::bigint[]) ORDER BY position DESC, layer_id""",
        tenant,
        ids,
    )
    by_schedule: dict[int, list[LayerPublic]] = {i: [] for i in ids}
    for layer in layers:
        by_schedule[layer["schedule_id"]].append(_layer(layer))
    return [SchedulePublic(**dict(r), layers=by_schedule[r["schedule_id"]]) for r in rows]


async def schedule_exists(conn: asyncpg.Connection, tenant: str, schedule_id: int, *, lock: bool) -> None:
    """404 unless the tenant has this schedule; `lock` serialises writes to one schedule's layers."""
    found = await conn.fetchval(
        f"SELECT 1 FROM oncall_schedules WHERE tenant_id = $1 AND schedule_id = $2{' FOR UPDATE' if lock else ''}",
        tenant,
        schedule_id,
    )
    if not found:
        raise PulseError(404, "not_found", f"no on-call schedule {schedule_id}")


async def require_schedule(conn: asyncpg.Connection, tenant: str, schedule_id: int) -> SchedulePublic:
    rows = await conn.fetch(
        f"SELECT {_SCHEDULE_COLUMNS} FROM oncall_schedules WHERE tenant_id = $1 AND schedule_id = $2",
        tenant,
        schedule_id,
    )
    if not rows:
        raise PulseError(404, "not_found", f"no on-call schedule {schedule_id}")
    return (await _with_layers(conn, tenant, rows))[0]


async def list_schedules(conn: asyncpg.Connection, tenant: str, limit: int) -> list[SchedulePublic]:
    rows = await conn.fetch(
        f"SELECT {_SCHEDULE_COLUMNS} FROM oncall_schedules WHERE tenant_id = $1 ORDER BY name, schedule_id LIMIT $2",
        tenant,
        limit,
    )
    return await _with_layers(conn, tenant, rows)


async def schedule_ids(conn: asyncpg.Connection, tenant: str) -> list[int]:
    rows = await conn.fetch("SELECT schedule_id FROM oncall_schedules WHERE tenant_id = $1", tenant)
    return [r["schedule_id"] for r in rows]


async def insert_schedule(conn: asyncpg.Connection, tenant: str, values: Mapping[str, Any]) -> int:
    return await conn.fetchval(
        """INSERT INTO oncall_schedules (tenant_id, name, description, timezone)
           VALUES ($1, $2, $3, $4) RETURNING schedule_id""",
        tenant,
        values["name"],
        values.get("description"),
        values["timezone"],
    )


async def update_schedule(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, values: Mapping[str, Any]
) -> None:
    await conn.execute(
        """UPDATE oncall_schedules SET name = $3, description = $4, timezone = $5
            WHERE tenant_id = $1 AND schedule_id = $2""",
        tenant,
        schedule_id,
        values["name"],
        values.get("description"),
        values["timezone"],
    )


async def delete_schedule(conn: asyncpg.Connection, tenant: str, schedule_id: int) -> None:
    if not await conn.fetchval(
        "DELETE FROM oncall_schedules WHERE tenant_id = $1 AND schedule_id = $2 RETURNING 1",
        tenant,
        schedule_id,
    ):
        raise PulseError(404, "not_found", f"no on-call schedule {schedule_id}")


def _layer_args(values: Mapping[str, Any]) -> tuple:
    return (
        values["name"],
        values["position"],
        values["rotation"],
        values.get("shift_hours"),
        values["handoff_time"],
        values.get("handoff_weekday"),
        values["start_date"],
        list(values["participants"]),
        list(values.get("restrictions") or []),
    )


async def insert_layer(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, values: Mapping[str, Any]
) -> int:
    """`values`: a layer body's fields with `handoff_time` a `time` and restrictions as stored JSON."""
    return await conn.fetchval(
        """INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, shift_hours, handoff_time,
                                      handoff_weekday, start_date, participants, restrictions)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING layer_id""",
        tenant,
        schedule_id,
        *_layer_args(values),
    )


async def update_layer(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, layer_id: int, values: Mapping[str, Any]
) -> None:
    updated = await conn.fetchval(
        """UPDATE oncall_layers SET name = $4, position = $5, rotation = $6, shift_hours = $7, handoff_time = $8,
                                    handoff_weekday = $9, start_date = $10, participants = $11, restrictions = $12
            WHERE tenant_id = $1 AND schedule_id = $2 AND layer_id = $3 RETURNING 1""",
        tenant,
        schedule_id,
        layer_id,
        *_layer_args(values),
    )
    if not updated:
        raise PulseError(404, "not_found", f"no layer {layer_id} in schedule {schedule_id}")


async def delete_layer(conn: asyncpg.Connection, tenant: str, schedule_id: int, layer_id: int) -> None:
    if not await conn.fetchval(
        "DELETE FROM oncall_layers WHERE tenant_id = $1 AND schedule_id = $2 AND layer_id = $3 RETURNING 1",
        tenant,
        schedule_id,
        layer_id,
    ):
        raise PulseError(404, "not_found", f"no layer {layer_id} in schedule {schedule_id}")


async def delete_layers(conn: asyncpg.Connection, tenant: str, schedule_id: int) -> None:
    await conn.execute(
        "DELETE FROM oncall_layers WHERE tenant_id = $1 AND schedule_id = $2", tenant, schedule_id
    )


async def position_taken(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, position: int, except_layer: int | None
) -> bool:
    """Checked before writing: the unique constraint is deferred to commit (so PUT can swap positions),
    where a clash would only surface after the handler returned."""
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM oncall_layers WHERE tenant_id = $1 AND schedule_id = $2 AND position = $3
                  AND layer_id IS DISTINCT FROM $4""",
            tenant,
            schedule_id,
            position,
            except_layer,
        )
    )


async def check_people(conn: asyncpg.Connection, tenant: str, user_ids: Collection[uuid.UUID]) -> None:
    """422 `invalid_reference` unless every id is a person of this tenant (RLS hides other tenants')."""
    wanted = set(user_ids)
    found = await conn.fetch(
        "SELECT user_id FROM users WHERE tenant_id = $1 AND kind = 'person' AND user_id = ANY($2::uuid[])",
        tenant,
        list(wanted),
    )
    missing = wanted - {r["user_id"] for r in found}
    if missing:
        raise PulseError(
            422, "invalid_reference", f"not a person of this tenant: {', '.join(sorted(map(str, missing)))}"
        )


async def people(
    conn: asyncpg.Connection, tenant: str, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """username and display_name by user id (ids that are gone are left out)."""
    rows = await conn.fetch(
        "SELECT user_id, username, display_name FROM users WHERE tenant_id = $1 AND user_id = ANY($2::uuid[])",
        tenant,
        list(set(user_ids)),
    )
    return {r["user_id"]: r for r in rows}


_OVERRIDE_SELECT = """SELECT o.override_id, o.schedule_id, o.user_id, u.username, o.start_at, o.end_at, o.reason,
                             o.created_by, o.created_at
                        FROM oncall_overrides o JOIN users u ON u.tenant_id = o.tenant_id AND u.user_id = o.user_id"""


async def list_overrides(
    conn: asyncpg.Connection,
    tenant: str,
    schedule_id: int,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[OverridePublic]:
    """Overrides overlapping [since, until) (either bound optional), by start."""
    rows = await conn.fetch(
        f"""{_OVERRIDE_SELECT}
             WHERE o.tenant_id = $1 AND o.schedule_id = $2
               AND ($3::timestamptz IS NULL OR o.end_at > $3) AND ($4::timestamptz IS NULL OR o.start_at < $4)
             ORDER BY o.start_at, o.override_id LIMIT $5""",
        tenant,
        schedule_id,
        since,
        until,
        limit,
    )
    return [OverridePublic(**dict(r)) for r in rows]


async def insert_override(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, values: Mapping[str, Any], created_by: str
) -> OverridePublic:
    override_id = await conn.fetchval(
        """INSERT INTO oncall_overrides (tenant_id, schedule_id, user_id, start_at, end_at, reason, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING override_id""",
        tenant,
        schedule_id,
        values["user_id"],
        values["start_at"],
        values["end_at"],
        values.get("reason"),
        created_by,
    )
    row = await conn.fetchrow(
        f"{_OVERRIDE_SELECT} WHERE o.tenant_id = $1 AND o.override_id = $2", tenant, override_id
    )
    return OverridePublic(**dict(row))


async def delete_override(conn: asyncpg.Connection, tenant: str, schedule_id: int, override_id: int) -> None:
    if not await conn.fetchval(
        """DELETE FROM oncall_overrides WHERE tenant_id = $1 AND schedule_id = $2 AND override_id = $3
           RETURNING 1""",
        tenant,
        schedule_id,
        override_id,
    ):
        raise PulseError(404, "not_found", f"no override {override_id} in schedule {schedule_id}")


async def is_person(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'", tenant, user_id
        )
    )


async def save_feed(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID, token_hash: str) -> None:
    """The person's feed now answers to this hash only: an earlier URL stops working."""
    await conn.execute(
        """INSERT INTO oncall_ical_feeds (tenant_id, user_id, token_hash) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()""",
        tenant,
        user_id,
        token_hash,
    )


async def delete_feed(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "DELETE FROM oncall_ical_feeds WHERE tenant_id = $1 AND user_id = $2 RETURNING 1", tenant, user_id
        )
    )


async def find_feed(conn: asyncpg.Connection, token_hash: str) -> asyncpg.Record | None:
    """The active person a feed hash belongs to (any tenant: `conn` is in operator_tx)."""
    return await conn.fetchrow(
        """SELECT f.tenant_id, f.user_id, u.username, u.display_name
             FROM oncall_ical_feeds f JOIN users u ON u.tenant_id = f.tenant_id AND u.user_id = f.user_id
            WHERE f.token_hash = $1 AND u.status = 'ACTIVE' AND u.kind = 'person'""",
        token_hash,
    )
