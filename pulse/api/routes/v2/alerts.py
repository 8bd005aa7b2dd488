"""/api/v2/alerts: the tenant's alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from pulse.api.deps import TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import AlertDetail, AlertList
from pulse.api.routes.params import AlertId, TenantAlertFilter

router = APIRouter(prefix="/api/v2/alerts", tags=["v2-alerts"], responses={401: {"model": ErrorBody}})


@router.get("", response_model=AlertList)
async def list_alerts(
    tenant: TenantId,
    conn: TenantDb,
    where: TenantAlertFilter,  # before the page: keeps the documented parameter order
    page: Annotated[Page, Depends(page_params(100, 500))],
) -> AlertList:
    """Newest first."""
    return await alert_queries.list_alerts(conn, tenant, page, where)


@router.get("/{alert_id}", response_model=AlertDetail, responses={404: {"model": ErrorBody}})
async def get_alert(tenant: TenantId, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    return AlertDetail(tenant_id=tenant, alert=await alert_queries.require_alert(conn, tenant, alert_id))
