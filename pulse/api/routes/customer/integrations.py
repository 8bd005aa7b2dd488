"""/customer/integrations: a tenant's delivery targets of any kind in the channel registry
(`pulse.notify.channels.CHANNELS`). Reads need `customer`, every change and every test send
`tenant-admin`.

The reference §5 contract over the one target store (`pulse/api/queries/notify_targets.py`, table
`INTEGRATIONS`); notification channels are the same store under §6's names. Configs are validated by
the channel's own `Config` and every target by the outbound-safety check at save time (checked again at
send time). Responses show configs masked — secrets
(signing secrets, Slack/Teams webhook URLs, PagerDuty routing keys, header values …) as `********` —
and an update that sends the mask back keeps the stored secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, Pool, TenantAdmin, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import notify_targets as store
from pulse.api.routes.customer.notify_targets import (
    TEST_RESPONSES,
    ChannelConfig,
    DeliveryTestResult,
    DisplayName,
    KindText,
    not_null,
    test_target,
)
from pulse.notify.configs import ChannelKind
from pulse.notify.targets import INTEGRATIONS

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
    # Read from a store.Target (`model_validate(target)`); the §5 names are the fields, the store's the aliases.
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    integration_id: uuid.UUID = Field(validation_alias="id")
    name: str
    type: str = Field(validation_alias="kind")
    enabled: bool
    config: dict[str, Any] = Field(
        validation_alias="shown_config", description="Secrets shown as `********`."
    )
    created_at: datetime
    updated_at: datetime


class IntegrationList(BaseModel):
    integrations: list[IntegrationPublic]
    total: int
    limit: int
    offset: int


# Writes look the row up in a dependency: it runs before the body is validated, so an unknown (or
# another tenant's) id is a 404 whatever the body, after the role check declared before it.
async def _integration_for_update(
    tenant: TenantId, conn: TenantDb, integration_id: IntegrationId
) -> store.Target:
    return await store.find_target(conn, INTEGRATIONS, tenant, integration_id, lock=True)


LockedIntegration = Annotated[store.Target, Depends(_integration_for_update)]


@router.get("", response_model=IntegrationList, summary="List integrations")
async def list_integrations(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    type: Annotated[str | None, Query(max_length=32, description="Only this channel kind.")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")] = None,
) -> IntegrationList:
    query = store.TargetQuery(tenant, kind=type, enabled=enabled)
    found = await store.list_targets(conn, INTEGRATIONS, query, page.limit, page.offset)
    return IntegrationList(
        integrations=[IntegrationPublic.model_validate(t) for t in found],
        total=await store.count_targets(conn, INTEGRATIONS, query),
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=201, response_model=IntegrationPublic, summary="Create an integration")
async def create_integration(
    tenant: AdminTenantId, conn: TenantDb, request: Request, body: IntegrationCreate
) -> IntegrationPublic:
    """The config is validated by the channel and its target checked (422 `invalid_config` naming the
    fields, 422 `target_refused` for a private, loopback or metadata address)."""
    created = await store.create_target(
        conn,
        INTEGRATIONS,
        tenant,
        request.app.state.settings,
        name=body.name,
        kind=body.type,
        enabled=body.enabled,
        config=body.config,
    )
    return IntegrationPublic.model_validate(created)


@router.get("/{integration_id}", response_model=IntegrationPublic, summary="Get an integration")
async def get_integration(
    tenant: TenantId, conn: TenantDb, integration_id: IntegrationId
) -> IntegrationPublic:
    return IntegrationPublic.model_validate(
        await store.find_target(conn, INTEGRATIONS, tenant, integration_id)
    )


@router.patch(
    "/{integration_id}",
    response_model=IntegrationPublic,
    responses={400: {"model": ErrorBody}},
    summary="Change an integration",
)
async def update_integration(
    tenant: AdminTenantId,
    current: LockedIntegration,
    conn: TenantDb,
    request: Request,
    body: IntegrationUpdate,
) -> IntegrationPublic:
    fields = not_null(body, {"name", "enabled", "config", "type"})
    changes = {name: getattr(body, name) for name in fields & {"name", "enabled", "config"}}
    updated = await store.update_target(
        conn, INTEGRATIONS, current, request.app.state.settings, kind=body.type, **changes
    )
    return IntegrationPublic.model_validate(updated)


@router.delete("/{integration_id}", status_code=204, summary="Delete an integration")
async def delete_integration(tenant: AdminTenantId, conn: TenantDb, integration_id: IntegrationId) -> None:
    """Its routes and its delivery jobs (with their attempts) go with it."""
    await store.delete_target(conn, INTEGRATIONS, tenant, integration_id)


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
    destination and 20 per tenant (429 with Retry-After). Disabled integrations can be tested too, so a target can be
    checked before it is switched on."""
    settings = request.app.state.settings
    return await test_target(principal, pool, settings, INTEGRATIONS, integration_id)
