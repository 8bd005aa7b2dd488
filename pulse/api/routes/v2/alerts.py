"""/api/v2/alerts: the tenant's alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import AlertDetail, AlertList, AlertType, StatusFilter
from pulse.api.routes.params import AlertId, SiteFilter

router = APIRouter(prefix="/api/v2/alerts", tags=["v2-alerts"], responses={401: {"model": ErrorBody}})


@router.get("", response_model=AlertList)
async def list_alerts(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    status: Annotated[StatusFilter, Query(description="ACTIVE = OPEN or ACKNOWLEDGED.")] = "OPEN",
    alert_type: AlertType | None = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    site_id: SiteFilter = None,
    min_severity: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> AlertList:
    """Newest first."""
    return await alert_queries.list_alerts(
        conn,
        tenant,
        page,
        status=status,
        alert_type=alert_type,
        device_id=device_id,
        min_severity=min_severity,
        site_id=site_id,
    )


@router.get("/{alert_id}", response_model=AlertDetail, responses={404: {"model": ErrorBody}})
async def get_alert(tenant: TenantId, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    return AlertDetail(tenant_id=tenant, alert=await alert_queries.require_alert(conn, tenant, alert_id))
