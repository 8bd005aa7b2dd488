"""/api/v2/devices: the fleet, one device, its telemetry history and latest values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from pulse.api.deps import TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import chart as chart_queries
from pulse.api.queries import devices as device_queries
from pulse.api.queries import telemetry as telemetry_queries
from pulse.api.queries.devices import DeviceDetail, DeviceList, require_device
from pulse.api.queries.telemetry import MAX_BUCKETS, MAX_METRICS, Bucket, LatestTelemetry, TelemetryHistory
from pulse.api.routes.params import (
    DeviceId,
    DeviceStatusFilter,
    SearchText,
    SiteFilter,
    TagsFilter,
    split_list,
    utc,
)
from pulse.errors import PulseError

router = APIRouter(prefix="/api/v2/devices", tags=["v2-devices"], responses={401: {"model": ErrorBody}})


@router.get("", response_model=DeviceList)
async def list_devices(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 1000))],
    status: DeviceStatusFilter = None,
    site_id: SiteFilter = None,
    tags: TagsFilter = None,
    q: SearchText = None,
) -> DeviceList:
    """The tenant's devices (decommissioned ones left out), ordered by site and device id."""
    return await device_queries.list_devices(
        conn, tenant, page, status=status, site_id=site_id, tags=split_list(tags, name="tags"), q=q
    )


@router.get("/{device_id}", response_model=DeviceDetail, responses={404: {"model": ErrorBody}})
async def get_device(tenant: TenantId, conn: TenantDb, device_id: DeviceId) -> DeviceDetail:
    return DeviceDetail(tenant_id=tenant, device=await require_device(conn, tenant, device_id))


@router.get(
    "/{device_id}/telemetry",
    response_model=TelemetryHistory,
    response_model_exclude_none=True,
    responses={400: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def telemetry_history(
    tenant: TenantId,
    conn: TenantDb,
    device_id: DeviceId,
    bucket: Bucket = Bucket.RAW,
    start: Annotated[datetime | None, Query(description="ISO-8601; default: end minus `hours`.")] = None,
    end: Annotated[datetime | None, Query(description="ISO-8601; default: now.")] = None,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="Range when `start` is not given.")] = 24,
    metrics: Annotated[
        str | None, Query(max_length=2000, description=f"Comma-separated metric names (max {MAX_METRICS}).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Rows for bucket=raw.")] = 500,
) -> TelemetryHistory:
    """Raw rows (newest first) or min/max/avg/last per metric in 1 m, 5 m, 1 h or 1 d buckets."""
    end = utc(end) or datetime.now(UTC)
    start = utc(start) or end - timedelta(hours=hours)
    if start >= end:
        raise PulseError(400, "bad_request", "start must be before end")
    selected = split_list(metrics, max_items=MAX_METRICS, name="metrics")
    if bucket != Bucket.RAW and telemetry_queries.bucket_count(start, end, bucket) > MAX_BUCKETS:
        raise PulseError(400, "too_many_buckets", f"the range holds more than {MAX_BUCKETS} {bucket} buckets")
    await require_device(conn, tenant, device_id)
    history = TelemetryHistory(device_id=device_id, bucket=bucket, start=start, end=end)
    if bucket == Bucket.RAW:
        history.raw = await telemetry_queries.raw_history(
            conn, tenant, device_id, start, end, selected, limit
        )
    else:
        history.series = await telemetry_queries.bucketed_history(
            conn, tenant, device_id, start, end, bucket, selected
        )
    return history


class ChartColumns(BaseModel):
    avg: list[float | None]
    min: list[float | None]
    max: list[float | None]


class DeviceChart(BaseModel):
    """Documents the chart's shape; the body itself is written without this model (see chart_queries)."""

    device_id: str
    bucket_seconds: int
    start: datetime
    end: datetime
    timestamps: list[int]
    series: dict[str, ChartColumns]


ChartBucket = Annotated[
    str | None,
    Query(
        pattern="^(" + "|".join(chart_queries.BUCKETS) + ")$",
        description="Bucket width; default: the narrowest that keeps the chart within "
        f"{chart_queries.MAX_POINTS} points.",
    ),
]


@router.get(
    "/{device_id}/chart",
    response_class=Response,
    responses={
        200: {"model": DeviceChart, "description": "Columns on one shared axis."},
        400: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
async def device_chart(
    tenant: TenantId,
    conn: TenantDb,
    device_id: DeviceId,
    start: Annotated[datetime | None, Query(description="ISO-8601; default: end minus `hours`.")] = None,
    end: Annotated[datetime | None, Query(description="ISO-8601; default: now.")] = None,
    hours: Annotated[int, Query(ge=1, le=24 * 30, description="Range when `start` is not given.")] = 24,
    bucket: ChartBucket = None,
    metrics: Annotated[
        str | None, Query(max_length=2000, description=f"Comma-separated metric names (max {MAX_METRICS}).")
    ] = None,
) -> Response:
    """Every metric of the device (or the named ones) as columns for a chart: one `timestamps` axis
    (bucket starts, epoch ms) and per metric `avg`, `min`, `max` arrays of the same length, null for an
    empty bucket. At most 30 days; at most 1,500 buckets."""
    end = utc(end) or datetime.now(UTC)
    start = utc(start) or end - timedelta(hours=hours)
    if start >= end:
        raise PulseError(400, "bad_request", "start must be before end")
    if end - start > chart_queries.MAX_RANGE:
        raise PulseError(400, "range_too_long", "a chart spans at most 30 days")
    selected = split_list(metrics, max_items=MAX_METRICS, name="metrics")
    seconds = chart_queries.BUCKETS[bucket] if bucket else chart_queries.auto_bucket(start, end)
    ax = chart_queries.axis(start, end, seconds)
    if ax.points > chart_queries.MAX_POINTS:
        raise PulseError(
            400,
            "too_many_buckets",
            f"the range holds {ax.points} {bucket} buckets, more than {chart_queries.MAX_POINTS}",
        )
    await require_device(conn, tenant, device_id)
    series = await chart_queries.chart_series_json(conn, tenant, device_id, ax, selected)
    return Response(chart_queries.chart_body(device_id, ax, series), media_type="application/json")


@router.get(
    "/{device_id}/telemetry/latest", response_model=LatestTelemetry, responses={404: {"model": ErrorBody}}
)
async def latest_telemetry(
    tenant: TenantId,
    conn: TenantDb,
    device_id: DeviceId,
    count: Annotated[int, Query(ge=1, le=10)] = 1,
) -> LatestTelemetry:
    """The device's most recent telemetry messages, newest first."""
    await require_device(conn, tenant, device_id)
    rows = await telemetry_queries.latest(conn, tenant, device_id, count)
    return LatestTelemetry(device_id=device_id, telemetry=rows, count=len(rows))
