"""/operator/system: the platform itself — process heartbeats and reachability (`/health`), current
throughput and backlogs (`/metrics`), the collected series (`/metrics/history`), database capacity
(`/capacity`) and recent failures (`/errors`). The series come from the ops service's collector
(`pulse/ops/system_metrics.py`); without a running ops service `/metrics` reports nothing collected."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.queries import system as queries
from pulse.api.queries.system import Point
from pulse.api.routes.health import check_broker

router = APIRouter(
    prefix="/operator/system",
    tags=["operator-system"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)

SILENT_SECONDS = 45  # as the ops service's SYSTEM_HEALTH watch
RATE_WINDOW_MINUTES = 2


class ServiceInstance(BaseModel):
    service: str
    instance: str
    status: Literal["healthy", "silent"]
    checked_at: datetime
    age_seconds: float
    version: str | None


class Component(BaseModel):
    status: str
    latency_ms: float | None = None
    detail: dict[str, Any] | None = None


class SystemHealth(BaseModel):
    status: Literal["healthy", "degraded"]
    components: dict[str, Component]
    services: list[ServiceInstance]
    checked_at: datetime


@router.get("/health", response_model=SystemHealth)
async def system_health(conn: OperatorDb, request: Request) -> SystemHealth:
    """Database and broker reachability, and every process's heartbeat (silent after 45 s)."""
    started = time.perf_counter()
    figures = await queries.database_figures(conn)
    postgres = Component(
        status="ok",
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        detail={"connections": figures["connections_used"], "max_connections": figures["connections_max"]},
    )
    started = time.perf_counter()
    broker = await check_broker(request)
    mqtt = Component(status=broker, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    services = []
    for row in await queries.heartbeats(conn):
        name, _, instance = row["service"].partition("@")
        age = float(row["age_seconds"])
        services.append(
            ServiceInstance(
                service=name,
                instance=instance,
                status="healthy" if age < SILENT_SECONDS else "silent",
                checked_at=row["checked_at"],
                age_seconds=round(age, 1),
                version=(row["details"] or {}).get("version"),
            )
        )
    healthy = mqtt.status == "ok" and all(s.status == "healthy" for s in services)
    return SystemHealth(
        status="healthy" if healthy else "degraded",
        components={"postgres": postgres, "mqtt": mqtt},
        services=services,
        checked_at=datetime.now(UTC),
    )


class Throughput(BaseModel):
    ingest_rate_per_sec: float | None
    rejected_rate_per_sec: float | None
    alert_open_rate_per_min: float | None
    messages_received_total: float | None
    messages_written_total: float | None
    messages_rejected_total: float | None
    alerts_opened_total: float | None
    alerts_closed_total: float | None
    deliveries_sent_total: float | None
    deliveries_failed_total: float | None


class Queues(BaseModel):
    ingest_queue_depth: float | None
    delivery_pending: float | None
    delivery_dead_letters: float | None


class SystemMetrics(BaseModel):
    throughput: Throughput
    queues: Queues
    platform: dict[str, float]
    collected_at: datetime | None
    period: str = "since_service_start"


@router.get("/metrics", response_model=SystemMetrics)
async def system_metrics(conn: OperatorDb) -> SystemMetrics:
    """The newest collection; totals are summed over live processes since each started, rates over the
    last two minutes of the collected series."""
    collected_at, values = await queries.latest(conn)

    async def rate(metric: str) -> float | None:
        return queries.average_rate(await queries.series(conn, metric, None, RATE_WINDOW_MINUTES))

    opened = await rate("alerts_opened")
    return SystemMetrics(
        throughput=Throughput(
            ingest_rate_per_sec=await rate("messages_written"),
            rejected_rate_per_sec=await rate("messages_rejected"),
            alert_open_rate_per_min=None if opened is None else opened * 60,
            messages_received_total=values.get("messages_received"),
            messages_written_total=values.get("messages_written"),
            messages_rejected_total=values.get("messages_rejected"),
            alerts_opened_total=values.get("alerts_opened"),
            alerts_closed_total=values.get("alerts_closed"),
            deliveries_sent_total=values.get("deliveries_sent"),
            deliveries_failed_total=values.get("deliveries_failed"),
        ),
        queues=Queues(
            ingest_queue_depth=values.get("ingest_queue_depth"),
            delivery_pending=values.get("deliveries_pending"),
            delivery_dead_letters=values.get("deliveries_dead_letters"),
        ),
        platform={
            k: v
            for k, v in values.items()
            if k.startswith(("devices_", "alerts_open", "processes_", "rejections_"))
        },
        collected_at=collected_at,
    )


class MetricHistory(BaseModel):
    metric: str
    service: str | None
    minutes: int
    rate: bool
    points: list[Point]


@router.get("/metrics/history", response_model=MetricHistory)
async def metrics_history(
    conn: OperatorDb,
    metric: Annotated[str, Query(max_length=64, description="A collected metric name.")] = "messages_written",
    service: Annotated[str | None, Query(max_length=64)] = None,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 15,
    rate: Annotated[bool, Query(description="Per-second rates between points instead of values.")] = False,
) -> MetricHistory:
    points = await queries.series(conn, metric, service, minutes)
    return MetricHistory(
        metric=metric,
        service=service,
        minutes=minutes,
        rate=rate,
        points=queries.rates(points) if rate else points,
    )


class TableSize(BaseModel):
    name: str
    total_mb: float
    data_mb: float
    index_mb: float


class DatabaseCapacity(BaseModel):
    db_size_bytes: int
    db_size_mb: float
    connections_used: int
    connections_max: int
    connections_pct: float
    top_tables: list[TableSize]


class Capacity(BaseModel):
    postgres: DatabaseCapacity


def _mb(value: int) -> float:
    return round(value / 1_048_576, 2)


@router.get("/capacity", response_model=Capacity)
async def capacity(conn: OperatorDb) -> Capacity:
    """Database size, connections and the ten largest tables (partitions counted in their parent)."""
    figures = await queries.database_figures(conn)
    tables = await queries.largest_tables(conn)
    return Capacity(
        postgres=DatabaseCapacity(
            db_size_bytes=figures["db_size_bytes"],
            db_size_mb=_mb(figures["db_size_bytes"]),
            connections_used=figures["connections_used"],
            connections_max=figures["connections_max"],
            connections_pct=round(100 * figures["connections_used"] / max(figures["connections_max"], 1), 1),
            top_tables=[
                TableSize(
                    name=t["name"],
                    total_mb=_mb(t["total_bytes"]),
                    data_mb=_mb(t["data_bytes"]),
                    index_mb=_mb(t["index_bytes"]),
                )
                for t in tables
            ],
        )
    )


class ErrorEntry(BaseModel):
    source: Literal["delivery", "ingest"]
    error_type: Literal["delivery_failed", "quarantined", "rate_limited"]
    timestamp: datetime
    tenant_id: str | None
    details: dict[str, Any]


class ErrorCounts(BaseModel):
    delivery_failures: int
    quarantined: int
    stuck_deliveries: int


class SystemErrors(BaseModel):
    errors: list[ErrorEntry]
    counts: ErrorCounts
    period_hours: int


@router.get("/errors", response_model=SystemErrors)
async def system_errors(
    conn: OperatorDb,
    hours: Annotated[int, Query(ge=1, le=24)] = 24,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SystemErrors:
    """Counts of dead letters, rejected messages and deliveries overdue by 5 minutes, and the newest
    failures themselves."""
    counts = await queries.failure_counts(conn, hours)
    rows = await queries.recent_failures(conn, hours, limit)
    return SystemErrors(
        errors=[ErrorEntry(**dict(r)) for r in rows], counts=ErrorCounts(**dict(counts)), period_hours=hours
    )
