"""/customer/integration-routes: which of a tenant's alert events go to which integration (filters on
severity, alert type, site, device prefix and event; priority orders them). The reference §5 contract
over the one filter store (`pulse/api/queries/notify_targets.py`, `INTEGRATION_ROUTES`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import notify_targets as store
from pulse.api.routes.customer.models import IdList
from pulse.api.routes.customer.notify_targets import (
    AlertTypeName,
    DeliveryEvent,
    DisplayName,
    SeverityLabel,
    not_null,
    unique,
)

router = APIRouter(
    prefix="/customer/integration-routes",
    tags=["customer-integration-routes"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

RouteId = Annotated[uuid.UUID, Path(description="The route's id (a UUID).")]
Prefix = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]


class RouteFields(BaseModel):
    """Filters, all of which must hold for an event to be delivered (an empty or null list: any)."""

    model_config = ConfigDict(extra="forbid")
    integration_id: uuid.UUID | None = None
    name: DisplayName | None = None
    enabled: bool | None = None
    min_severity: (
        Annotated[int, Field(ge=1, le=5, description="Only alerts at least this severe (1-5).")] | None
    ) = None
    severities: (
        Annotated[
            list[SeverityLabel],
            Field(
                max_length=3,
                description="Severity labels: CRITICAL (5), WARNING (3-4), INFO (1-2); empty: all.",
            ),
        ]
        | None
    ) = None
    alert_types: (
        Annotated[list[AlertTypeName], Field(max_length=4, description="Empty or null: all.")] | None
    ) = None
    site_ids: IdList | None = None
    device_prefixes: (
        Annotated[list[Prefix], Field(max_length=100, description="Device ids starting with one of these.")]
        | None
    ) = None
    deliver_on: (
        Annotated[
            list[DeliveryEvent],
            Field(min_length=1, max_length=4, description="Which alert events are delivered."),
        ]
        | None
    ) = None
    priority: Annotated[int, Field(ge=0, le=10_000, description="Lower first.")] | None = None

    @field_validator("severities", "alert_types", "site_ids", "device_prefixes", "deliver_on")
    @classmethod
    def _dedupe(cls, value: list[Any] | None) -> list[Any] | None:
        return unique(value)


class RouteCreate(RouteFields):
    integration_id: uuid.UUID
    enabled: bool = True
    severities: Annotated[
        list[SeverityLabel],
        Field(
            max_length=3, description="Severity labels: CRITICAL (5), WARNING (3-4), INFO (1-2); empty: all."
        ),
    ] = Field(default_factory=list)
    deliver_on: Annotated[
        list[DeliveryEvent],
        Field(min_length=1, max_length=4, description="Which alert events are delivered."),
    ] = Field(default_factory=lambda: ["OPEN"])
    priority: Annotated[int, Field(ge=0, le=10_000, description="Lower first.")] = 100


class RoutePublic(BaseModel):
    tenant_id: str
    route_id: uuid.UUID
    integration_id: uuid.UUID
    integration_name: str
    integration_type: str
    name: str | None
    enabled: bool
    min_severity: int | None
    severities: list[str]
    alert_types: list[str] | None
    site_ids: list[str] | None
    device_prefixes: list[str] | None
    deliver_on: list[str]
    priority: int
    created_at: datetime
    updated_at: datetime


class RouteList(BaseModel):
    routes: list[RoutePublic]
    total: int
    limit: int
    offset: int


ROUTES = store.INTEGRATION_ROUTES


async def _route_for_update(tenant: TenantId, conn: TenantDb, route_id: RouteId) -> uuid.UUID:
    return await store.lock_filter(conn, ROUTES, tenant, route_id)


@router.get("", response_model=RouteList, summary="List integration routes")
async def list_routes(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    integration_id: Annotated[uuid.UUID | None, Query(description="Only this integration's routes.")] = None,
) -> RouteList:
    """Ordered as the dispatcher reads them: by priority (lowest first), then oldest first."""
    query = store.FilterQuery(tenant, target_id=integration_id)
    rows = await store.list_filters(conn, ROUTES, query, page.limit, page.offset)
    return RouteList(
        routes=[RoutePublic(**dict(r)) for r in rows],
        total=await store.count_filters(conn, ROUTES, query),
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=201, response_model=RoutePublic, summary="Create an integration route")
async def create_route(tenant: AdminTenantId, conn: TenantDb, body: RouteCreate) -> RoutePublic:
    """Route the tenant's alert events (filtered) to one of its integrations (404 for an integration
    that is not the tenant's). `name` is optional."""
    row = await store.create_filter(conn, ROUTES, tenant, body.model_dump(include=set(ROUTES.columns)))
    return RoutePublic(**dict(row))


@router.get("/{route_id}", response_model=RoutePublic, summary="Get an integration route")
async def get_route(tenant: TenantId, conn: TenantDb, route_id: RouteId) -> RoutePublic:
    return RoutePublic(**dict(await store.find_filter(conn, ROUTES, tenant, route_id)))


_ROUTE_NOT_NULL = {"integration_id", "enabled", "severities", "deliver_on", "priority"}


@router.patch(
    "/{route_id}",
    response_model=RoutePublic,
    responses={400: {"model": ErrorBody}},
    summary="Change an integration route",
)
async def update_route(
    tenant: AdminTenantId,
    route: Annotated[uuid.UUID, Depends(_route_for_update)],
    conn: TenantDb,
    body: RouteFields,
) -> RoutePublic:
    """Any of the fields; null clears an optional filter (name, min_severity, alert_types, site_ids,
    device_prefixes)."""
    fields = not_null(body, _ROUTE_NOT_NULL)
    row = await store.update_filter(conn, ROUTES, tenant, route, body.model_dump(include=fields))
    return RoutePublic(**dict(row))


@router.delete("/{route_id}", status_code=204, summary="Delete an integration route")
async def delete_route(tenant: AdminTenantId, conn: TenantDb, route_id: RouteId) -> None:
    await store.delete_filter(conn, ROUTES, tenant, route_id)
