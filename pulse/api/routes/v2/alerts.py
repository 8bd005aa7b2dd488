"""/api/v2/alerts: the tenant's alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from pulse.api.deps import CustomerPrincipal, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import AlertList, AlertPublic, AlertType
from pulse.api.routes.params import AlertId, SiteFilter
from pulse.errors import PulseError

router = APIRouter(prefix="/api/v2/alerts", tags=["v2-alerts"], responses={401: {"model": ErrorBody}})

StatusFilter = Literal["OPEN", "ACKNOWLEDGED", "CLOSED", "ACTIVE", "ALL"]
_STATUSES = {
    "OPEN": ["OPEN"],
    "ACKNOWLEDGED": ["ACKNOWLEDGED"],
    "CLOSED": ["CLOSED"],
    "ACTIVE": ["OPEN", "ACKNOWLEDGED"],
    "ALL": None,
}


def statuses_for(status: str) -> list[str] | None:
    return _STATUSES[status]


class AlertDetail(BaseModel):
    tenant_id: str
    alert: AlertPublic


@router.get("", response_model=AlertList)
async def list_alerts(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    status: Annotated[StatusFilter, Query(description="ACTIVE = OPEN or ACKNOWLEDGED.")] = "OPEN",
    alert_type: AlertType | None = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    site_id: SiteFilter = None,
    min_severity: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> AlertList:
    """Newest first."""
    alerts, total = await alert_queries.list_alerts(
        conn,
        principal.tenant_id,
        page,
        statuses=statuses_for(status),
        alert_type=alert_type,
        device_id=device_id,
        min_severity=min_severity,
        site_id=site_id,
    )
    return AlertList(
        tenant_id=principal.tenant_id,
        alerts=alerts,
        count=len(alerts),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{alert_id}", response_model=AlertDetail, responses={404: {"model": ErrorBody}})
async def get_alert(principal: CustomerPrincipal, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    assert principal.tenant_id
    alert = await alert_queries.get_alert(conn, principal.tenant_id, alert_id)
    if alert is None:
        raise PulseError(404, "not_found", f"no alert {alert_id}")
    return AlertDetail(tenant_id=principal.tenant_id, alert=alert)
