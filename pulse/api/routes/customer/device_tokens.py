"""Device API tokens: client_id/secret pairs a device or gateway uses towards the API or an
MQTT broker with per-client authentication. The secret is shown once and stored as SHA-256 (it is
256 random bits; a slow hash would add nothing)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries.devices import require_device
from pulse.api.routes.params import DeviceId
from pulse.errors import PulseError
from pulse.provisioning.tokens import hash_secret

router = APIRouter(
    prefix="/customer/devices/{device_id}/tokens",
    tags=["customer-device-tokens"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


class DeviceToken(BaseModel):
    id: uuid.UUID
    client_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceTokenList(BaseModel):
    device_id: str
    tokens: list[DeviceToken]
    total: int


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(min_length=1, max_length=64)] = "rotated"


class NewDeviceToken(BaseModel):
    client_id: str
    password: str = Field(description="Shown once.")
    broker_url: str | None


@router.get("", response_model=DeviceTokenList)
async def list_tokens(principal: CustomerPrincipal, conn: TenantDb, device_id: DeviceId) -> DeviceTokenList:
    """Active tokens of the device (never their secrets)."""
    assert principal.tenant_id
    await require_device(conn, principal.tenant_id, device_id)
    rows = await conn.fetch(
        """SELECT id, client_id, label, created_at, revoked_at FROM device_api_tokens
            WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL ORDER BY created_at""",
        principal.tenant_id,
        device_id,
    )
    tokens = [DeviceToken(**dict(r)) for r in rows]
    return DeviceTokenList(device_id=device_id, tokens=tokens, total=len(tokens))


@router.post("/rotate", status_code=201, response_model=NewDeviceToken)
async def rotate_tokens(
    request: Request,
    principal: TenantAdmin,
    conn: TenantDb,
    device_id: DeviceId,
    body: RotateBody | None = None,
) -> NewDeviceToken:
    """Revoke every active token of the device and create a new one."""
    tenant = principal.tenant_id
    assert tenant
    await require_device(conn, tenant, device_id)
    await conn.execute(
        "UPDATE device_api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL",
        tenant,
        device_id,
    )
    client_id = f"{tenant[:8]}-{device_id[:8]}-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO device_api_tokens (tenant_id, device_id, client_id, token_hash, label) VALUES ($1, $2, $3, $4, $5)",
        tenant,
        device_id,
        client_id,
        hash_secret(password),
        (body or RotateBody()).label,
    )
    return NewDeviceToken(
        client_id=client_id, password=password, broker_url=request.app.state.settings.mqtt_url
    )


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke_token(
    principal: TenantAdmin, conn: TenantDb, device_id: DeviceId, token_id: Annotated[uuid.UUID, Path()]
) -> Response:
    assert principal.tenant_id
    revoked = await conn.fetchval(
        """UPDATE device_api_tokens SET revoked_at = now()
            WHERE tenant_id = $1 AND device_id = $2 AND id = $3 AND revoked_at IS NULL RETURNING id""",
        principal.tenant_id,
        device_id,
        token_id,
    )
    if revoked is None:
        raise PulseError(404, "not_found", "no such active token")
    return Response(status_code=204)
