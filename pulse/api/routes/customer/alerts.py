"""/customer/alerts: list, read, events timeline, acknowledge, close, silence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import AlertEventPublic, AlertList, AlertPublic, AlertType
from pulse.api.routes.params import AlertId, SiteFilter
from pulse.api.routes.v2 import alerts as v2_alerts
from pulse.api.routes.v2.alerts import AlertDetail, StatusFilter
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/alerts",
    tags=["customer-alerts"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: Annotated[int, Field(ge=1, le=1440)]


@router.get("", response_model=AlertList)
async def list_alerts(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(50, 200))],
    status: Annotated[StatusFilter, Query(description="ACTIVE = OPEN or ACKNOWLEDGED.")] = "OPEN",
    alert_type: AlertType | None = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    site_id: SiteFilter = None,
    min_severity: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> AlertList:
    """Same as `GET /api/v2/alerts`, with smaller pages."""
    return await v2_alerts.list_alerts(
        principal, conn, page, status, alert_type, device_id, site_id, min_severity
    )


async def _existing(conn, tenant: str, alert_id: int) -> AlertPublic:
    alert = await alert_queries.get_alert(conn, tenant, alert_id)
    if alert is None:
        raise PulseError(404, "not_found", f"no alert {alert_id}")
    return alert


@router.get("/{alert_id}", response_model=AlertDetail)
async def get_alert(principal: CustomerPrincipal, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    assert principal.tenant_id
    return AlertDetail(
        tenant_id=principal.tenant_id, alert=await _existing(conn, principal.tenant_id, alert_id)
    )


class AlertEvents(BaseModel):
    tenant_id: str
    alert_id: int
    events: list[AlertEventPublic]


@router.get("/{alert_id}/events", response_model=AlertEvents)
async def alert_events(principal: CustomerPrincipal, conn: TenantDb, alert_id: AlertId) -> AlertEvents:
    """What happened to the alert: OPENED, UPDATED, ACKNOWLEDGED, SILENCED, CLOSED, oldest first."""
    assert principal.tenant_id
    await _existing(conn, principal.tenant_id, alert_id)
    events = await alert_queries.list_events(conn, principal.tenant_id, alert_id)
    return AlertEvents(tenant_id=principal.tenant_id, alert_id=alert_id, events=events)


@router.patch("/{alert_id}/acknowledge", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def acknowledge_alert(principal: TenantAdmin, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    """OPEN → ACKNOWLEDGED; escalation stops."""
    tenant = principal.tenant_id
    assert tenant
    alert = await alert_queries.acknowledge(conn, tenant, alert_id, principal.display)
    if alert is None:
        current = await _existing(conn, tenant, alert_id)
        raise PulseError(409, "invalid_transition", f"alert {alert_id} is {current.status}, not OPEN")
    return AlertDetail(tenant_id=tenant, alert=alert)


@router.patch("/{alert_id}/close", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def close_alert(principal: TenantAdmin, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    """OPEN or ACKNOWLEDGED → CLOSED. A later re-trigger opens a new alert."""
    tenant = principal.tenant_id
    assert tenant
    alert = await alert_queries.close(conn, tenant, alert_id, principal.display)
    if alert is None:
        current = await _existing(conn, tenant, alert_id)
        raise PulseError(409, "invalid_transition", f"alert {alert_id} is already {current.status}")
    return AlertDetail(tenant_id=tenant, alert=alert)


@router.patch("/{alert_id}/silence", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def silence_alert(
    principal: TenantAdmin, conn: TenantDb, alert_id: AlertId, body: SilenceBody
) -> AlertDetail:
    """No notifications for this alert for `minutes` (1 to 1440)."""
    tenant = principal.tenant_id
    assert tenant
    alert = await alert_queries.silence(conn, tenant, alert_id, body.minutes)
    if alert is None:
        await _existing(conn, tenant, alert_id)
        raise PulseError(409, "invalid_transition", f"alert {alert_id} is closed")
    return AlertDetail(tenant_id=tenant, alert=alert)
