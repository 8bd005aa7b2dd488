"""/customer/devices: the tenant's devices — list, create (with a provision token, within the
subscription's device limit), update attributes, metadata and tags, decommission, delete, and rotate
the provision token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.audit import AuditChange
from pulse.api.deps import AdminTenantId, AppSettings, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import devices as queries
from pulse.api.queries.devices import DeviceDetail, DeviceList, DevicePublic, require_device
from pulse.api.queries.tags import replace_tags
from pulse.api.routes.customer.models import Metadata, Name, ResourceId, ShortText, Tags, Text
from pulse.api.routes.params import (
    DeviceId,
    DeviceStatusFilter,
    SearchText,
    SiteFilter,
    TagsFilter,
    split_list,
)
from pulse.broker import control as broker_control
from pulse.errors import PulseError
from pulse.provisioning.devices import register_device, rotate_token, set_device_status

router = APIRouter(
    prefix="/customer/devices",
    tags=["customer-devices"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


class DeviceAttributes(BaseModel):
    """Registry attributes a tenant admin may set."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(None, description="Shown as the device's name (stored as `model`).")
    device_type: ShortText | None = None
    model: ShortText | None = None
    manufacturer: ShortText | None = None
    serial_number: ShortText | None = None
    mac_address: ShortText | None = None
    imei: ShortText | None = None
    iccid: ShortText | None = None
    hw_revision: ShortText | None = None
    fw_version: ShortText | None = None
    notes: Text | None = None
    address: ShortText | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    metadata: Metadata | None = None
    tags: Tags | None = None


class DeviceCreate(DeviceAttributes):
    device_id: ResourceId
    site_id: ResourceId
    subscription_id: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="Subscription to count the device on; default: the first with room (MAIN first)."
    )


class DeviceUpdate(DeviceAttributes):
    site_id: ResourceId | None = None
    location_source: Literal["auto", "manual"] | None = None


class DeviceCreated(BaseModel):
    device: DevicePublic
    provision_token: str = Field(description="Shown once; the device sends it with every message.")
    mqtt_topic: str


class DeviceStatusChange(BaseModel):
    device_id: str
    status: str
    decommissioned_at: datetime | None = None


class ProvisionToken(BaseModel):
    device_id: str
    provision_token: str


_REGISTRY_FIELDS = (
    "device_type", "model", "manufacturer", "serial_number", "mac_address", "imei", "iccid", "hw_revision",
    "fw_version", "notes", "address", "latitude", "longitude", "metadata",
)  # fmt: skip
_LOCATION_FIELDS = {"latitude", "longitude", "address"}


def _registry_values(body: DeviceAttributes, fields: set[str]) -> dict[str, object]:
    values = {name: getattr(body, name) for name in _REGISTRY_FIELDS if name in fields}
    if "name" in fields:
        values["model"] = body.name
    return values


@router.get("", response_model=DeviceList)
async def list_devices(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 1000))],
    status: DeviceStatusFilter = None,
    site_id: SiteFilter = None,
    tags: TagsFilter = None,
    q: SearchText = None,
    include_decommissioned: bool = False,
) -> DeviceList:
    return await queries.list_devices(
        conn,
        tenant,
        page,
        status=status,
        site_id=site_id,
        tags=split_list(tags, name="tags"),
        q=q,
        include_decommissioned=include_decommissioned,
    )


@router.post(
    "",
    status_code=201,
    response_model=DeviceCreated,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def create_device(
    tenant: AdminTenantId,
    conn: TenantDb,
    body: DeviceCreate,
    settings: AppSettings,
    background: BackgroundTasks,
) -> DeviceCreated:
    """Register a device and issue its provision token (shown once; also its broker password). 403/409
    when no subscription has room for it."""
    created = await register_device(
        conn,
        tenant,
        body.device_id,
        body.site_id,
        subscription_id=body.subscription_id,
        fields=_registry_values(body, body.model_fields_set),
        credential="token",
    )
    if body.tags:
        await replace_tags(conn, tenant, body.device_id, body.tags)
    assert created.provision_token
    background.add_task(  # after the commit
        broker_control.set_device_password, settings, tenant, body.device_id, created.provision_token
    )
    return DeviceCreated(
        device=await require_device(conn, tenant, body.device_id),
        provision_token=created.provision_token,
        mqtt_topic=f"tenant/{tenant}/device/{body.device_id}/telemetry",
    )


@router.get("/{device_id}", response_model=DeviceDetail, responses={404: {"model": ErrorBody}})
async def get_device(tenant: TenantId, conn: TenantDb, device_id: DeviceId) -> DeviceDetail:
    return DeviceDetail(tenant_id=tenant, device=await require_device(conn, tenant, device_id))


@router.patch(
    "/{device_id}",
    response_model=DeviceDetail,
    responses={400: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def update_device(
    tenant: AdminTenantId, conn: TenantDb, device_id: DeviceId, body: DeviceUpdate, audit: AuditChange
) -> DeviceDetail:
    """Change attributes; `metadata` and `tags` are replaced as a whole. Setting a location marks it
    manual, so devices reporting their own position no longer move it."""
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    before = await require_device(conn, tenant, device_id)
    values = _registry_values(body, fields)
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}
    if fields & _LOCATION_FIELDS and "location_source" not in fields:
        values["location_source"] = "manual"
    elif "location_source" in fields:
        values["location_source"] = body.location_source
    if "site_id" in fields and body.site_id:  # a device always has a site: null leaves it where it is
        values["site_id"] = body.site_id
    await queries.update_device(conn, tenant, device_id, values)
    if "tags" in fields:
        await replace_tags(conn, tenant, device_id, body.tags or [])
    after = await require_device(conn, tenant, device_id)
    audit.change(before=before, after=after)
    return DeviceDetail(tenant_id=tenant, device=after)


@router.delete("/{device_id}", response_model=DeviceStatusChange, responses={404: {"model": ErrorBody}})
async def delete_device(
    tenant: AdminTenantId,
    conn: TenantDb,
    device_id: DeviceId,
    settings: AppSettings,
    background: BackgroundTasks,
) -> DeviceStatusChange:
    """Soft delete: the device disappears from every list, its token stops working and its
    subscription slot is freed. Telemetry stays until retention removes it."""
    await require_device(conn, tenant, device_id)
    await set_device_status(conn, tenant, device_id, "DELETED")
    background.add_task(broker_control.remove_device, settings, tenant, device_id)  # after the commit
    return DeviceStatusChange(device_id=device_id, status="deleted")


@router.patch(
    "/{device_id}/decommission",
    response_model=DeviceStatusChange,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def decommission_device(
    tenant: AdminTenantId,
    conn: TenantDb,
    device_id: DeviceId,
    settings: AppSettings,
    background: BackgroundTasks,
) -> DeviceStatusChange:
    """Take the device out of service: token revoked, slot freed, hidden from lists by default."""
    device = await require_device(conn, tenant, device_id)
    if device.decommissioned_at is not None:
        raise PulseError(409, "already_decommissioned", f"device {device_id!r} is already decommissioned")
    await set_device_status(conn, tenant, device_id, "REVOKED", decommission=True)
    background.add_task(broker_control.remove_device, settings, tenant, device_id)
    device = await require_device(conn, tenant, device_id)
    return DeviceStatusChange(
        device_id=device_id, status="REVOKED", decommissioned_at=device.decommissioned_at
    )


@router.post(
    "/{device_id}/provision-token",
    response_model=ProvisionToken,
    responses={404: {"model": ErrorBody}},
)
async def rotate_provision_token(
    tenant: AdminTenantId,
    conn: TenantDb,
    device_id: DeviceId,
    settings: AppSettings,
    background: BackgroundTasks,
) -> ProvisionToken:
    """Issue a new provision token (shown once); the old one stops working within the ingest cache TTL."""
    device = await require_device(conn, tenant, device_id)
    if device.registry_status != "ACTIVE":
        raise PulseError(409, "device_not_active", f"device {device_id!r} is {device.registry_status}")
    token = await rotate_token(conn, tenant, device_id)
    background.add_task(broker_control.set_device_password, settings, tenant, device_id, token)
    return ProvisionToken(device_id=device_id, provision_token=token)
