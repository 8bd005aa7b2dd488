"""Device groups as the API shows them (with their member count), their members, and their writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page
from pulse.db.patch import update_row
from pulse.errors import PulseError


class GroupPublic(BaseModel):
    group_id: str
    name: str
    description: str | None
    member_count: int
    created_at: datetime
    updated_at: datetime


_SELECT = """SELECT g.group_id, g.name, g.description, g.created_at, g.updated_at,
                    (SELECT count(*) FROM device_group_members m
                      WHERE m.tenant_id = g.tenant_id AND m.group_id = g.group_id) AS member_count
               FROM device_groups g WHERE g.tenant_id = $1"""


def _not_found(group_id: str) -> PulseError:
    return PulseError(404, "not_found", f"no group {group_id!r}")


async def require_group(conn: asyncpg.Connection, tenant: str, group_id: str) -> GroupPublic:
    row = await conn.fetchrow(f"{_SELECT} AND g.group_id = $2", tenant, group_id)
    if row is None:
        raise _not_found(group_id)
    return GroupPublic(**dict(row))


async def list_groups(conn: asyncpg.Connection, tenant: str, page: Page) -> tuple[list[GroupPublic], int]:
    """One page of groups by name, and the total."""
    rows = await conn.fetch(
        f"{_SELECT} ORDER BY g.name, g.group_id LIMIT $2 OFFSET $3", tenant, page.limit, page.offset
    )
    total = await conn.fetchval("SELECT count(*) FROM device_groups WHERE tenant_id = $1", tenant)
    return [GroupPublic(**dict(r)) for r in rows], total


async def insert_group(
    conn: asyncpg.Connection, tenant: str, group_id: str, name: str, description: str | None
) -> bool:
    """False when the group already exists."""
    inserted = await conn.fetchval(
        """INSERT INTO device_groups (tenant_id, group_id, name, description) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING group_id""",
        tenant,
        group_id,
        name,
        description,
    )
    return inserted is not None


async def update_group(
    conn: asyncpg.Connection, tenant: str, group_id: str, values: Mapping[str, object]
) -> None:
    if await update_row(conn, "device_groups", {"tenant_id": tenant, "group_id": group_id}, values) is None:
        raise _not_found(group_id)


async def delete_group(conn: asyncpg.Connection, tenant: str, group_id: str) -> None:
    if not await conn.fetchval(
        "DELETE FROM device_groups WHERE tenant_id = $1 AND group_id = $2 RETURNING 1", tenant, group_id
    ):
        raise _not_found(group_id)


async def member_ids(conn: asyncpg.Connection, tenant: str, group_id: str, page: Page) -> list[str]:
    rows = await conn.fetch(
        """SELECT device_id FROM device_group_members WHERE tenant_id = $1 AND group_id = $2
            ORDER BY device_id LIMIT $3 OFFSET $4""",
        tenant,
        group_id,
        page.limit,
        page.offset,
    )
    return [r["device_id"] for r in rows]


async def add_member(conn: asyncpg.Connection, tenant: str, group_id: str, device_id: str) -> None:
    await conn.execute(
        "INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        tenant,
        group_id,
        device_id,
    )


async def remove_member(conn: asyncpg.Connection, tenant: str, group_id: str, device_id: str) -> bool:
    """False when the device was not a member."""
    return bool(
        await conn.fetchval(
            """DELETE FROM device_group_members WHERE tenant_id = $1 AND group_id = $2 AND device_id = $3
               RETURNING 1""",
            tenant,
            group_id,
            device_id,
        )
    )
