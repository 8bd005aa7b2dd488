"""Alerts opened and closed per hour or UTC day, by severity: the console's alert trend chart.

Buckets run from the one holding `now - hours` to the one holding now, every bucket listed (empty ones
with zeros) and each counted whole, so bars are comparable. Two index range scans, one on
`(tenant_id, created_at)` for openings and one on `(tenant_id, closed_at)` for closings; the tenant
filter is explicit as well as enforced by row-level security.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel

TrendBucket = Literal["hour", "day"]


class SeverityCounts(BaseModel):
    opened: int
    closed: int


class TrendBucketCounts(BaseModel):
    start: datetime
    opened: int
    closed: int
    by_severity: dict[str, SeverityCounts]  # severity ("1" … "5") → counts; only severities seen


class AlertTrend(BaseModel):
    tenant_id: str
    hours: int
    bucket: TrendBucket
    buckets: list[TrendBucketCounts]  # oldest first


async def alert_trend(
    conn: asyncpg.Connection, tenant_id: str, hours: int, bucket: TrendBucket, now: datetime
) -> AlertTrend:
    rows = await conn.fetch(_TREND, tenant_id, hours, bucket, now)
    buckets: dict[datetime, TrendBucketCounts] = {}
    for r in rows:
        b = buckets.setdefault(
            r["start"], TrendBucketCounts(start=r["start"], opened=0, closed=0, by_severity={})
        )
        if r["severity"] is None:  # the axis row of an empty bucket
            continue
        b.opened += r["opened"]
        b.closed += r["closed"]
        b.by_severity[str(r["severity"])] = SeverityCounts(opened=r["opened"], closed=r["closed"])
    return AlertTrend(tenant_id=tenant_id, hours=hours, bucket=bucket, buckets=list(buckets.values()))


# $1 tenant, $2 hours, $3 'hour' | 'day', $4 now. date_trunc(…, 'UTC') buckets by UTC whatever the
# session's time zone.
_TREND = """
WITH bounds AS (
    SELECT date_trunc($3, $4::timestamptz - make_interval(hours => $2), 'UTC') AS first,
           date_trunc($3, $4::timestamptz, 'UTC') AS last,
           ('1 ' || $3)::interval AS width
),
axis AS (
    SELECT generate_series(b.first, b.last, b.width) AS start FROM bounds b
),
events AS (
    SELECT date_trunc($3, a.created_at, 'UTC') AS start, a.severity, 1 AS opened, 0 AS closed
      FROM alerts a, bounds b
     WHERE a.tenant_id = $1 AND a.created_at >= b.first AND a.created_at < b.last + b.width
    UNION ALL
    SELECT date_trunc($3, a.closed_at, 'UTC'), a.severity, 0, 1
      FROM alerts a, bounds b
     WHERE a.tenant_id = $1 AND a.closed_at IS NOT NULL AND a.closed_at >= b.first AND a.closed_at < b.last + b.width
),
counted AS (
    SELECT start, severity, sum(opened)::int AS opened, sum(closed)::int AS closed
      FROM events GROUP BY 1, 2
)
SELECT x.start, c.severity, c.opened, c.closed
  FROM axis x LEFT JOIN counted c ON c.start = x.start
 ORDER BY x.start, c.severity
"""
