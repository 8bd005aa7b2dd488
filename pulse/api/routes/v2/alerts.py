"""/api/v2/alerts: the tenant's alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alert_trend import AlertTrend, TrendBucket, alert_trend
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


# Registered before /{alert_id}: routes match in order, and "trend" would be refused as an alert id.
@router.get("/trend", response_model=AlertTrend)
async def get_alert_trend(
    tenant: TenantId,
    conn: TenantDb,
    hours: Annotated[int, Query(ge=1, le=720, description="How far back the first bucket reaches.")] = 24,
    bucket: Annotated[TrendBucket, Query(description="Hours or UTC days.")] = "hour",
) -> AlertTrend:
    """Alerts opened and closed per bucket, in total and by severity; empty buckets included, oldest first."""
    return await alert_trend(conn, tenant, hours, bucket, datetime.now(UTC))


@router.get("/{alert_id}", response_model=AlertDetail, responses={404: {"model": ErrorBody}})
async def get_alert(tenant: TenantId, conn: TenantDb, alert_id: AlertId) -> AlertDetail:
    return AlertDetail(tenant_id=tenant, alert=await alert_queries.require_alert(conn, tenant, alert_id))
