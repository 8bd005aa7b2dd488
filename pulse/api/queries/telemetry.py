"""Telemetry history: raw rows, or time buckets with min/max/avg/last per numeric metric.

Buckets of 1 minute and wider read whole minutes from the per-minute rollup `telemetry_rollup_1m`
(maintained by the ops service, pulse/ops/rollups.py) up to its `covered_to` watermark, and only the
rest — a part-minute at the start, the minutes not yet rolled up at the end — from the raw,
day-partitioned `telemetry` table via the (tenant_id, device_id, time) index. The result is the same
as aggregating the raw rows; a request may span at most MAX_BUCKETS buckets, so the work per request
is bounded whatever range is asked for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
from pydantic import BaseModel

MAX_BUCKETS = 10_000
MAX_METRICS = 20


class Bucket(StrEnum):
    RAW = "raw"
    ONE_MINUTE = "1m"
    FIVE_MINUTES = "5m"
    ONE_HOUR = "1h"
    ONE_DAY = "1d"


BUCKET_WIDTH = {
    Bucket.ONE_MINUTE: timedelta(minutes=1),
    Bucket.FIVE_MINUTES: timedelta(minutes=5),
    Bucket.ONE_HOUR: timedelta(hours=1),
    Bucket.ONE_DAY: timedelta(days=1),
}


class RawPoint(BaseModel):
    time: datetime
    msg_type: str
    seq: int | None
    metrics: dict[str, Any]


class BucketPoint(BaseModel):
    time: datetime
    min: float
    max: float
    avg: float
    last: float
    count: int


class TelemetryHistory(BaseModel):
    device_id: str
    bucket: Bucket
    start: datetime
    end: datetime
    raw: list[RawPoint] | None = None  # bucket=raw, newest first
    series: dict[str, list[BucketPoint]] | None = None  # other buckets, oldest first


class LatestTelemetry(BaseModel):
    device_id: str
    telemetry: list[RawPoint]
    count: int


def bucket_count(start: datetime, end: datetime, bucket: Bucket) -> int:
    return int((end - start) / BUCKET_WIDTH[bucket]) + 1


async def raw_history(
    conn: asyncpg.Connection,
    tenant_id: str,
    device_id: str,
    start: datetime,
    end: datetime,
    metrics: list[str] | None,
    limit: int,
) -> list[RawPoint]:
    rows = await conn.fetch(
        """SELECT time, msg_type, seq,
                  CASE WHEN $4::text[] IS NULL THEN metrics
                       ELSE (SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb)
                               FROM jsonb_each(metrics) WHERE key = ANY($4)) END AS metrics
             FROM telemetry
            WHERE tenant_id = $1 AND device_id = $2 AND time >= $3 AND time < $5 AND msg_type = 'telemetry'
            ORDER BY time DESC LIMIT $6""",
        tenant_id,
        device_id,
        start,
        metrics,
        end,
        limit,
    )
    return [RawPoint(**dict(r)) for r in rows]


async def bucketed_history(
    conn: asyncpg.Connection,
    tenant_id: str,
    device_id: str,
    start: datetime,
    end: datetime,
    bucket: Bucket,
    metrics: list[str] | None,
) -> dict[str, list[BucketPoint]]:
    """Per metric, the buckets that have numeric samples. Non-numeric values are left out."""
    lo, hi = await rollup_range(conn, start, end)
    rows = await conn.fetch(
        _BUCKETED,
        tenant_id,
        device_id,
        start,
        list(dict.fromkeys(metrics)) if metrics is not None else None,  # a key named twice counts once
        BUCKET_WIDTH[bucket],
        end,
        lo,
        hi,
    )
    series: dict[str, list[BucketPoint]] = {}
    for r in rows:
        if len(series) >= MAX_METRICS * 5 and r["metric"] not in series:
            continue  # a device reporting hundreds of keys: bound the answer
        series.setdefault(r["metric"], []).append(
            BucketPoint(
                time=r["bucket"], min=r["min"], max=r["max"], avg=r["avg"], last=r["last"], count=r["count"]
            )
        )
    return series


async def rollup_range(conn: asyncpg.Connection, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[lo, hi): the whole minutes of [start, end) the rollup covers; the rest is read raw.

    Computed before the main query so that it has plain ranges: each raw part is then an index range
    scan (a range computed inside the query made the planner scan the whole range)."""
    lo, hi = await conn.fetchrow(_SPLIT, start, end)
    return lo, hi


# Whole minutes in [lo, hi) come from telemetry_rollup_1m: lo is the first minute boundary at or after
# the start, hi the last one at or before the end but not past the rollup's `covered_to` (hi = lo: no
# minute to take). The rest — the part-minute at the start, and the not yet rolled-up tail up to the
# end — is read raw, as two index range scans. Both give per-bucket partials (min, max, sum, count, last
# with its time) that the outer query merges, so the answer is the one the raw rows alone would give.
_SPLIT = """
SELECT a.lo, greatest(a.lo, least(date_bin('1 minute', $2::timestamptz, timestamptz 'epoch'), s.covered_to)) AS hi
  FROM telemetry_rollup_state s
 CROSS JOIN (SELECT date_bin('1 minute', $1::timestamptz - interval '1 microsecond', timestamptz 'epoch')
                    + interval '1 minute' AS lo) a
"""

_BUCKETED = """
WITH device_metrics AS (  -- every metric the device has rollups for (one index probe each), when none is named
    SELECT COALESCE($4::text[], ARRAY(
        WITH RECURSIVE k(metric) AS (
            SELECT min(metric) FROM telemetry_rollup_1m WHERE tenant_id = $1 AND device_id = $2
            UNION ALL
            SELECT (SELECT min(r.metric) FROM telemetry_rollup_1m r
                     WHERE r.tenant_id = $1 AND r.device_id = $2 AND r.metric > k.metric)
              FROM k WHERE k.metric IS NOT NULL)
        SELECT metric FROM k WHERE metric IS NOT NULL)) AS keys
),
parts AS (
    SELECT date_bin($5::interval, r.bucket, timestamptz 'epoch') AS bucket, r.metric,
           min(r.min) AS min, max(r.max) AS max, sum(r.sum) AS sum, sum(r.count)::bigint AS count,
           (array_agg(r.last ORDER BY r.last_time DESC))[1] AS last, max(r.last_time) AS last_time
      FROM device_metrics d, telemetry_rollup_1m r
     WHERE r.tenant_id = $1 AND r.device_id = $2 AND r.metric = ANY(d.keys) AND r.bucket >= $7 AND r.bucket < $8
     GROUP BY 1, 2
    UNION ALL
    SELECT date_bin($5::interval, t.time, timestamptz 'epoch'), m.key,
           min(m.num), max(m.num), sum(m.num), count(*),
           (array_agg(m.num ORDER BY t.time DESC))[1], max(t.time)
      FROM (SELECT t.time, t.metrics FROM telemetry t
             WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $3 AND t.time < least($7, $6)
               AND t.msg_type = 'telemetry'
            UNION ALL
            SELECT t.time, t.metrics FROM telemetry t
             WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $8 AND t.time < $6
               AND t.msg_type = 'telemetry') t
     CROSS JOIN LATERAL (
           -- CASE fixes the order: only numbers are cast, and only those a double can hold
           SELECT k.key, CASE WHEN jsonb_typeof(k.value) = 'number' AND abs((k.value)::numeric) < 1e300
                              THEN (k.value)::double precision END AS num
             FROM (-- every key, or only the selected ones, looked up rather than searched for
                   SELECT e.key, e.value FROM jsonb_each(t.metrics) e WHERE $4::text[] IS NULL
                   UNION ALL
                   SELECT s.key, t.metrics -> s.key FROM unnest($4::text[]) s(key)) k
           -- OFFSET 0 keeps the subquery from being flattened into the outer query, where `num`
           -- would be computed again for the filter and for every aggregate (5 times per row)
           OFFSET 0) m
     WHERE m.num IS NOT NULL
     GROUP BY 1, 2
)
-- sum/count, not avg(): float8 avg() also sums squares and overflows above ~1e154.
SELECT bucket, metric, min(min) AS min, max(max) AS max, sum(sum) / sum(count)::bigint AS avg,
       (array_agg(last ORDER BY last_time DESC))[1] AS last, sum(count)::bigint AS count
  FROM parts
 GROUP BY 1, 2
 ORDER BY 2, 1
"""


async def latest(conn: asyncpg.Connection, tenant_id: str, device_id: str, count: int) -> list[RawPoint]:
    rows = await conn.fetch(
        """SELECT time, msg_type, seq, metrics FROM telemetry
            WHERE tenant_id = $1 AND device_id = $2 AND msg_type = 'telemetry'
            ORDER BY time DESC LIMIT $3""",
        tenant_id,
        device_id,
        count,
    )
    return [RawPoint(**dict(r)) for r in rows]
