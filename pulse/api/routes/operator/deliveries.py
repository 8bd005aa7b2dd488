"""/operator/deliveries: the notification engine across tenants — where deliveries pile up or fail.

Read-only: operators see every tenant's dead letters and backlog (audited like every operator
request); re-driving stays with the tenant's own admins (`/customer/delivery-jobs/{id}/redrive`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.deliveries import JOB_COLUMNS, JobPublic, JobStatus

router = APIRouter(
    prefix="/operator/deliveries",
    tags=["operator-deliveries"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


class TenantDeliveries(BaseModel):
    tenant_id: str
    pending: int = Field(description="Jobs waiting for an attempt (due now or retrying later).")
    processing: int
    failed_24h: int = Field(description="Jobs that ended FAILED (dead letters) in the last 24 hours.")
    completed_24h: int
    oldest_pending_at: datetime | None = Field(
        description="When the longest-waiting PENDING job was created: a backlog or a target that keeps failing."
    )


class DeliverySummary(BaseModel):
    tenants: list[TenantDeliveries]


class OperatorJob(JobPublic):
    tenant_id: str


class OperatorJobList(BaseModel):
    jobs: list[OperatorJob]
    total: int
    limit: int
    offset: int


@router.get("/summary", response_model=DeliverySummary)
async def delivery_summary(
    conn: OperatorDb, tenant_filter: Annotated[str | None, Query(max_length=64)] = None
) -> DeliverySummary:
    """Per tenant with any recent or unfinished delivery: backlog, dead letters and successes."""
    rows = await conn.fetch(
        """
        SELECT tenant_id,
               count(*) FILTER (WHERE status = 'PENDING') AS pending,
               count(*) FILTER (WHERE status = 'PROCESSING') AS processing,
               count(*) FILTER (WHERE status = 'FAILED' AND updated_at > now() - interval '24 hours') AS failed_24h,
               count(*) FILTER (WHERE status = 'COMPLETED' AND updated_at > now() - interval '24 hours')
                   AS completed_24h,
               min(created_at) FILTER (WHERE status = 'PENDING') AS oldest_pending_at
          FROM delivery_jobs
         WHERE ($1::text IS NULL OR tenant_id = $1)
           AND (status IN ('PENDING', 'PROCESSING') OR updated_at > now() - interval '24 hours')
         GROUP BY tenant_id
         ORDER BY failed_24h DESC, pending DESC, tenant_id
        """,
        tenant_filter,
    )
    return DeliverySummary(tenants=[TenantDeliveries(**dict(r)) for r in rows])


@router.get("/jobs", response_model=OperatorJobList)
async def list_jobs(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(50, 500))],
    tenant_filter: Annotated[str | None, Query(max_length=64)] = None,
    status: JobStatus | None = None,
) -> OperatorJobList:
    """Delivery jobs of every tenant (or one), newest first; `status=FAILED` lists the dead letters."""
    where = "($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR status = $2)"
    total = await conn.fetchval(f"SELECT count(*) FROM delivery_jobs WHERE {where}", tenant_filter, status)
    rows = await conn.fetch(
        f"""SELECT tenant_id, {JOB_COLUMNS} FROM delivery_jobs WHERE {where}
             ORDER BY created_at DESC, job_id DESC LIMIT $3 OFFSET $4""",
        tenant_filter,
        status,
        page.limit,
        page.offset,
    )
    return OperatorJobList(
        jobs=[OperatorJob(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
