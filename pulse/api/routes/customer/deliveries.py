"""/customer/delivery-jobs, /customer/delivery-status and /customer/notification-log: what the
notification engine did with the tenant's alert events, and re-driving its dead letters.

Every delivery — through an integration route or a notification channel — is one `delivery_jobs` row
with one `delivery_attempts` row per try (pulse/notify/worker.py). A job that used up its attempts (or
met a permanent error) ends FAILED; a tenant admin can re-drive it: back to PENDING, due now, with a
fresh attempt budget (attempt numbers keep counting and the earlier attempts stay in the log).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pulse.api.deps import TenantAdmin, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import notify_targets as store
from pulse.api.routes.customer.notify_targets import DeliveryEvent
from pulse.api.routes.params import utc
from pulse.errors import PulseError
from pulse.notify.targets import INTEGRATIONS, NOTIFICATION_CHANNELS

router = APIRouter(
    prefix="/customer",
    tags=["customer-deliveries"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

REDRIVE_BATCH = 1000
JobStatus = Literal["PENDING", "PROCESSING", "COMPLETED", "FAILED"]
JobId = Annotated[int, Path(ge=1, le=2**62, description="The delivery job's id.")]
BigIdQuery = Annotated[int | None, Query(ge=1, le=2**62)]


class JobPublic(BaseModel):
    job_id: int
    alert_id: int | None
    integration_id: uuid.UUID | None
    route_id: uuid.UUID | None
    channel_id: int | None
    routing_rule_id: int | None
    event: str
    status: str
    attempts: int = Field(description="Attempts made so far (all of them, across re-drives).")
    last_error: str | None
    next_run_at: datetime
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    redriven_at: datetime | None


class JobDetail(JobPublic):
    attempts_base: int = Field(
        description="Attempts made before the last re-drive; the budget counts from here."
    )
    redriven_by: str | None
    payload: dict[str, Any] | None = Field(description="The alert event being delivered.")


class JobList(BaseModel):
    jobs: list[JobPublic]
    total: int
    limit: int
    offset: int


class AttemptPublic(BaseModel):
    attempt_no: int
    ok: bool
    http_status: int | None
    reason: str | None
    latency_ms: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class AttemptList(BaseModel):
    job_id: int
    attempts: list[AttemptPublic]


class RecentAttempt(AttemptPublic):
    job_id: int
    alert_id: int | None
    integration_id: uuid.UUID | None
    channel_id: int | None
    event: str


class DeliveryStatus(BaseModel):
    tenant_id: str
    attempts: list[RecentAttempt]


class RedriveFilter(BaseModel):
    """Which FAILED jobs to re-drive (all of them when empty), oldest first, at most 1000 a call."""

    model_config = ConfigDict(extra="forbid")
    integration_id: uuid.UUID | None = None
    channel_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    created_after: datetime | None = Field(default=None, description="Only jobs created at or after this.")

    @field_validator("created_after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value)


class RedriveResult(BaseModel):
    redriven: int = Field(description="FAILED jobs put back to PENDING by this call.")
    more: bool = Field(description="More matching FAILED jobs remain (call again).")


class LogEntry(BaseModel):
    log_id: int
    channel_id: int
    channel_name: str
    channel_type: str
    alert_id: int
    job_id: int | None
    event: str | None
    routing_rule_id: int | None
    sent_at: datetime


class LogList(BaseModel):
    entries: list[LogEntry]
    total: int
    limit: int
    offset: int


JOB_COLUMNS = """job_id, alert_id, integration_id, route_id, channel_id, routing_rule_id, event, status, attempts,
                  last_error, next_run_at, created_at, updated_at, completed_at, redriven_at"""
_REDRIVE = """status = 'PENDING', next_run_at = now(), attempts_base = attempts, redriven_at = now(),
              redriven_by = {by}, claimed_at = NULL, locked_by = NULL, completed_at = NULL"""


def _detail(row: asyncpg.Record) -> JobDetail:
    data = dict(row)
    payload = data.pop("payload_json")
    data["payload"] = payload.get("event") if isinstance(payload, dict) else None
    return JobDetail(**data)


async def _job(conn: asyncpg.Connection, tenant: str | None, job_id: int) -> JobDetail:
    row = await conn.fetchrow(
        f"""SELECT {JOB_COLUMNS}, attempts_base, redriven_by, payload_json FROM delivery_jobs
             WHERE tenant_id = $1 AND job_id = $2""",
        tenant,
        job_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no delivery job {job_id}")
    return _detail(row)


async def _wake_workers(conn: asyncpg.Connection) -> None:
    """The insert trigger wakes the notify workers only for new jobs; a re-drive says so itself
    (delivered at commit, so a worker never looks before the job is PENDING)."""
    await conn.execute("SELECT pg_notify('new_delivery_job', '')")


@router.get("/delivery-jobs", response_model=JobList, summary="List delivery jobs")
async def list_jobs(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(50, 200))],
    status: JobStatus | None = None,
    integration_id: uuid.UUID | None = None,
    channel_id: BigIdQuery = None,
    alert_id: BigIdQuery = None,
    event: DeliveryEvent | None = None,
) -> JobList:
    """Newest first. FAILED jobs are the dead letters (see the re-drive endpoints)."""
    where = """tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR integration_id = $3)
               AND ($4::bigint IS NULL OR channel_id = $4) AND ($5::bigint IS NULL OR alert_id = $5)
               AND ($6::text IS NULL OR event = $6)"""
    args = (tenant, status, integration_id, channel_id, alert_id, event)
    rows = await conn.fetch(
        f"""SELECT {JOB_COLUMNS} FROM delivery_jobs WHERE {where}
             ORDER BY created_at DESC, job_id DESC LIMIT $7 OFFSET $8""",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM delivery_jobs WHERE {where}", *args)
    return JobList(
        jobs=[JobPublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/delivery-jobs/redrive", response_model=RedriveResult, summary="Re-drive failed delivery jobs")
async def redrive_jobs(principal: TenantAdmin, conn: TenantDb, body: RedriveFilter) -> RedriveResult:
    """Put up to 1000 matching FAILED jobs (oldest first) back to PENDING with a fresh attempt budget
    and wake the workers. `more` says whether another call would find more. An integration or channel
    that is not the tenant's is a 404."""
    tenant = principal.tenant_id
    if body.integration_id is not None:
        await store.find_target(conn, INTEGRATIONS, tenant, body.integration_id)
    if body.channel_id is not None:
        await store.find_target(conn, NOTIFICATION_CHANNELS, tenant, body.channel_id)
    where = """tenant_id = $1 AND status = 'FAILED' AND ($2::uuid IS NULL OR integration_id = $2)
               AND ($3::bigint IS NULL OR channel_id = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)"""
    args = (tenant, body.integration_id, body.channel_id, body.created_after)
    rows = await conn.fetch(
        f"""WITH picked AS (
                SELECT job_id FROM delivery_jobs WHERE {where}
                 ORDER BY created_at, job_id LIMIT $6 FOR UPDATE SKIP LOCKED)
            UPDATE delivery_jobs j SET {_REDRIVE.format(by="$5")}
              FROM picked WHERE j.tenant_id = $1 AND j.job_id = picked.job_id
            RETURNING j.job_id""",
        *args,
        principal.sub,
        REDRIVE_BATCH,
    )
    if rows:
        await _wake_workers(conn)
    more = await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM delivery_jobs WHERE {where})", *args)
    return RedriveResult(redriven=len(rows), more=bool(more))


@router.get("/delivery-jobs/{job_id}", response_model=JobDetail, summary="Get a delivery job")
async def get_job(tenant: TenantId, conn: TenantDb, job_id: JobId) -> JobDetail:
    return await _job(conn, tenant, job_id)


@router.get(
    "/delivery-jobs/{job_id}/attempts", response_model=AttemptList, summary="List a delivery job's attempts"
)
async def list_attempts(tenant: TenantId, conn: TenantDb, job_id: JobId) -> AttemptList:
    """Every attempt in order (errors are redacted by the worker: no secrets, no full URLs)."""
    if not await conn.fetchval(
        "SELECT 1 FROM delivery_jobs WHERE tenant_id = $1 AND job_id = $2", tenant, job_id
    ):
        raise PulseError(404, "not_found", f"no delivery job {job_id}")
    rows = await conn.fetch(
        """SELECT attempt_no, ok, http_status, reason, latency_ms, error, started_at, finished_at
             FROM delivery_attempts WHERE tenant_id = $1 AND job_id = $2 ORDER BY attempt_no, attempt_id
            LIMIT 1000""",
        tenant,
        job_id,
    )
    return AttemptList(job_id=job_id, attempts=[AttemptPublic(**dict(r)) for r in rows])


@router.post(
    "/delivery-jobs/{job_id}/redrive",
    response_model=JobDetail,
    responses={409: {"model": ErrorBody, "description": "The job is not FAILED."}},
    summary="Re-drive a failed delivery job",
)
async def redrive_job(principal: TenantAdmin, conn: TenantDb, job_id: JobId) -> JobDetail:
    """A FAILED job goes back to PENDING, due now, with a fresh attempt budget (`attempts_base` =
    `attempts`); the workers are woken. Any other status is 409 `not_failed`."""
    redriven = await conn.fetchval(
        f"""UPDATE delivery_jobs SET {_REDRIVE.format(by="$3")}
             WHERE tenant_id = $1 AND job_id = $2 AND status = 'FAILED' RETURNING 1""",
        principal.tenant_id,
        job_id,
        principal.sub,
    )
    if not redriven:
        job = await _job(conn, principal.tenant_id, job_id)  # 404 when it is not there
        raise PulseError(
            409, "not_failed", f"delivery job {job_id} is {job.status}; only FAILED jobs can be re-driven"
        )
    await _wake_workers(conn)
    return await _job(conn, principal.tenant_id, job_id)


@router.get("/delivery-status", response_model=DeliveryStatus, summary="Recent delivery attempts")
async def delivery_status(
    tenant: TenantId,
    conn: TenantDb,
    limit: Annotated[int, Query(ge=1, le=100, description="How many attempts (max 100).")] = 20,
) -> DeliveryStatus:
    """The tenant's latest delivery attempts (newest first, in the order they were recorded), with the
    job each belongs to."""
    rows = await conn.fetch(
        """SELECT a.attempt_no, a.ok, a.http_status, a.reason, a.latency_ms, a.error, a.started_at,
                  a.finished_at, a.job_id, j.alert_id, j.integration_id, j.channel_id, j.event
             FROM delivery_attempts a JOIN delivery_jobs j USING (tenant_id, job_id)
            WHERE a.tenant_id = $1 ORDER BY a.attempt_id DESC LIMIT $2""",
        tenant,
        limit,
    )
    return DeliveryStatus(tenant_id=tenant, attempts=[RecentAttempt(**dict(r)) for r in rows])


@router.get("/notification-log", response_model=LogList, summary="List notification-channel deliveries")
async def notification_log(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(50, 200))],
    channel_id: BigIdQuery = None,
    alert_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> LogList:
    """One entry per notification delivered through a channel, newest first."""
    where = "l.tenant_id = $1 AND ($2::bigint IS NULL OR l.channel_id = $2) AND ($3::bigint IS NULL OR l.alert_id = $3)"
    rows = await conn.fetch(
        f"""SELECT l.log_id, l.channel_id, c.name AS channel_name, c.channel_type, l.alert_id, l.job_id, l.event,
                   l.routing_rule_id, l.sent_at
              FROM notification_log l JOIN notification_channels c USING (tenant_id, channel_id)
             WHERE {where} ORDER BY l.sent_at DESC, l.log_id DESC LIMIT $4 OFFSET $5""",
        tenant,
        channel_id,
        alert_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM notification_log l WHERE {where}", tenant, channel_id, alert_id
    )
    return LogList(
        entries=[LogEntry(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
