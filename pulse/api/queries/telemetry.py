"""Telemetry history: raw rows, or time buckets with min/max/avg/last per numeric metric.

Buckets are computed from the raw, day-partitioned `telemetry` table with `date_bin`, using the
(tenant_id, device_id, time) index; a request may span at most MAX_BUCKETS buckets, so the work per
request is bounded whatever range is asked for.
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
    rows = await conn.fetch(
        """SELECT date_bin($5::interval, t.time, timestamptz 'epoch') AS bucket, m.key AS metric,
                  -- sum/count, not avg(): float8 avg() also sums squares and overflows above ~1e154.
                  min(m.num) AS min, max(m.num) AS max, sum(m.num) / count(m.num) AS avg,
                  (array_agg(m.num ORDER BY t.time DESC))[1] AS last, count(*) AS count
             FROM telemetry t
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
            WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $3 AND t.time < $6
              AND t.msg_type = 'telemetry' AND m.num IS NOT NULL
            GROUP BY 1, 2
            ORDER BY 2, 1""",
        tenant_id,
        device_id,
        start,
        list(dict.fromkeys(metrics)) if metrics is not None else None,  # a key named twice counts once
        BUCKET_WIDTH[bucket],
        end,
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
