"""Integrations and their routes on the admin API (reference §2.8, items 6-7): how an installer points
any tenant's alerts at a target (customers manage their own under /customer/integrations).

The same target and filter store as the customer contracts (`pulse/api/queries/notify_targets.py`),
for any tenant: configs are validated by the channel's own `Config` and every target by the
outbound-safety check at save time (it is checked again at send time), under this API's error names
(`url_refused`, `invalid_config` with a text). Secrets are never returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminDb, AdminKey, AppSettings
from pulse.api.errors import ErrorBody
from pulse.api.queries import notify_targets as store
from pulse.api.routes.admin.models import TenantId
from pulse.errors import PulseError
from pulse.notify.configs import ChannelKind
from pulse.notify.targets import INTEGRATIONS

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[AdminKey])

Event = Literal["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"]
Severity = Literal["CRITICAL", "WARNING", "INFO"]
ShortList = Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=100)]


class IntegrationCreate(BaseModel):
    tenant_id: TenantId
    name: str = Field(min_length=1, max_length=200)
    type: ChannelKind = "webhook"
    config: dict[str, Any] = Field(
        description="The channel config of this type; shapes in the README (Notifications)."
    )
    enabled: bool = True


class IntegrationPublic(BaseModel):
    # Read from a store.Target (`model_validate(target)`). No config: the admin contract never shows one.
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    integration_id: UUID = Field(validation_alias="id")
    name: str
    type: str = Field(validation_alias="kind")
    enabled: bool
    created_at: datetime


class IntegrationList(BaseModel):
    data: list[IntegrationPublic]
    count: int


@router.post(
    "/integrations", status_code=201, response_model=IntegrationPublic, responses={422: {"model": ErrorBody}}
)
async def create_integration(
    body: IntegrationCreate, conn: AdminDb, settings: AppSettings
) -> IntegrationPublic:
    """Create an integration of any channel kind for a tenant (its targets must pass the outbound-safety
    check)."""
    config = await store.new_config(body.type, body.config, settings, store.ADMIN_ERRORS)
    if not await conn.fetchval("SELECT 1 FROM tenants WHERE tenant_id = $1", body.tenant_id):
        raise PulseError(404, "tenant_not_found", f"no tenant {body.tenant_id!r}")
    created = await store.insert_target(
        conn,
        INTEGRATIONS,
        body.tenant_id,
        name=body.name,
        kind=body.type,
        enabled=body.enabled,
        config=config,
    )
    return IntegrationPublic.model_validate(created)


@router.get("/integrations", response_model=IntegrationList)
async def list_integrations(
    conn: AdminDb,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> IntegrationList:
    query = store.TargetQuery(tenant_id, enabled=enabled, newest_first=True)
    found = await store.list_targets(conn, INTEGRATIONS, query, limit)
    return IntegrationList(data=[IntegrationPublic.model_validate(t) for t in found], count=len(found))


class RouteCreate(BaseModel):
    tenant_id: TenantId
    integration_id: UUID
    name: str | None = Field(default=None, max_length=200)
    enabled: bool = True
    min_severity: int | None = Field(default=None, ge=0, le=10)
    severities: list[Severity] = Field(default_factory=list)
    alert_types: ShortList | None = None
    site_ids: ShortList | None = None
    device_prefixes: ShortList | None = None
    deliver_on: list[Event] = Field(default_factory=lambda: ["OPEN"], min_length=1)
    priority: int = Field(default=100, ge=0, le=10_000)


class RoutePublic(RouteCreate):
    route_id: UUID
    created_at: datetime


class RouteList(BaseModel):
    data: list[RoutePublic]
    count: int


ROUTES = store.INTEGRATION_ROUTES


@router.post(
    "/integration-routes", status_code=201, response_model=RoutePublic, responses={404: {"model": ErrorBody}}
)
async def create_route(body: RouteCreate, conn: AdminDb) -> RoutePublic:
    """Route a tenant's alert events (filtered) to one of its integrations."""
    if not await store.target_exists(conn, INTEGRATIONS, body.tenant_id, body.integration_id):
        raise PulseError(
            404, "integration_not_found", f"no integration {body.integration_id} in {body.tenant_id!r}"
        )
    row = await store.insert_filter(
        conn, ROUTES, body.tenant_id, body.model_dump(include=set(ROUTES.columns))
    )
    return RoutePublic(**dict(row))


@router.get("/integration-routes", response_model=RouteList)
async def list_routes(
    conn: AdminDb,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    integration_id: UUID | None = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> RouteList:
    """Routes ordered by priority (lowest first), newest first within a priority."""
    query = store.FilterQuery(tenant_id, integration_id, enabled, order="r.priority, r.created_at DESC")
    rows = await store.list_filters(conn, ROUTES, query, limit)
    return RouteList(data=[RoutePublic(**dict(r)) for r in rows], count=len(rows))
