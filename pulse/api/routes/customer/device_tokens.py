"""Device API tokens: extra broker logins of a device (a gateway, a second firmware slot): client id,
password and broker URL, with the device's own topic rights, pushed to the broker after the commit and
removed from it when revoked (pulse/api/queries/device_tokens.py, pulse/broker/control.py). The password
is shown once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, AppSettings, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import device_tokens as queries
from pulse.api.queries.device_tokens import DeviceToken
from pulse.api.queries.devices import require_device
from pulse.api.routes.params import DeviceId
from pulse.broker import control as broker_control
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/devices/{device_id}/tokens",
    tags=["customer-device-tokens"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


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
async def list_tokens(tenant: TenantId, conn: TenantDb, device_id: DeviceId) -> DeviceTokenList:
    """Active tokens of the device (never their secrets)."""
    await require_device(conn, tenant, device_id)
    tokens = await queries.active_tokens(conn, tenant, device_id)
    return DeviceTokenList(device_id=device_id, tokens=tokens, total=len(tokens))


@router.post("/rotate", status_code=201, response_model=NewDeviceToken)
async def rotate_tokens(
    settings: AppSettings,
    tenant: AdminTenantId,
    conn: TenantDb,
    device_id: DeviceId,
    background: BackgroundTasks,
    body: RotateBody | None = None,
) -> NewDeviceToken:
    """Revoke every active token of the device and create a new one (the old logins are dropped)."""
    await require_device(conn, tenant, device_id)
    client_id, password, revoked = await queries.replace_tokens(
        conn, tenant, device_id, (body or RotateBody()).label
    )
    background.add_task(  # after the commit
        broker_control.replace_token_clients, settings, tenant, device_id, (client_id, password), revoked
    )
    return NewDeviceToken(client_id=client_id, password=password, broker_url=settings.mqtt_url)


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke_token(
    settings: AppSettings,
    tenant: AdminTenantId,
    conn: TenantDb,
    device_id: DeviceId,
    token_id: Annotated[uuid.UUID, Path()],
    background: BackgroundTasks,
) -> Response:
    """The login stops working and its connection is dropped."""
    client_id = await queries.revoke_token(conn, tenant, device_id, token_id)
    if client_id is None:
        raise PulseError(404, "not_found", "no such active token")
    background.add_task(broker_control.replace_token_clients, settings, tenant, device_id, None, [client_id])
    return Response(status_code=204)
