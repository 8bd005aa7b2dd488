"""/operator/devices: devices across tenants (optionally one tenant), and one tenant's device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import devices as device_queries
from pulse.api.queries.devices import DeviceList, DevicePublic
from pulse.api.routes.params import DeviceId, DeviceStatusFilter, SearchText, SiteFilter
from pulse.errors import PulseError

router = APIRouter(
    prefix="/operator",
    tags=["operator-devices"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
TenantFilter = Annotated[str | None, Query(max_length=64, description="Only this tenant.")]


@router.get("/devices", response_model=DeviceList)
async def list_all_devices(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    tenant_filter: TenantFilter = None,
    status: DeviceStatusFilter = None,
    site_id: SiteFilter = None,
    q: SearchText = None,
    include_decommissioned: bool = False,
) -> DeviceList:
    return await device_queries.list_devices(
        conn,
        tenant_filter,
        page,
        status=status,
        site_id=site_id,
        q=q,
        include_decommissioned=include_decommissioned,
    )


@router.get(
    "/tenants/{tenant_id}/devices/{device_id}",
    response_model=DevicePublic,
    responses={404: {"model": ErrorBody}},
)
async def view_device(
    conn: OperatorDb, tenant_id: Annotated[str, Path(max_length=64)], device_id: DeviceId
) -> DevicePublic:
    device = await device_queries.get_device(conn, tenant_id, device_id)
    if device is None:
        raise PulseError(404, "not_found", f"no device {device_id!r} in tenant {tenant_id!r}")
    return device
