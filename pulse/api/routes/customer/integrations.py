"""/customer/integrations: a tenant's delivery targets of any kind in the channel registry
(`pulse.notify.channels.CHANNELS`). Reads need `customer`, every change and every test send
`tenant-admin`.

Configs are validated by the channel's own `Config` and every target by the outbound-safety check at
save time (`pulse.notify.configs`; checked again at send time). Responses show configs masked — secrets
(signing secrets, Slack/Teams webhook URLs, PagerDuty routing keys, header values …) as `********` —
and an update that sends the mask back keeps the stored secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from pulse.api.deps import CustomerPrincipal, Pool, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.notify_targets import (
    TEST_RESPONSES,
    ChannelConfig,
    DeliveryTestResult,
    DisplayName,
    KindText,
    checked_config,
    new_config,
    not_null,
    send_test,
    show_config,
    take_test_slot,
    tenant_conn,
    test_event,
)
from pulse.errors import PulseError
from pulse.notify import configs
from pulse.notify.channels import CHANNELS
from pulse.notify.configs import ChannelKind

router = APIRouter(
    prefix="/customer/integrations",
    tags=["customer-integrations"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
IntegrationId = Annotated[uuid.UUID, Path(description="The integration's id (a UUID).")]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName
    type: ChannelKind = "webhook"
    config: ChannelConfig
    enabled: bool = True


class IntegrationUpdate(BaseModel):
    """Any of name, enabled, config. `config` replaces the whole config (masked secrets sent back are
    kept). The type cannot change: `type` is accepted only when it is the current one."""

    model_config = ConfigDict(extra="forbid")
    name: DisplayName | None = None
    enabled: bool | None = None
    config: ChannelConfig | None = None
    type: KindText | None = None


class IntegrationPublic(BaseModel):
    tenant_id: str
    integration_id: uuid.UUID
    name: str
    type: str
    enabled: bool
    config: dict[str, Any] = Field(description="Secrets shown as `********`.")
    created_at: datetime
    updated_at: datetime


class IntegrationList(BaseModel):
    integrations: list[IntegrationPublic]
    total: int
    limit: int
    offset: int


_INTEGRATION_COLUMNS = "tenant_id, integration_id, name, type, enabled, config_json, created_at, updated_at"


def _integration(row: asyncpg.Record) -> IntegrationPublic:
    data = dict(row)
    data["config"] = show_config(data["type"], data.pop("config_json"))
    return IntegrationPublic(**data)


async def find_integration(
    conn: asyncpg.Connection, tenant: str | None, integration_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {_INTEGRATION_COLUMNS} FROM integrations WHERE tenant_id = $1 AND integration_id = $2"
        + (" FOR UPDATE" if lock else ""),
        tenant,
        integration_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no integration {integration_id}")
    return row


# Writes look the row up in a dependency: it runs before the body is validated, so an unknown (or
# another tenant's) id is a 404 whatever the body, after the role check declared before it.
async def _integration_for_update(
    principal: CustomerPrincipal, conn: TenantDb, integration_id: IntegrationId
) -> asyncpg.Record:
    return await find_integration(conn, principal.tenant_id, integration_id, lock=True)


LockedIntegration = Annotated[asyncpg.Record, Depends(_integration_for_update)]


@router.get("", response_model=IntegrationList, summary="List integrations")
async def list_integrations(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    type: Annotated[str | None, Query(max_length=32, description="Only this channel kind.")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")] = None,
) -> IntegrationList:
    where = "tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::boolean IS NULL OR enabled = $3)"
    rows = await conn.fetch(
        f"SELECT {_INTEGRATION_COLUMNS} FROM integrations WHERE {where} ORDER BY name, integration_id LIMIT $4 OFFSET $5",
        principal.tenant_id,
        type,
        enabled,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM integrations WHERE {where}", principal.tenant_id, type, enabled
    )
    return IntegrationList(
        integrations=[_integration(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=IntegrationPublic, summary="Create an integration")
async def create_integration(
    principal: TenantAdmin, conn: TenantDb, request: Request, body: IntegrationCreate
) -> IntegrationPublic:
    """The config is validated by the channel and its target checked (422 `invalid_config` naming the
    fields, 422 `target_refused` for a private, loopback or metadata address)."""
    config = await new_config(body.type, body.config, request.app.state.settings)
    row = await conn.fetchrow(
        f"""INSERT INTO integrations (tenant_id, name, type, enabled, config_json) VALUES ($1, $2, $3, $4, $5)
            RETURNING {_INTEGRATION_COLUMNS}""",
        principal.tenant_id,
        body.name,
        body.type,
        body.enabled,
        config,
    )
    return _integration(row)


@router.get("/{integration_id}", response_model=IntegrationPublic, summary="Get an integration")
async def get_integration(
    principal: CustomerPrincipal, conn: TenantDb, integration_id: IntegrationId
) -> IntegrationPublic:
    return _integration(await find_integration(conn, principal.tenant_id, integration_id))


@router.patch(
    "/{integration_id}",
    response_model=IntegrationPublic,
    responses={400: {"model": ErrorBody}},
    summary="Change an integration",
)
async def update_integration(
    principal: TenantAdmin,
    current: LockedIntegration,
    conn: TenantDb,
    request: Request,
    body: IntegrationUpdate,
) -> IntegrationPublic:
    fields = not_null(body, {"name", "enabled", "config", "type"})
    kind = current["type"]
    if "type" in fields and body.type != kind:
        raise PulseError(422, "type_immutable", f"the type of an integration cannot change (it is {kind!r})")
    values: dict[str, Any] = {f: getattr(body, f) for f in fields & {"name", "enabled"}}
    if "config" in fields:
        assert body.config is not None
        incoming = (
            configs.unmask(kind, body.config, current["config_json"]) if kind in CHANNELS else body.config
        )
        values["config_json"] = await checked_config(kind, incoming, request.app.state.settings)
    if not values:
        return _integration(current)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    row = await conn.fetchrow(
        f"""UPDATE integrations SET {assignments} WHERE tenant_id = $1 AND integration_id = $2
            RETURNING {_INTEGRATION_COLUMNS}""",
        principal.tenant_id,
        current["integration_id"],
        *values.values(),
    )
    return _integration(row)


@router.delete("/{integration_id}", status_code=204, summary="Delete an integration")
async def delete_integration(principal: TenantAdmin, conn: TenantDb, integration_id: IntegrationId) -> None:
    """Its routes and its delivery jobs (with their attempts) go with it."""
    if not await conn.fetchval(
        "DELETE FROM integrations WHERE tenant_id = $1 AND integration_id = $2 RETURNING 1",
        principal.tenant_id,
        integration_id,
    ):
        raise PulseError(404, "not_found", f"no integration {integration_id}")


@router.post(
    "/{integration_id}/test",
    response_model=DeliveryTestResult,
    responses=TEST_RESPONSES,
    summary="Send a test notification",
)
async def test_integration(
    principal: TenantAdmin, pool: Pool, request: Request, integration_id: IntegrationId
) -> DeliveryTestResult:
    """Send a test event (alert 0, `TEST` on `test-device`, severity 3) through the integration now and
    answer what happened. No delivery job is created and nothing is retried; at most 5 per 60 s per
    integration (429 with Retry-After). Disabled integrations can be tested too, so a target can be
    checked before it is switched on."""
    assert principal.tenant_id
    async with tenant_conn(principal, pool) as conn:
        row = await find_integration(conn, principal.tenant_id, integration_id)
        await take_test_slot(conn, principal.tenant_id, f"test_delivery:{integration_id}")
    event = test_event(principal.tenant_id, principal.display)
    return await send_test(request.app.state.settings, row["type"], row["config_json"], event)
