"""/customer/alerts: list, read, events timeline, acknowledge, close, silence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, TenantAdmin, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import (
    AlertDetail,
    AlertEventPublic,
    AlertList,
    require_alert,
)
from pulse.api.routes.params import AlertId, TenantAlertFilter
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/alerts",
    tags=["customer-alerts"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: Annotated[int, Field(ge=1, le=1440)]


class AlertEvents(BaseModel):
    tenant_id: str
    alert_id: int
    events: list[AlertEventPublic]


@router.get("", response_model=AlertList)
async def list_alerts(
    tenant: TenantId,
    conn: TenantDb,
    where: TenantAlertFilter,  # before the page: keeps the documented parameter order
    page: Annotated[Page, Depends(page_params(50, 200))],
) -> AlertList:
    """Same as `GET /api/v2/alerts`, with smaller pages."""
    return await alert_queries.list_alerts(conn, tenant, page, where)


@router.get("/{alert_id}", response_model=AlertDetail)
async def get_alert(tenant: TenantId, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    return AlertDetail(tenant_id=tenant, alert=await require_alert(conn, tenant, alert_id))


@router.get("/{alert_id}/events", response_model=AlertEvents)
async def alert_events(tenant: TenantId, conn: TenantDb, alert_id: AlertId) -> AlertEvents:
    """What happened to the alert, oldest first: OPENED, UPDATED, ACKNOWLEDGED, ESCALATED, SILENCED,
    CLOSED, and its escalation's steps — NOTIFIED (who a level reached, through what, the delivery jobs
    and any target that could not be reached), ESCALATION_HELD, ESCALATION_STOPPED, ESCALATE_NOW."""
    await require_alert(conn, tenant, alert_id)
    events = await alert_queries.list_events(conn, tenant, alert_id)
    return AlertEvents(tenant_id=tenant, alert_id=alert_id, events=events)


# The transitions below update only an alert in a state that allows them; when nothing was updated, the
# alert is read again to tell "no such alert" (404) from "not in that state" (409).


async def _moved(conn, tenant: str, alert_id: int, alert, refused: str) -> AlertDetail:
    """The updated alert, or 404 / 409 `invalid_transition` (`refused` may name `{status}`)."""
    if alert is None:
        current = await require_alert(conn, tenant, alert_id)
        raise PulseError(409, "invalid_transition", refused.format(alert_id=alert_id, status=current.status))
    return AlertDetail(tenant_id=tenant, alert=alert)


@router.patch("/{alert_id}/acknowledge", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def acknowledge_alert(
    tenant: AdminTenantId, principal: TenantAdmin, conn: TenantDb, alert_id: AlertId
) -> AlertDetail:
    """OPEN → ACKNOWLEDGED; escalation stops."""
    alert = await alert_queries.acknowledge(conn, tenant, alert_id, principal.display)
    return await _moved(conn, tenant, alert_id, alert, "alert {alert_id} is {status}, not OPEN")


@router.patch("/{alert_id}/close", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def close_alert(
    tenant: AdminTenantId, principal: TenantAdmin, conn: TenantDb, alert_id: AlertId
) -> AlertDetail:
    """OPEN or ACKNOWLEDGED → CLOSED. A later re-trigger opens a new alert."""
    alert = await alert_queries.close(conn, tenant, alert_id, principal.display)
    return await _moved(conn, tenant, alert_id, alert, "alert {alert_id} is already {status}")


@router.post("/{alert_id}/escalate", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def escalate_alert(
    tenant: AdminTenantId, principal: TenantAdmin, conn: TenantDb, alert_id: AlertId
) -> AlertDetail:
    """Escalate now: the next level of the alert's escalation policy fires at once instead of after
    its delay. 409 when the alert is not OPEN or has no level left."""
    alert = await alert_queries.escalate_now(conn, tenant, alert_id, principal.display)
    return await _moved(
        conn, tenant, alert_id, alert, "alert {alert_id} has no escalation to advance ({status})"
    )


@router.patch("/{alert_id}/silence", response_model=AlertDetail, responses={409: {"model": ErrorBody}})
async def silence_alert(
    tenant: AdminTenantId, conn: TenantDb, alert_id: AlertId, body: SilenceBody
) -> AlertDetail:
    """No notifications for this alert for `minutes` (1 to 1440). Its escalation waits meanwhile and
    goes on when the silence ends if nobody has acknowledged it."""
    alert = await alert_queries.silence(conn, tenant, alert_id, body.minutes)
    return await _moved(conn, tenant, alert_id, alert, "alert {alert_id} is closed")
