"""/customer/device-groups: named sets of devices (rules and maintenance windows can target them)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict

from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.models import Name, ResourceId, Text
from pulse.api.routes.params import DeviceId
from pulse.api.routes.v2.devices import require_device
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/device-groups",
    tags=["customer-device-groups"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
GroupId = Annotated[str, Path(min_length=1, max_length=128)]


class GroupPublic(BaseModel):
    group_id: str
    name: str
    description: str | None
    member_count: int
    created_at: datetime
    updated_at: datetime


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


_SELECT = """SELECT g.group_id, g.name, g.description, g.created_at, g.updated_at,
                    (SELECT count(*) FROM device_group_members m
                      WHERE m.tenant_id = g.tenant_id AND m.group_id = g.group_id) AS member_count
               FROM device_groups g WHERE g.tenant_id = $1"""


async def _group(conn, tenant: str, group_id: str) -> GroupPublic:
    row = await conn.fetchrow(f"{_SELECT} AND g.group_id = $2", tenant, group_id)
    if row is None:
        raise PulseError(404, "not_found", f"no group {group_id!r}")
    return GroupPublic(**dict(row))


@router.get("", response_model=GroupList)
async def list_groups(
    principal: CustomerPrincipal, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> GroupList:
    rows = await conn.fetch(
        f"{_SELECT} ORDER BY g.name, g.group_id LIMIT $2 OFFSET $3",
        principal.tenant_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM device_groups WHERE tenant_id = $1", principal.tenant_id
    )
    return GroupList(
        groups=[GroupPublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=GroupPublic, responses={409: {"model": ErrorBody}})
async def create_group(principal: TenantAdmin, conn: TenantDb, body: GroupCreate) -> GroupPublic:
    assert principal.tenant_id
    group_id = body.group_id or f"grp-{secrets.token_hex(4)}"
    inserted = await conn.fetchval(
        """INSERT INTO device_groups (tenant_id, group_id, name, description) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING group_id""",
        principal.tenant_id,
        group_id,
        body.name,
        body.description,
    )
    if inserted is None:
        raise PulseError(409, "group_exists", f"group {group_id!r} already exists")
    return await _group(conn, principal.tenant_id, group_id)


@router.get("/{group_id}", response_model=GroupPublic)
async def get_group(principal: CustomerPrincipal, conn: TenantDb, group_id: GroupId) -> GroupPublic:
    assert principal.tenant_id
    return await _group(conn, principal.tenant_id, group_id)


@router.patch("/{group_id}", response_model=GroupPublic, responses={400: {"model": ErrorBody}})
async def update_group(
    principal: TenantAdmin, conn: TenantDb, group_id: GroupId, body: GroupUpdate
) -> GroupPublic:
    assert principal.tenant_id
    values = {k: getattr(body, k) for k in body.model_fields_set}
    if not values or values.get("name", "x") is None:
        raise PulseError(400, "bad_request", "nothing to update (name cannot be null)")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    if not await conn.fetchval(
        f"UPDATE device_groups SET {assignments} WHERE tenant_id = $1 AND group_id = $2 RETURNING 1",
        principal.tenant_id,
        group_id,
        *values.values(),
    ):
        raise PulseError(404, "not_found", f"no group {group_id!r}")
    return await _group(conn, principal.tenant_id, group_id)


@router.delete("/{group_id}", status_code=204)
async def delete_group(principal: TenantAdmin, conn: TenantDb, group_id: GroupId) -> None:
    if not await conn.fetchval(
        "DELETE FROM device_groups WHERE tenant_id = $1 AND group_id = $2 RETURNING 1",
        principal.tenant_id,
        group_id,
    ):
        raise PulseError(404, "not_found", f"no group {group_id!r}")


@router.get("/{group_id}/devices", response_model=GroupMembers)
async def list_members(
    principal: CustomerPrincipal,
    conn: TenantDb,
    group_id: GroupId,
    page: Annotated[Page, Depends(page_params(100, 1000))],
) -> GroupMembers:
    assert principal.tenant_id
    group = await _group(conn, principal.tenant_id, group_id)
    rows = await conn.fetch(
        """SELECT device_id FROM device_group_members WHERE tenant_id = $1 AND group_id = $2
            ORDER BY device_id LIMIT $3 OFFSET $4""",
        principal.tenant_id,
        group_id,
        page.limit,
        page.offset,
    )
    return GroupMembers(
        group_id=group_id,
        device_ids=[r["device_id"] for r in rows],
        total=group.member_count,
        limit=page.limit,
        offset=page.offset,
    )


@router.put("/{group_id}/devices/{device_id}", response_model=GroupPublic)
async def add_member(
    principal: TenantAdmin, conn: TenantDb, group_id: GroupId, device_id: DeviceId
) -> GroupPublic:
    assert principal.tenant_id
    await _group(conn, principal.tenant_id, group_id)
    await require_device(conn, principal.tenant_id, device_id)
    await conn.execute(
        "INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        principal.tenant_id,
        group_id,
        device_id,
    )
    return await _group(conn, principal.tenant_id, group_id)


@router.delete("/{group_id}/devices/{device_id}", response_model=GroupPublic)
async def remove_member(
    principal: TenantAdmin, conn: TenantDb, group_id: GroupId, device_id: DeviceId
) -> GroupPublic:
    assert principal.tenant_id
    await _group(conn, principal.tenant_id, group_id)
    if not await conn.fetchval(
        "DELETE FROM device_group_members WHERE tenant_id = $1 AND group_id = $2 AND device_id = $3 RETURNING 1",
        principal.tenant_id,
        group_id,
        device_id,
    ):
        raise PulseError(404, "not_found", f"device {device_id!r} is not in group {group_id!r}")
    return await _group(conn, principal.tenant_id, group_id)
