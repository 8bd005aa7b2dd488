"""/operator/quarantine: refused device messages of every tenant (or one), and counts by reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import quarantine as queries
from pulse.api.queries.quarantine import QuarantinePage, QuarantineSummary
from pulse.api.routes.customer.quarantine import Hours, ReasonFilter, Since, window_start

router = APIRouter(
    prefix="/operator/quarantine",
    tags=["operator-quarantine"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
TenantFilter = Annotated[str | None, Query(max_length=64, description="Only this tenant.")]


@router.get("", response_model=QuarantinePage)
async def view_quarantine(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    tenant_filter: TenantFilter = None,
    reason: ReasonFilter = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Since = None,
) -> QuarantinePage:
    """Newest first (default: the last 24 hours)."""
    return await queries.list_quarantined(
        conn, window_start(since), page, tenant_id=tenant_filter, reason=reason, device_id=device_id
    )


@router.get("/summary", response_model=QuarantineSummary)
async def view_quarantine_summary(
    conn: OperatorDb, tenant_filter: TenantFilter = None, hours: Hours = 24
) -> QuarantineSummary:
    return await queries.summary(conn, window_start(None, hours), tenant_filter)
