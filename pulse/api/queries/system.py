"""What `/operator/system/*` reads: heartbeats (`service_health`), the collected series (`system_metrics`,
written by the ops service), the catalog for capacity, and recent failures. Rates come from counter
series with `rates()`: Δvalue/Δt between consecutive points, a drop read as a counter reset (a process
restarted), so the new value counts from zero."""

from __future__ import annotations

import itertools
from datetime import datetime

import asyncpg
from pydantic import BaseModel


class Point(BaseModel):
    time: datetime
    value: float


def rates(points: list[Point]) -> list[Point]:
    """Per-second rates between consecutive points (one fewer point than given)."""
    out = []
    for before, after in itertools.pairwise(points):
        seconds = (after.time - before.time).total_seconds()
        if seconds <= 0:
            continue
        delta = after.value - before.value
        out.append(Point(time=after.time, value=(after.value if delta < 0 else delta) / seconds))
    return out


def average_rate(points: list[Point]) -> float | None:
    """Per-second rate over the whole span of `points`, counter resets included."""
    if len(points) < 2:
        return None
    seconds = (points[-1].time - points[0].time).total_seconds()
    if seconds <= 0:
        return None
    increase = sum(
        r.value * (r.time - b.time).total_seconds() for b, r in zip(points, rates(points), strict=False)
    )
    return increase / seconds


async def series(conn: asyncpg.Connection, metric: str, service: str | None, minutes: int) -> list[Point]:
    rows = await conn.fetch(
        """SELECT time, sum(value) AS value FROM system_metrics
            WHERE metric_name = $1 AND ($2::text IS NULL OR service = $2)
              AND time > now() - make_interval(mins => $3)
            GROUP BY time ORDER BY time""",
        metric,
        service,
        minutes,
    )
    return [Point(time=r["time"], value=r["value"]) for r in rows]


async def latest(conn: asyncpg.Connection) -> tuple[datetime | None, dict[str, float]]:
    """The newest collection (every sample of one collection shares its time), within 10 minutes."""
    rows = await conn.fetch(
        """SELECT time, metric_name, value FROM system_metrics
            WHERE time = (SELECT max(time) FROM system_metrics WHERE time > now() - interval '10 minutes')"""
    )
    if not rows:
        return None, {}
    return rows[0]["time"], {r["metric_name"]: r["value"] for r in rows}


async def heartbeats(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT service, details, checked_at, extract(epoch FROM now() - checked_at) AS age_seconds
             FROM service_health ORDER BY service"""
    )


async def database_figures(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT pg_database_size(current_database()) AS db_size_bytes,
                  (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections_used,
                  current_setting('max_connections')::int AS connections_max"""
    )


async def largest_tables(conn: asyncpg.Connection, limit: int = 10) -> list[asyncpg.Record]:
    """Tables by total size, partitions counted in their parent (telemetry is one entry)."""
    return await conn.fetch(
        """SELECT COALESCE(parent.relname, c.relname) AS name,
                  sum(pg_total_relation_size(c.oid))::bigint AS total_bytes,
                  sum(pg_relation_size(c.oid))::bigint AS data_bytes,
                  sum(pg_indexes_size(c.oid))::bigint AS index_bytes
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
             LEFT JOIN pg_class parent ON parent.oid = i.inhparent
            WHERE c.relkind = 'r' AND n.nspname = current_schema()
            GROUP BY 1 ORDER BY 2 DESC LIMIT $1""",
        limit,
    )


async def failure_counts(conn: asyncpg.Connection, hours: int) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT (SELECT count(*) FROM delivery_jobs
                    WHERE status = 'FAILED' AND updated_at > now() - make_interval(hours => $1)) AS delivery_failures,
                  (SELECT COALESCE(sum(cnt), 0)::bigint FROM quarantine_counters_minute
                    WHERE bucket_minute > now() - make_interval(hours => $1)) AS quarantined,
                  (SELECT count(*) FROM delivery_jobs
                    WHERE status = 'PENDING' AND next_run_at < now() - interval '5 minutes') AS stuck_deliveries""",
        hours,
    )


async def recent_failures(conn: asyncpg.Connection, hours: int, limit: int) -> list[asyncpg.Record]:
    """Newest dead letters and quarantined messages, merged by time."""
    return await conn.fetch(
        """(SELECT 'delivery' AS source, 'delivery_failed' AS error_type, updated_at AS timestamp, tenant_id,
                   jsonb_build_object('job_id', job_id, 'event', event, 'attempts', attempts,
                                      'last_error', left(last_error, 300)) AS details
              FROM delivery_jobs
             WHERE status = 'FAILED' AND updated_at > now() - make_interval(hours => $1)
             ORDER BY updated_at DESC LIMIT $2)
           UNION ALL
           (SELECT 'ingest', CASE WHEN reason = 'RATE_LIMITED' THEN 'rate_limited' ELSE 'quarantined' END,
                   ingested_at, tenant_id,
                   jsonb_build_object('reason', reason, 'device_id', device_id, 'msg_type', msg_type)
              FROM quarantine_events
             WHERE ingested_at > now() - make_interval(hours => $1)
             ORDER BY ingested_at DESC LIMIT $2)
           ORDER BY timestamp DESC LIMIT $2""",
        hours,
        limit,
    )
