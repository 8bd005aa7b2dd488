"""/api/admin/devices: installers and factory tooling register devices, hand out one-time activation
codes, rotate and revoke tokens for any tenant, and provision many devices with their broker credentials
in one request (`/bulk`). The subscription device limit holds here as on every other path
(`pulse/provisioning/devices.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import BaseModel, Field

from pulse.api.audit import AuditChange
from pulse.api.deps import AdminDb, AdminKey, AppSettings
from pulse.api.routes.admin.models import PROVISIONING_ERRORS, DeviceId, TenantId
from pulse.broker import control as broker_control
from pulse.broker.access import device_username
from pulse.errors import PulseError
from pulse.provisioning.devices import ProvisioningError, register_device, rotate_token, set_device_status

router = APIRouter(prefix="/api/admin/devices", tags=["admin"], dependencies=[AdminKey])


class DeviceFields(BaseModel):
    """One device as an installer registers it (alone or in a bulk request)."""

    device_id: DeviceId
    site_id: DeviceId
    subscription_id: str | None = Field(default=None, max_length=64)
    fw_version: str | None = Field(default=None, max_length=100)
    device_type: str | None = Field(default=None, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DeviceCreate(DeviceFields):
    tenant_id: TenantId


class DeviceRegistered(BaseModel):
    tenant_id: str
    device_id: str
    site_id: str
    subscription_id: str | None
    activation_code: str
    expires_at: datetime


@router.post("", status_code=201, response_model=DeviceRegistered, responses=PROVISIONING_ERRORS)
async def create_device(
    body: DeviceCreate, conn: AdminDb, settings: AppSettings, audit: AuditChange
) -> DeviceRegistered:
    """Register a device (or re-register an existing one) and issue a one-time activation code.

    The device then calls `POST /api/device/activate` with the code to get its provision token.
    403/409 when the tenant's subscriptions have no room for another active device.
    """
    device = await register_device(
        conn,
        body.tenant_id,
        body.device_id,
        body.site_id,
        subscription_id=body.subscription_id,
        fields={"fw_version": body.fw_version, "device_type": body.device_type, "metadata": body.metadata},
        credential="activation",
        if_exists="update",
        activation_ttl=timedelta(minutes=settings.activation_ttl_minutes),
    )
    assert device.activation_code is not None and device.activation_expires_at is not None
    audit.tenant_id, audit.entity_type, audit.entity_id = body.tenant_id, "devices", body.device_id
    return DeviceRegistered(
        tenant_id=device.tenant_id,
        device_id=device.device_id,
        site_id=device.site_id,
        subscription_id=device.subscription_id,
        activation_code=device.activation_code,
        expires_at=device.activation_expires_at,
    )


BULK_MAX = 1000  # devices per bulk request: one transaction, a bounded time holding the subscription lock


class BulkCreate(BaseModel):
    tenant_id: TenantId
    devices: list[DeviceFields] = Field(min_length=1, max_length=BULK_MAX)


class BulkProvisioned(BaseModel):
    device_id: str
    site_id: str
    subscription_id: str | None
    provision_token: str
    mqtt_username: str
    mqtt_client_id: str


class BulkResult(BaseModel):
    tenant_id: str
    broker_url: str | None
    count: int
    devices: list[BulkProvisioned]


@router.post("/bulk", status_code=201, response_model=BulkResult, responses=PROVISIONING_ERRORS)
async def create_devices_bulk(
    body: BulkCreate, conn: AdminDb, settings: AppSettings, background: BackgroundTasks
) -> BulkResult:
    """Register (or re-register) up to 1000 devices of one tenant and issue each its provision token now.

    For trusted, key-authenticated tooling (factory lines, the simulator): no activation codes, so the
    per-address activation limit does not apply. **All or nothing**: the devices are written in one
    transaction; if any of them is refused (unknown tenant or subscription, no room under the
    subscription's device limit, a duplicate id in the list) nothing is written and the error names the
    device. Each device's token is also its broker password (username and client id `{tenant}/{device}`,
    on the broker at `broker_url`); the accounts are pushed to the running broker after the commit.
    A re-registered device's previous token stops working.
    """
    seen: set[str] = set()
    for item in body.devices:
        if item.device_id in seen:
            raise ProvisioningError(422, "duplicate_device", f"device {item.device_id!r} is listed twice")
        seen.add(item.device_id)
    provisioned: list[BulkProvisioned] = []
    for index, item in enumerate(body.devices):
        try:
            device = await register_device(
                conn,
                body.tenant_id,
                item.device_id,
                item.site_id,
                subscription_id=item.subscription_id,
                fields={
                    "fw_version": item.fw_version,
                    "device_type": item.device_type,
                    "metadata": item.metadata,
                },
                credential="token",
                if_exists="update",
            )
        except PulseError as exc:  # aborts the transaction: nothing of this request is kept
            raise PulseError(
                exc.status, exc.error, f"devices[{index}] ({item.device_id}): {exc.detail}", exc.headers
            ) from None
        assert device.provision_token is not None
        username = device_username(body.tenant_id, item.device_id)
        provisioned.append(
            BulkProvisioned(
                device_id=device.device_id,
                site_id=device.site_id,
                subscription_id=device.subscription_id,
                provision_token=device.provision_token,
                mqtt_username=username,
                mqtt_client_id=username,
            )
        )
    passwords = {d.device_id: d.provision_token for d in provisioned}
    background.add_task(
        broker_control.set_device_passwords, settings, body.tenant_id, passwords
    )  # after commit
    return BulkResult(
        tenant_id=body.tenant_id, broker_url=settings.mqtt_url, count=len(provisioned), devices=provisioned
    )


class DeviceSummary(BaseModel):
    tenant_id: str
    device_id: str
    site_id: str
    status: str
    subscription_id: str | None
    provisioned_at: datetime | None
    fw_version: str | None
    token_set: bool


class DeviceList(BaseModel):
    data: list[DeviceSummary]
    count: int


@router.get("", response_model=DeviceList)
async def list_devices(
    conn: AdminDb,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[
        Literal["ACTIVE", "INACTIVE", "SUSPENDED", "REVOKED", "DELETED"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeviceList:
    """Devices across tenants, newest first, with filters; `count` is the total matching."""
    where = "($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR site_id = $2) AND ($3::text IS NULL OR status = $3)"
    rows = await conn.fetch(
        f"""SELECT tenant_id, device_id, site_id, status, subscription_id, provisioned_at, fw_version,
                   provision_token_hash IS NOT NULL AS token_set
              FROM device_registry WHERE {where}
             ORDER BY created_at DESC, tenant_id, device_id LIMIT $4 OFFSET $5""",
        tenant_id,
        site_id,
        status,
        limit,
        offset,
    )
    count = await conn.fetchval(
        f"SELECT count(*) FROM device_registry WHERE {where}", tenant_id, site_id, status
    )
    return DeviceList(data=[DeviceSummary(**dict(r)) for r in rows], count=count)


class ActivationCode(BaseModel):
    tenant_id: str
    device_id: str
    activation_code: str
    expires_at: datetime


@router.post(
    "/{tenant_id}/{device_id}/activation-code", response_model=ActivationCode, responses=PROVISIONING_ERRORS
)
async def new_activation_code(
    tenant_id: str, device_id: str, conn: AdminDb, settings: AppSettings
) -> ActivationCode:
    """A fresh one-time activation code for an existing device (e.g. after a factory reset)."""
    site_id = await conn.fetchval(
        "SELECT site_id FROM device_registry WHERE tenant_id = $1 AND device_id = $2", tenant_id, device_id
    )
    if site_id is None:
        raise ProvisioningError(404, "device_not_found", f"no device {device_id!r} in {tenant_id!r}")
    device = await register_device(
        conn,
        tenant_id,
        device_id,
        site_id,
        credential="activation",
        if_exists="update",
        activation_ttl=timedelta(minutes=settings.activation_ttl_minutes),
    )
    assert device.activation_code is not None and device.activation_expires_at is not None
    return ActivationCode(
        tenant_id=tenant_id,
        device_id=device_id,
        activation_code=device.activation_code,
        expires_at=device.activation_expires_at,
    )


class RotatedToken(BaseModel):
    tenant_id: str
    device_id: str
    new_provision_token: str


@router.post(
    "/{tenant_id}/{device_id}/rotate-token", response_model=RotatedToken, responses=PROVISIONING_ERRORS
)
async def rotate_device_token(
    tenant_id: str, device_id: str, conn: AdminDb, settings: AppSettings, background: BackgroundTasks
) -> RotatedToken:
    """Issue a new provision token; the old one stops working within the ingest cache TTL."""
    token = await rotate_token(conn, tenant_id, device_id)
    background.add_task(
        broker_control.set_device_password, settings, tenant_id, device_id, token
    )  # after commit
    return RotatedToken(tenant_id=tenant_id, device_id=device_id, new_provision_token=token)


class Ok(BaseModel):
    ok: bool = True


@router.post("/{tenant_id}/{device_id}/revoke", response_model=Ok, responses=PROVISIONING_ERRORS)
async def revoke_device(
    tenant_id: str, device_id: str, conn: AdminDb, settings: AppSettings, background: BackgroundTasks
) -> Ok:
    """Revoke a device: its messages are refused (DEVICE_REVOKED) and its slot is freed."""
    await set_device_status(conn, tenant_id, device_id, "REVOKED")
    background.add_task(broker_control.remove_device, settings, tenant_id, device_id)
    return Ok()
