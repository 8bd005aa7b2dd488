"""Sites as the API shows them, with per-site device and alert counts, and their writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page
from pulse.db.patch import update_row
from pulse.errors import PulseError


class SitePublic(BaseModel):
    site_id: str
    name: str
    location: str | None
    latitude: float | None
    longitude: float | None
    device_count: int
    online_count: int
    stale_count: int
    offline_count: int
    active_alert_count: int
    created_at: datetime


_SELECT = """
SELECT st.site_id, st.name, st.location, st.latitude, st.longitude, st.created_at,
       count(r.device_id) AS device_count,
       count(r.device_id) FILTER (WHERE ds.status = 'ONLINE') AS online_count,
       count(r.device_id) FILTER (WHERE ds.status = 'STALE') AS stale_count,
       count(r.device_id) FILTER (WHERE COALESCE(ds.status, 'OFFLINE') = 'OFFLINE') AS offline_count,
       (SELECT count(*) FROM alerts a WHERE a.tenant_id = st.tenant_id AND a.site_id = st.site_id
                                        AND a.status IN ('OPEN', 'ACKNOWLEDGED')) AS active_alert_count
  FROM sites st
  LEFT JOIN device_registry r ON r.tenant_id = st.tenant_id AND r.site_id = st.site_id
                             AND r.status <> 'DELETED' AND r.decommissioned_at IS NULL
  LEFT JOIN device_state ds ON ds.tenant_id = r.tenant_id AND ds.device_id = r.device_id
 WHERE st.tenant_id = $1 AND ($2::text IS NULL OR st.site_id = $2)
 GROUP BY st.tenant_id, st.site_id
"""


async def require_site(conn: asyncpg.Connection, tenant: str, site_id: str) -> SitePublic:
    row = await conn.fetchrow(_SELECT, tenant, site_id)
    if row is None:
        raise PulseError(404, "not_found", f"no site {site_id!r}")
    return SitePublic(**dict(row))


async def list_sites(conn: asyncpg.Connection, tenant: str, page: Page) -> tuple[list[SitePublic], int]:
    """One page of sites by id, and the total."""
    rows = await conn.fetch(
        f"{_SELECT} ORDER BY st.site_id LIMIT $3 OFFSET $4", tenant, None, page.limit, page.offset
    )
    total = await conn.fetchval("SELECT count(*) FROM sites WHERE tenant_id = $1", tenant)
    return [SitePublic(**dict(r)) for r in rows], total


async def insert_site(
    conn: asyncpg.Connection, tenant: str, site_id: str, values: Mapping[str, object]
) -> bool:
    """False when the site already exists."""
    return (
        await conn.fetchval(
            """INSERT INTO sites (tenant_id, site_id, name, location, latitude, longitude)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING site_id""",
            tenant,
            site_id,
            values["name"],
            values.get("location"),
            values.get("latitude"),
            values.get("longitude"),
        )
        is not None
    )


async def update_site(
    conn: asyncpg.Connection, tenant: str, site_id: str, values: Mapping[str, object]
) -> None:
    if await update_row(conn, "sites", {"tenant_id": tenant, "site_id": site_id}, values) is None:
        raise PulseError(404, "not_found", f"no site {site_id!r}")


async def site_has_devices(conn: asyncpg.Connection, tenant: str, site_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM device_registry WHERE tenant_id = $1 AND site_id = $2 AND status <> 'DELETED' LIMIT 1",
            tenant,
            site_id,
        )
    )


async def delete_site(conn: asyncpg.Connection, tenant: str, site_id: str) -> None:
    await conn.execute("DELETE FROM sites WHERE tenant_id = $1 AND site_id = $2", tenant, site_id)
