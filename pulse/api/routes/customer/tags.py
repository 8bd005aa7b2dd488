"""Device tags: the tenant's tag list, and one device's tags (replace, add, remove)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import tags as queries
from pulse.api.queries.devices import require_device
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
    return DeviceTags(
        tenant_id=tenant, device_id=device_id, tags=await queries.device_tags(conn, tenant, device_id)
    )


@router.get("/tags", response_model=TagList)
async def list_tags(tenant: TenantId, conn: TenantDb) -> TagList:
    """Every tag in use in the tenant (at most 1,000)."""
    return TagList(tenant_id=tenant, tags=await queries.tenant_tags(conn, tenant))


@router.get("/devices/{device_id}/tags", response_model=DeviceTags)
async def get_device_tags(tenant: TenantId, conn: TenantDb, device_id: DeviceId) -> DeviceTags:
    await require_device(conn, tenant, device_id)
    return await _device_tags(conn, tenant, device_id)


@router.put("/devices/{device_id}/tags", response_model=DeviceTags)
async def set_device_tags(
    tenant: AdminTenantId, conn: TenantDb, device_id: DeviceId, body: TagsBody
) -> DeviceTags:
    """Replace the device's tags (trimmed, de-duplicated)."""
    await require_device(conn, tenant, device_id)
    await queries.replace_tags(conn, tenant, device_id, body.tags)
    return await _device_tags(conn, tenant, device_id)


@router.post("/devices/{device_id}/tags/{tag}", response_model=DeviceTags)
async def add_device_tag(
    tenant: AdminTenantId, conn: TenantDb, device_id: DeviceId, tag: TagParam
) -> DeviceTags:
    await require_device(conn, tenant, device_id)
    await queries.add_tag(conn, tenant, device_id, tag.strip())
    return await _device_tags(conn, tenant, device_id)


@router.delete("/devices/{device_id}/tags/{tag}", response_model=DeviceTags)
async def remove_device_tag(
    tenant: AdminTenantId, conn: TenantDb, device_id: DeviceId, tag: TagParam
) -> DeviceTags:
    await require_device(conn, tenant, device_id)
    await queries.remove_tag(conn, tenant, device_id, tag.strip())
    return await _device_tags(conn, tenant, device_id)
