"""Integrations and their routes on the admin API (reference §2.8, items 6-7): how an installer points
any tenant's alerts at a target (customers manage their own under /customer/integrations).

Configs are validated by the channel's own `Config` and every target by the outbound-safety check at
save time (it is checked again at send time). Secrets are never returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pulse.api.deps import AdminDb, AdminKey, AppSettings
from pulse.api.errors import ErrorBody
from pulse.api.routes.admin.models import TenantId
from pulse.errors import PulseError
from pulse.notify import configs
from pulse.notify.configs import ChannelKind
from pulse.notify.ssrf import Policy

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
    tenant_id: str
    integration_id: UUID
    name: str
    type: str
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
    """Create a webhook or Slack integration for a tenant (the URL must pass the outbound-safety check)."""
    try:
        config = await configs.validate(body.type, body.config, Policy.from_settings(settings))
    except configs.ConfigInvalid as exc:
        raise PulseError(422, "invalid_config", str(exc)) from None
    except configs.TargetRefused as exc:
        raise PulseError(422, "url_refused", str(exc)) from None
    if not await conn.fetchval("SELECT 1 FROM tenants WHERE tenant_id = $1", body.tenant_id):
        raise PulseError(404, "tenant_not_found", f"no tenant {body.tenant_id!r}")
    row = await conn.fetchrow(
        """INSERT INTO integrations (tenant_id, name, type, enabled, config_json)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING tenant_id, integration_id, name, type, enabled, created_at""",
        body.tenant_id,
        body.name,
        body.type,
        body.enabled,
        configs.stored(config),
    )
    return IntegrationPublic(**dict(row))


@router.get("/integrations", response_model=IntegrationList)
async def list_integrations(
    conn: AdminDb,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    enabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> IntegrationList:
    rows = await conn.fetch(
        """SELECT tenant_id, integration_id, name, type, enabled, created_at FROM integrations
            WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::boolean IS NULL OR enabled = $2)
            ORDER BY created_at DESC LIMIT $3""",
        tenant_id,
        enabled,
        limit,
    )
    return IntegrationList(data=[IntegrationPublic(**dict(r)) for r in rows], count=len(rows))


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


_ROUTE_COLUMNS = (
    "tenant_id, route_id, integration_id, name, enabled, min_severity, severities, alert_types, site_ids, "
    "device_prefixes, deliver_on, priority, created_at"
)


@router.post(
    "/integration-routes", status_code=201, response_model=RoutePublic, responses={404: {"model": ErrorBody}}
)
async def create_route(body: RouteCreate, conn: AdminDb) -> RoutePublic:
    """Route a tenant's alert events (filtered) to one of its integrations."""
    if not await conn.fetchval(
        "SELECT 1 FROM integrations WHERE tenant_id = $1 AND integration_id = $2",
        body.tenant_id,
        body.integration_id,
    ):
        raise PulseError(
            404, "integration_not_found", f"no integration {body.integration_id} in {body.tenant_id!r}"
        )
    row = await conn.fetchrow(
        f"""INSERT INTO integration_routes (tenant_id, integration_id, name, enabled, min_severity, severities,
                                            alert_types, site_ids, device_prefixes, deliver_on, priority)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_ROUTE_COLUMNS}""",
        body.tenant_id,
        body.integration_id,
        body.name,
        body.enabled,
        body.min_severity,
        body.severities,
        body.alert_types,
        body.site_ids,
        body.device_prefixes,
        body.deliver_on,
        body.priority,
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
    rows = await conn.fetch(
        f"""SELECT {_ROUTE_COLUMNS} FROM integration_routes
             WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR integration_id = $2)
               AND ($3::boolean IS NULL OR enabled = $3)
             ORDER BY priority, created_at DESC LIMIT $4""",
        tenant_id,
        integration_id,
        enabled,
        limit,
    )
    return RouteList(data=[RoutePublic(**dict(r)) for r in rows], count=len(rows))
