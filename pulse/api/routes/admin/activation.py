"""POST /api/device/activate: a device exchanges its one-time activation code for its provision token.
No admin key — the code is the secret — so attempts are limited per client address."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from pydantic import BaseModel, Field

from pulse.api.audit import Actor, AuditChange
from pulse.api.deps import AdminDb, AppSettings
from pulse.api.errors import ErrorBody
from pulse.api.routes.admin.models import DeviceId, TenantId
from pulse.broker import control as broker_control
from pulse.errors import PulseError
from pulse.ingest.rate_limit import retry_after_header
from pulse.provisioning.devices import activate_device

ACTIVATIONS_PER_MINUTE_PER_IP = 30

router = APIRouter(prefix="/api/device", tags=["device"])


class Activation(BaseModel):
    tenant_id: TenantId
    device_id: DeviceId
    activation_code: str = Field(min_length=1, max_length=200)


class Activated(BaseModel):
    tenant_id: str
    device_id: str
    provision_token: str


async def _limit_attempts(request: Request) -> None:
    client = request.client.host if request.client else "unknown"
    if (retry := request.app.state.activation_limit.hit(client)) is not None:
        raise PulseError(
            429, "rate_limited", "too many activation attempts", {"Retry-After": retry_after_header(retry)}
        )


@router.post(
    "/activate",
    response_model=Activated,
    responses={400: {"model": ErrorBody}, 429: {"model": ErrorBody}},
    dependencies=[Depends(_limit_attempts)],  # before the transaction opens
)
async def activate(
    body: Activation, conn: AdminDb, settings: AppSettings, background: BackgroundTasks, audit: AuditChange
) -> Activated:
    """Exchange a one-time activation code for the device's provision token, which is also its broker
    password (username `{tenant_id}/{device_id}`, client id the same) on an authenticated broker."""
    token = await activate_device(conn, body.tenant_id, body.device_id, body.activation_code)
    audit.actor = Actor("device", f"{body.tenant_id}/{body.device_id}")
    audit.tenant_id, audit.entity_type, audit.entity_id = body.tenant_id, "devices", body.device_id
    background.add_task(broker_control.set_device_password, settings, body.tenant_id, body.device_id, token)
    return Activated(tenant_id=body.tenant_id, device_id=body.device_id, provision_token=token)
