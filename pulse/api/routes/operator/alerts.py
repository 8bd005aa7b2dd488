"""/operator/alerts: alerts across tenants (optionally one tenant)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries.alerts import AlertFilter, AlertList, AlertPublic, AlertType, StatusFilter
from pulse.api.routes.params import AlertId

router = APIRouter(
    prefix="/operator/alerts",
    tags=["operator-alerts"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


@router.get("", response_model=AlertList)
async def list_all_alerts(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    tenant_filter: Annotated[str | None, Query(max_length=64)] = None,
    status: StatusFilter = "OPEN",
    alert_type: AlertType | None = None,
    min_severity: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> AlertList:
    where = AlertFilter(status=status, alert_type=alert_type, min_severity=min_severity)
    return await alert_queries.list_alerts(conn, tenant_filter, page, where)


@router.get("/{alert_id}", response_model=AlertPublic, responses={404: {"model": ErrorBody}})
async def view_alert(conn: OperatorDb, alert_id: AlertId) -> AlertPublic:
    return await alert_queries.require_alert(conn, None, alert_id)
