"""/customer/device-groups: named sets of devices (rules and maintenance windows can target them)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict

from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import groups as queries
from pulse.api.queries.devices import require_device
from pulse.api.queries.groups import GroupPublic
from pulse.api.routes.customer.models import Name, ResourceId, Text
from pulse.api.routes.params import DeviceId
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/device-groups",
    tags=["customer-device-groups"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
GroupId = Annotated[str, Path(min_length=1, max_length=128)]


class GroupList(BaseModel):
    groups: list[GroupPublic]
    total: int
    limit: int
    offset: int


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: ResourceId | None = None
    name: Name
    description: Text | None = None


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Text | None = None


class GroupMembers(BaseModel):
    group_id: str
    device_ids: list[str]
    total: int
    limit: int
    offset: int


@router.get("", response_model=GroupList)
async def list_groups(
    tenant: TenantId, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> GroupList:
    groups, total = await queries.list_groups(conn, tenant, page)
    return GroupList(groups=groups, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=GroupPublic, responses={409: {"model": ErrorBody}})
async def create_group(tenant: AdminTenantId, conn: TenantDb, body: GroupCreate) -> GroupPublic:
    group_id = body.group_id or f"grp-{secrets.token_hex(4)}"
    if not await queries.insert_group(conn, tenant, group_id, body.name, body.description):
        raise PulseError(409, "group_exists", f"group {group_id!r} already exists")
    return await queries.require_group(conn, tenant, group_id)


@router.get("/{group_id}", response_model=GroupPublic)
async def get_group(tenant: TenantId, conn: TenantDb, group_id: GroupId) -> GroupPublic:
    return await queries.require_group(conn, tenant, group_id)


@router.patch("/{group_id}", response_model=GroupPublic, responses={400: {"model": ErrorBody}})
async def update_group(
    tenant: AdminTenantId, conn: TenantDb, group_id: GroupId, body: GroupUpdate
) -> GroupPublic:
    values = body.model_dump(include=body.model_fields_set)
    if not values or values.get("name", "x") is None:
        raise PulseError(400, "bad_request", "nothing to update (name cannot be null)")
    await queries.update_group(conn, tenant, group_id, values)
    return await queries.require_group(conn, tenant, group_id)


@router.delete("/{group_id}", status_code=204)
async def delete_group(tenant: AdminTenantId, conn: TenantDb, group_id: GroupId) -> None:
    await queries.delete_group(conn, tenant, group_id)


@router.get("/{group_id}/devices", response_model=GroupMembers)
async def list_members(
    tenant: TenantId,
    conn: TenantDb,
    group_id: GroupId,
    page: Annotated[Page, Depends(page_params(100, 1000))],
) -> GroupMembers:
    group = await queries.require_group(conn, tenant, group_id)
    return GroupMembers(
        group_id=group_id,
        device_ids=await queries.member_ids(conn, tenant, group_id, page),
        total=group.member_count,
        limit=page.limit,
        offset=page.offset,
    )


@router.put("/{group_id}/devices/{device_id}", response_model=GroupPublic)
async def add_member(
    tenant: AdminTenantId, conn: TenantDb, group_id: GroupId, device_id: DeviceId
) -> GroupPublic:
    await queries.require_group(conn, tenant, group_id)
    await require_device(conn, tenant, device_id)
    await queries.add_member(conn, tenant, group_id, device_id)
    return await queries.require_group(conn, tenant, group_id)


@router.delete("/{group_id}/devices/{device_id}", response_model=GroupPublic)
async def remove_member(
    tenant: AdminTenantId, conn: TenantDb, group_id: GroupId, device_id: DeviceId
) -> GroupPublic:
    await queries.require_group(conn, tenant, group_id)
    if not await queries.remove_member(conn, tenant, group_id, device_id):
        raise PulseError(404, "not_found", f"device {device_id!r} is not in group {group_id!r}")
    return await queries.require_group(conn, tenant, group_id)
