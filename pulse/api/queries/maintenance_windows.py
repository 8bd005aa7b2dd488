"""Maintenance windows as the API shows them, and their writes (`recurring` as pulse.alerts.maintenance
dumps it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page
from pulse.db.patch import update_row
from pulse.errors import PulseError


class WindowPublic(BaseModel):
    window_id: str
    name: str
    starts_at: datetime
    ends_at: datetime | None
    recurring: dict[str, Any] | None
    timezone: str
    site_ids: list[str] | None
    device_types: list[str] | None
    group_ids: list[str] | None
    enabled: bool
    created_at: datetime


_COLUMNS = "window_id, name, starts_at, ends_at, recurring, timezone, site_ids, device_types, group_ids, enabled, created_at"


async def require_window(conn: asyncpg.Connection, tenant: str, window_id: str) -> WindowPublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM alert_maintenance_windows WHERE tenant_id = $1 AND window_id = $2",
        tenant,
        window_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no maintenance window {window_id!r}")
    return WindowPublic(**dict(row))


async def list_windows(conn: asyncpg.Connection, tenant: str, page: Page) -> tuple[list[WindowPublic], int]:
    """One page of windows, latest start first, and the total."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM alert_maintenance_windows WHERE tenant_id = $1
             ORDER BY starts_at DESC, window_id LIMIT $2 OFFSET $3""",
        tenant,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM alert_maintenance_windows WHERE tenant_id = $1", tenant)
    return [WindowPublic(**dict(r)) for r in rows], total


async def insert_window(
    conn: asyncpg.Connection, tenant: str, window_id: str, values: Mapping[str, Any]
) -> None:
    """`values`: the create body's fields; a missing time zone is UTC, a missing `enabled` true."""
    await conn.execute(
        """INSERT INTO alert_maintenance_windows (tenant_id, window_id, name, starts_at, ends_at, recurring, timezone,
                                                  site_ids, device_types, group_ids, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'UTC'), $8, $9, $10, COALESCE($11, true))""",
        tenant,
        window_id,
        values["name"],
        values["starts_at"],
        values.get("ends_at"),
        values.get("recurring"),
        values.get("timezone"),
        values.get("site_ids"),
        values.get("device_types"),
        values.get("group_ids"),
        values.get("enabled"),
    )


async def update_window(
    conn: asyncpg.Connection, tenant: str, window_id: str, values: Mapping[str, Any]
) -> None:
    key = {"tenant_id": tenant, "window_id": window_id}
    if await update_row(conn, "alert_maintenance_windows", key, values) is None:
        raise PulseError(404, "not_found", f"no maintenance window {window_id!r}")


async def delete_window(conn: asyncpg.Connection, tenant: str, window_id: str) -> None:
    if not await conn.fetchval(
        "DELETE FROM alert_maintenance_windows WHERE tenant_id = $1 AND window_id = $2 RETURNING 1",
        tenant,
        window_id,
    ):
        raise PulseError(404, "not_found", f"no maintenance window {window_id!r}")
