"""Devices as the API shows them: registry attributes, live state and tags in one row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page, like_pattern
from pulse.db.patch import update_row
from pulse.errors import PulseError

ConnectionStatus = Literal["ONLINE", "STALE", "OFFLINE"]


class DevicePublic(BaseModel):
    tenant_id: str
    device_id: str
    site_id: str
    status: ConnectionStatus  # from device_state; OFFLINE for a device never heard from
    registry_status: str  # ACTIVE, INACTIVE, SUSPENDED, REVOKED
    name: str  # model, else device_id (the reference exposes `name` as an alias of model)
    device_type: str | None
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    last_telemetry_at: datetime | None
    last_state_change_at: datetime | None
    state: dict[str, Any]
    latitude: float | None
    longitude: float | None
    address: str | None
    location_source: str | None
    mac_address: str | None
    imei: str | None
    iccid: str | None
    serial_number: str | None
    model: str | None
    manufacturer: str | None
    hw_revision: str | None
    fw_version: str | None
    notes: str | None
    metadata: dict[str, Any]
    tags: list[str]
    subscription_id: str | None
    provisioned: bool  # has a provision token
    decommissioned_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeviceDetail(BaseModel):
    tenant_id: str
    device: DevicePublic


class DeviceList(BaseModel):
    tenant_id: str | None
    devices: list[DevicePublic]
    count: int
    total: int
    limit: int
    offset: int


_SELECT = """
SELECT r.tenant_id, r.device_id, r.site_id, COALESCE(s.status, 'OFFLINE') AS status, r.status AS registry_status,
       COALESCE(r.model, r.device_id) AS name, r.device_type, s.last_seen_at, s.last_heartbeat_at,
       s.last_telemetry_at, s.last_state_change_at, COALESCE(s.state, '{}'::jsonb) AS state,
       r.latitude, r.longitude, r.address, r.location_source, r.mac_address, r.imei, r.iccid, r.serial_number,
       r.model, r.manufacturer, r.hw_revision, r.fw_version, r.notes, r.metadata,
       COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM device_tags t
                  WHERE t.tenant_id = r.tenant_id AND t.device_id = r.device_id), '{}') AS tags,
       r.subscription_id, r.provision_token_hash IS NOT NULL AS provisioned, r.decommissioned_at,
       r.created_at, r.updated_at
  FROM device_registry r
  LEFT JOIN device_state s ON s.tenant_id = r.tenant_id AND s.device_id = r.device_id
"""

# $1 tenant (NULL: all), $2 include decommissioned, $3 status, $4 site, $5 tags (all required), $6 search
_FILTER = """
         WHERE ($1::text IS NULL OR r.tenant_id = $1)
           AND r.status <> 'DELETED'
           AND ($2 OR r.decommissioned_at IS NULL)
           AND ($3::text IS NULL OR COALESCE(s.status, 'OFFLINE') = $3)
           AND ($4::text IS NULL OR r.site_id = $4)
           AND ($5::text[] IS NULL OR (SELECT count(*) FROM device_tags t
                                        WHERE t.tenant_id = r.tenant_id AND t.device_id = r.device_id
                                          AND t.tag = ANY($5)) = cardinality($5))
           AND ($6::text IS NULL OR r.device_id ILIKE $6 OR r.model ILIKE $6 OR r.serial_number ILIKE $6
                OR r.site_id ILIKE $6 OR r.address ILIKE $6)
"""


def device_from(row: asyncpg.Record) -> DevicePublic:
    return DevicePublic(**{k: row[k] for k in DevicePublic.model_fields})


async def list_devices(
    conn: asyncpg.Connection,
    tenant_id: str | None,
    page: Page,
    *,
    status: str | None = None,
    site_id: str | None = None,
    tags: list[str] | None = None,
    q: str | None = None,
    include_decommissioned: bool = False,
) -> DeviceList:
    """One page of the devices of `tenant_id` (None: every tenant — operators only), ordered by tenant,
    site and device, with the total that match."""
    args = (
        tenant_id,
        include_decommissioned,
        status,
        site_id,
        sorted(set(tags)) if tags else None,
        like_pattern(q) if q else None,
    )
    rows = await conn.fetch(
        f"""{_SELECT} {_FILTER}
         ORDER BY r.tenant_id, r.site_id, r.device_id
         LIMIT $7 OFFSET $8""",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"""SELECT count(*) FROM device_registry r
           LEFT JOIN device_state s ON s.tenant_id = r.tenant_id AND s.device_id = r.device_id {_FILTER}""",
        *args,
    )
    devices = [device_from(r) for r in rows]
    return DeviceList(
        tenant_id=tenant_id,
        devices=devices,
        count=len(devices),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def get_device(conn: asyncpg.Connection, tenant_id: str, device_id: str) -> DevicePublic | None:
    """One device that has not been deleted (a decommissioned device is still shown)."""
    row = await conn.fetchrow(
        f"{_SELECT} WHERE r.tenant_id = $1 AND r.device_id = $2 AND r.status <> 'DELETED'",
        tenant_id,
        device_id,
    )
    return device_from(row) if row else None


async def require_device(conn: asyncpg.Connection, tenant_id: str, device_id: str) -> DevicePublic:
    """`get_device`, or the API's 404."""
    device = await get_device(conn, tenant_id, device_id)
    if device is None:
        raise PulseError(404, "not_found", f"no device {device_id!r}")
    return device


async def update_device(
    conn: asyncpg.Connection, tenant_id: str, device_id: str, values: Mapping[str, object]
) -> None:
    """Registry columns of a device the caller has already found (require_device). A new `site_id`
    that names no site yet creates it (named after its id, as registering a device does), and the
    device's live state moves along so health and alerts report the new site at once."""
    if values.get("site_id"):
        await conn.execute(
            "INSERT INTO sites (tenant_id, site_id, name) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING",
            tenant_id,
            values["site_id"],
        )
        await conn.execute(
            "UPDATE device_state SET site_id = $3 WHERE tenant_id = $1 AND device_id = $2",
            tenant_id,
            device_id,
            values["site_id"],
        )
    if values:
        await update_row(conn, "device_registry", {"tenant_id": tenant_id, "device_id": device_id}, values)
