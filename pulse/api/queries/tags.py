"""Device tags: free-form labels on devices (`device_tags`), the tenant's vocabulary and their writes.
The device itself is the caller's to find first (devices.require_device): a tag row for an unknown
device would fail its foreign key."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

MAX_TENANT_TAGS = 1000  # the tenant's tag list is a picker, not an export


async def tenant_tags(conn: asyncpg.Connection, tenant: str) -> list[str]:
    """Every tag in use in the tenant, sorted (at most MAX_TENANT_TAGS)."""
    rows = await conn.fetch(
        "SELECT DISTINCT tag FROM device_tags WHERE tenant_id = $1 ORDER BY tag LIMIT $2",
        tenant,
        MAX_TENANT_TAGS,
    )
    return [r["tag"] for r in rows]


async def device_tags(conn: asyncpg.Connection, tenant: str, device_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT tag FROM device_tags WHERE tenant_id = $1 AND device_id = $2 ORDER BY tag", tenant, device_id
    )
    return [r["tag"] for r in rows]


async def replace_tags(conn: asyncpg.Connection, tenant: str, device_id: str, tags: Iterable[str]) -> None:
    """The device's tags become exactly `tags` (a tag named twice is stored once)."""
    await conn.execute("DELETE FROM device_tags WHERE tenant_id = $1 AND device_id = $2", tenant, device_id)
    await conn.executemany(
        "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES ($1, $2, $3)",
        [(tenant, device_id, tag) for tag in sorted(set(tags))],
    )


async def add_tag(conn: asyncpg.Connection, tenant: str, device_id: str, tag: str) -> None:
    """Adding a tag the device already has changes nothing."""
    await conn.execute(
        "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        tenant,
        device_id,
        tag,
    )


async def remove_tag(conn: asyncpg.Connection, tenant: str, device_id: str, tag: str) -> None:
    """Removing a tag the device does not have changes nothing."""
    await conn.execute(
        "DELETE FROM device_tags WHERE tenant_id = $1 AND device_id = $2 AND tag = $3", tenant, device_id, tag
    )
