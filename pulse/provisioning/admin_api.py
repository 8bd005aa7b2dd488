"""The provisioning admin API (reference §2.8), on its own port and guarded by `X-Admin-Key`.

For installers and factory tooling: create tenants (with their MAIN subscription) and devices, hand out
one-time activation codes, rotate and revoke tokens. Devices exchange an activation code for their
provision token at `POST /api/device/activate` (no key; the code is the secret). The subscription
device limit holds here as on every other path.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from pydantic import BaseModel, EmailStr, Field

from pulse import __version__
from pulse.api.errors import ApiError, ErrorBody, install_error_handlers
from pulse.config import Settings
from pulse.db.tx import operator_tx
from pulse.ingest.rate_limit import SlidingWindows, retry_after_header
from pulse.provisioning.devices import (
    ID_PATTERN,
    TENANT_ID_PATTERN,
    ProvisioningError,
    activate_device,
    register_device,
    rotate_token,
    set_device_status,
)
from pulse.subscriptions.limits import CapacityError

ACTOR = "admin-key"
ACTIVATIONS_PER_MINUTE_PER_IP = 30

DeviceId = Annotated[str, Field(pattern=ID_PATTERN)]
TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN)]


async def require_admin_key(request: Request, x_admin_key: Annotated[str | None, Header()] = None) -> None:
    expected: str = request.app.state.admin_key
    if x_admin_key is None or not hmac.compare_digest(x_admin_key.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "missing or invalid X-Admin-Key")


admin = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin_key)])
device_router = APIRouter(prefix="/api/device", tags=["device"])


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _fail(exc: ProvisioningError | CapacityError) -> ApiError:
    return ApiError(exc.status, exc.error, exc.detail)


class TenantCreate(BaseModel):
    tenant_id: TenantId
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    device_limit: int = Field(ge=0, le=10_000_000)
    term_days: int = Field(default=365, ge=1, le=3650)


class TenantCreated(BaseModel):
    tenant_id: str
    subscription_id: str
    device_limit: int
    term_end: datetime


@admin.post("/tenants", status_code=201, response_model=TenantCreated, responses={409: {"model": ErrorBody}})
async def create_tenant(body: TenantCreate, request: Request) -> TenantCreated:
    """Create a tenant and its MAIN subscription (device capacity and term)."""
    async with operator_tx(_pool(request), ACTOR) as conn:
        inserted = await conn.fetchval(
            """INSERT INTO tenants (tenant_id, name, contact_email, contact_name, metadata)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id""",
            body.tenant_id,
            body.name,
            body.contact_email,
            body.contact_name,
            body.metadata,
        )
        if inserted is None:
            raise ApiError(409, "tenant_exists", f"tenant {body.tenant_id!r} already exists")
        row = await conn.fetchrow(
            """INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_start, term_end,
                                          status, created_by)
               VALUES ($1, 'MAIN', $2, now(), now() + $3::interval, 'ACTIVE', $4)
               RETURNING subscription_id, term_end""",
            body.tenant_id,
            body.device_limit,
            timedelta(days=body.term_days),
            ACTOR,
        )
        await conn.execute(
            """INSERT INTO subscription_audit (tenant_id, subscription_id, event_type, actor_type, actor_id, details)
               VALUES ($1, $2, 'SUBSCRIPTION_CREATED', 'admin', $3, $4)""",
            body.tenant_id,
            row["subscription_id"],
            ACTOR,
            {"device_limit": body.device_limit, "term_days": body.term_days},
        )
    return TenantCreated(
        tenant_id=body.tenant_id,
        subscription_id=row["subscription_id"],
        device_limit=body.device_limit,
        term_end=row["term_end"],
    )


class DeviceCreate(BaseModel):
    tenant_id: TenantId
    device_id: DeviceId
    site_id: DeviceId
    subscription_id: str | None = Field(default=None, max_length=64)
    fw_version: str | None = Field(default=None, max_length=100)
    device_type: str | None = Field(default=None, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DeviceRegistered(BaseModel):
    tenant_id: str
    device_id: str
    site_id: str
    subscription_id: str | None
    activation_code: str
    expires_at: datetime


_PROVISIONING_ERRORS = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}


@admin.post("/devices", status_code=201, response_model=DeviceRegistered, responses=_PROVISIONING_ERRORS)
async def create_device(body: DeviceCreate, request: Request) -> DeviceRegistered:
    """Register a device (or re-register an existing one) and issue a one-time activation code.

    The device then calls `POST /api/device/activate` with the code to get its provision token.
    403/409 when the tenant's subscriptions have no room for another active device.
    """
    settings: Settings = request.app.state.settings
    try:
        async with operator_tx(_pool(request), ACTOR) as conn:
            device = await register_device(
                conn,
                body.tenant_id,
                body.device_id,
                body.site_id,
                subscription_id=body.subscription_id,
                fields={
                    "fw_version": body.fw_version,
                    "device_type": body.device_type,
                    "metadata": body.metadata,
                },
                credential="activation",
                if_exists="update",
                activation_ttl=timedelta(minutes=settings.activation_ttl_minutes),
            )
    except (ProvisioningError, CapacityError) as exc:
        raise _fail(exc) from None
    assert device.activation_code is not None and device.activation_expires_at is not None
    return DeviceRegistered(
        tenant_id=device.tenant_id,
        device_id=device.device_id,
        site_id=device.site_id,
        subscription_id=device.subscription_id,
        activation_code=device.activation_code,
        expires_at=device.activation_expires_at,
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


@admin.get("/devices", response_model=DeviceList)
async def list_devices(
    request: Request,
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
    async with operator_tx(_pool(request), ACTOR) as conn:
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


@admin.post(
    "/devices/{tenant_id}/{device_id}/activation-code",
    response_model=ActivationCode,
    responses=_PROVISIONING_ERRORS,
)
async def new_activation_code(tenant_id: str, device_id: str, request: Request) -> ActivationCode:
    """A fresh one-time activation code for an existing device (e.g. after a factory reset)."""
    settings: Settings = request.app.state.settings
    try:
        async with operator_tx(_pool(request), ACTOR) as conn:
            site_id = await conn.fetchval(
                "SELECT site_id FROM device_registry WHERE tenant_id = $1 AND device_id = $2",
                tenant_id,
                device_id,
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
    except (ProvisioningError, CapacityError) as exc:
        raise _fail(exc) from None
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


@admin.post(
    "/devices/{tenant_id}/{device_id}/rotate-token",
    response_model=RotatedToken,
    responses=_PROVISIONING_ERRORS,
)
async def rotate_device_token(tenant_id: str, device_id: str, request: Request) -> RotatedToken:
    """Issue a new provision token; the old one stops working within the ingest cache TTL."""
    try:
        async with operator_tx(_pool(request), ACTOR) as conn:
            token = await rotate_token(conn, tenant_id, device_id)
    except ProvisioningError as exc:
        raise _fail(exc) from None
    return RotatedToken(tenant_id=tenant_id, device_id=device_id, new_provision_token=token)


class Ok(BaseModel):
    ok: bool = True


@admin.post("/devices/{tenant_id}/{device_id}/revoke", response_model=Ok, responses=_PROVISIONING_ERRORS)
async def revoke_device(tenant_id: str, device_id: str, request: Request) -> Ok:
    """Revoke a device: its messages are refused (DEVICE_REVOKED) and its slot is freed."""
    try:
        async with operator_tx(_pool(request), ACTOR) as conn:
            await set_device_status(conn, tenant_id, device_id, "REVOKED")
    except ProvisioningError as exc:
        raise _fail(exc) from None
    return Ok()


class Activation(BaseModel):
    tenant_id: TenantId
    device_id: DeviceId
    activation_code: str = Field(min_length=1, max_length=200)


class Activated(BaseModel):
    tenant_id: str
    device_id: str
    provision_token: str


@device_router.post(
    "/activate", response_model=Activated, responses={400: {"model": ErrorBody}, 429: {"model": ErrorBody}}
)
async def activate(body: Activation, request: Request) -> Activated:
    """Exchange a one-time activation code for the device's provision token."""
    client = request.client.host if request.client else "unknown"
    if (retry := request.app.state.activation_limit.hit(client)) is not None:
        raise ApiError(
            429, "rate_limited", "too many activation attempts", {"Retry-After": retry_after_header(retry)}
        )
    try:
        async with operator_tx(_pool(request), ACTOR) as conn:
            token = await activate_device(conn, body.tenant_id, body.device_id, body.activation_code)
    except (ProvisioningError, CapacityError) as exc:
        raise _fail(exc) from None
    return Activated(tenant_id=body.tenant_id, device_id=body.device_id, provision_token=token)


def create_admin_app(settings: Settings, pool: asyncpg.Pool, admin_key: str) -> FastAPI:
    app = FastAPI(
        title="Pulse provisioning admin API",
        version=__version__,
        description="Tenants, devices and device credentials. Every /api/admin call needs `X-Admin-Key`.",
        responses={422: {"model": ErrorBody}},
    )
    app.state.settings, app.state.pool, app.state.admin_key = settings, pool, admin_key
    app.state.activation_limit = SlidingWindows(ACTIVATIONS_PER_MINUTE_PER_IP, 60.0)
    install_error_handlers(app)
    app.include_router(admin)
    app.include_router(device_router)
    from pulse.provisioning import admin_integrations  # imports this module's key check

    app.include_router(admin_integrations.router)
    return app
