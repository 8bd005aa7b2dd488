"""/customer/quarantine: the tenant's own refused device messages — why a device's messages are
rejected (reason, topic, device, time, a scrubbed payload excerpt) — and counts by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import quarantine as queries
from pulse.api.queries.quarantine import QuarantinePage, QuarantineSummary
from pulse.api.routes.params import utc

router = APIRouter(
    prefix="/customer/quarantine",
    tags=["customer-quarantine"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)

ReasonFilter = Annotated[
    str | None, Query(max_length=64, description="Only this reason, e.g. TOKEN_INVALID.")
]
Since = Annotated[datetime | None, Query(description="From this time (default: the last 24 hours).")]
Hours = Annotated[int, Query(ge=1, le=24 * 7, description="Counts over the last N hours.")]


def window_start(since: datetime | None, hours: int = 24) -> datetime:
    return utc(since) or datetime.now(UTC) - timedelta(hours=hours)


@router.get("", response_model=QuarantinePage)
async def list_quarantine(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    reason: ReasonFilter = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Since = None,
) -> QuarantinePage:
    """Newest first."""
    return await queries.list_quarantined(
        conn, window_start(since), page, tenant_id=tenant, reason=reason, device_id=device_id
    )


@router.get("/summary", response_model=QuarantineSummary)
async def quarantine_summary(tenant: TenantId, conn: TenantDb, hours: Hours = 24) -> QuarantineSummary:
    return await queries.summary(conn, window_start(None, hours), tenant)
