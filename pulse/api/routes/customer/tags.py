"""Device tags: the tenant's tag list, and one device's tags (replace, add, remove)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries.devices import require_device
from pulse.api.routes.customer.devices import replace_tags
from pulse.api.routes.customer.models import Tags
from pulse.api.routes.params import DeviceId

router = APIRouter(
    prefix="/customer",
    tags=["customer-tags"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

TagParam = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f,]+$")]


class TagList(BaseModel):
    tenant_id: str
    tags: list[str]


class DeviceTags(BaseModel):
    tenant_id: str
    device_id: str
    tags: list[str]


class TagsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: Tags


async def _device_tags(conn, tenant: str, device_id: str) -> DeviceTags:
    tags = await conn.fetch(
        "SELECT tag FROM device_tags WHERE tenant_id = $1 AND device_id = $2 ORDER BY tag", tenant, device_id
    )
    return DeviceTags(tenant_id=tenant, device_id=device_id, tags=[r["tag"] for r in tags])


@router.get("/tags", response_model=TagList)
async def list_tags(principal: CustomerPrincipal, conn: TenantDb) -> TagList:
    """Every tag in use in the tenant (at most 1,000)."""
    assert principal.tenant_id
    rows = await conn.fetch(
        "SELECT DISTINCT tag FROM device_tags WHERE tenant_id = $1 ORDER BY tag LIMIT 1000",
        principal.tenant_id,
    )
    return TagList(tenant_id=principal.tenant_id, tags=[r["tag"] for r in rows])


@router.get("/devices/{device_id}/tags", response_model=DeviceTags)
async def get_device_tags(principal: CustomerPrincipal, conn: TenantDb, device_id: DeviceId) -> DeviceTags:
    assert principal.tenant_id
    await require_device(conn, principal.tenant_id, device_id)
    return await _device_tags(conn, principal.tenant_id, device_id)


@router.put("/devices/{device_id}/tags", response_model=DeviceTags)
async def set_device_tags(
    principal: TenantAdmin, conn: TenantDb, device_id: DeviceId, body: TagsBody
) -> DeviceTags:
    """Replace the device's tags (trimmed, de-duplicated)."""
    assert principal.tenant_id
    await require_device(conn, principal.tenant_id, device_id)
    await replace_tags(conn, principal.tenant_id, device_id, body.tags)
    return await _device_tags(conn, principal.tenant_id, device_id)


@router.post("/devices/{device_id}/tags/{tag}", response_model=DeviceTags)
async def add_device_tag(
    principal: TenantAdmin, conn: TenantDb, device_id: DeviceId, tag: TagParam
) -> DeviceTags:
    assert principal.tenant_id
    await require_device(conn, principal.tenant_id, device_id)
    await conn.execute(
        "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        principal.tenant_id,
        device_id,
        tag.strip(),
    )
    return await _device_tags(conn, principal.tenant_id, device_id)


@router.delete("/devices/{device_id}/tags/{tag}", response_model=DeviceTags)
async def remove_device_tag(
    principal: TenantAdmin, conn: TenantDb, device_id: DeviceId, tag: TagParam
) -> DeviceTags:
    assert principal.tenant_id
    await require_device(conn, principal.tenant_id, device_id)
    await conn.execute(
        "DELETE FROM device_tags WHERE tenant_id = $1 AND device_id = $2 AND tag = $3",
        principal.tenant_id,
        device_id,
        tag.strip(),
    )
    return await _device_tags(conn, principal.tenant_id, device_id)
