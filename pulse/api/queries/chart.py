"""A device's chart: every metric on one shared time axis, as columns ECharts takes as they are.

`{device_id, bucket_seconds, start, end, timestamps: [epoch ms…], series: {metric: {avg, min, max}}}`,
each column as long as `timestamps`, null where a bucket has no numeric sample. The minutes come from
the per-minute rollup and the part-minute at the start plus the not yet rolled-up tail from raw rows,
exactly as in `telemetry.bucketed_history` (same split, same partial aggregates), so the numbers equal
the raw aggregation. What differs is the shape and who builds it: PostgreSQL lays the buckets out on
the axis (each value after the nulls of the empty buckets before it) and writes the series as JSON
text, which goes into the response as it is — no row objects, no models, no float re-encoding in Python.

`avg` is sent with float4 precision (about 7 significant digits, exact shortest text) — enough for any
chart and half the bytes of a float8 average; min and max are sample values and stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from pulse.api.queries.telemetry import MAX_METRICS, rollup_range

MAX_POINTS = 1_500  # per series; the automatic bucket keeps under it, an explicit one must too
MAX_RANGE = timedelta(days=30)
# The widths a chart may use: whole minutes (the rollup's grain) that divide an hour or a day evenly,
# so buckets line up with wall-clock hours and UTC days.
BUCKETS: dict[str, int] = {
    "1m": 60,
    "2m": 120,
    "5m": 300,
    "10m": 600,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "2h": 7_200,
    "3h": 10_800,
    "6h": 21_600,
    "12h": 43_200,
    "1d": 86_400,
}


@dataclass(frozen=True, slots=True)
class ChartAxis:
    start: datetime  # as asked
    end: datetime  # exclusive
    bucket_seconds: int
    first_ms: int  # start of the first bucket (epoch ms, aligned to the epoch)
    points: int

    @property
    def timestamps(self) -> list[int]:
        step = self.bucket_seconds * 1000
        return [self.first_ms + i * step for i in range(self.points)]


def points_for(start: datetime, end: datetime, bucket_seconds: int) -> int:
    """Buckets (aligned to the epoch) that [start, end) touches."""
    first = math.floor(start.timestamp() / bucket_seconds) * bucket_seconds
    return max(1, math.ceil((end.timestamp() - first) / bucket_seconds))


def auto_bucket(start: datetime, end: datetime) -> int:
    """The narrowest width that keeps the chart within MAX_POINTS."""
    for seconds in BUCKETS.values():
        if points_for(start, end, seconds) <= MAX_POINTS:
            return seconds
    return BUCKETS["1d"]  # unreachable within MAX_RANGE; the widest is the safe answer


def axis(start: datetime, end: datetime, bucket_seconds: int) -> ChartAxis:
    first = math.floor(start.timestamp() / bucket_seconds) * bucket_seconds
    return ChartAxis(start, end, bucket_seconds, first * 1000, points_for(start, end, bucket_seconds))


async def chart_series_json(
    conn: asyncpg.Connection,
    tenant_id: str,
    device_id: str,
    ax: ChartAxis,
    metrics: list[str] | None,
) -> str:
    """The `series` object as JSON text: {metric: {avg: [...], min: [...], max: [...]}}, metrics in name
    order, at most MAX_METRICS of them (the first by name when none are named)."""
    lo, hi = await rollup_range(conn, ax.start, ax.end)
    return await conn.fetchval(
        _CHART,
        tenant_id,
        device_id,
        ax.start,
        list(dict.fromkeys(metrics)) if metrics is not None else None,
        timedelta(seconds=ax.bucket_seconds),
        ax.end,
        lo,
        hi,
        ax.first_ms,
        ax.bucket_seconds * 1000,
        ax.points,
        MAX_METRICS,
    )


def chart_body(device_id: str, ax: ChartAxis, series_json: str) -> bytes:
    """The response body; the series text from PostgreSQL is spliced in as it is."""
    head = orjson.dumps(
        {
            "device_id": device_id,
            "bucket_seconds": ax.bucket_seconds,
            "start": ax.start.astimezone(UTC),
            "end": ax.end.astimezone(UTC),
            "timestamps": ax.timestamps,
        }
    )
    return head[:-1] + b',"series":' + series_json.encode() + b"}"


# $1 tenant, $2 device, $3 start, $4 metrics or NULL (all), $5 bucket width, $6 end, $7/$8 the rollup
# part [lo, hi) from rollup_range, $9 first bucket (epoch ms), $10 bucket width in ms, $11 points, $12 metric cap.
# `parts` holds telemetry._BUCKETED's partials per minute (the raw edges' minutes lie inside the range,
# so the merge per bucket gives the same numbers); date_part, not extract: float8, not numeric, per row.
_CHART = """
WITH device_metrics AS (
    SELECT COALESCE($4::text[], ARRAY(
        WITH RECURSIVE k(metric) AS (  -- every metric the device has rollups for, one index probe each
            SELECT min(metric) FROM telemetry_rollup_1m WHERE tenant_id = $1 AND device_id = $2
            UNION ALL
            SELECT (SELECT min(r.metric) FROM telemetry_rollup_1m r
                     WHERE r.tenant_id = $1 AND r.device_id = $2 AND r.metric > k.metric)
              FROM k WHERE k.metric IS NOT NULL)
        SELECT metric FROM k WHERE metric IS NOT NULL)) AS keys
),
parts AS (  -- rollup minutes as they are, raw edges aggregated per minute: one shape, merged once below
    SELECT r.bucket, r.metric, r.min, r.max, r.sum, r.count
      FROM device_metrics d, telemetry_rollup_1m r
     WHERE r.tenant_id = $1 AND r.device_id = $2 AND r.metric = ANY(d.keys) AND r.bucket >= $7 AND r.bucket < $8
    UNION ALL
    SELECT date_bin('1 minute', t.time, timestamptz 'epoch'), m.key, min(m.num), max(m.num), sum(m.num), count(*)
      FROM (SELECT t.time, t.metrics FROM telemetry t
             WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $3 AND t.time < least($7, $6)
               AND t.msg_type = 'telemetry'
            UNION ALL
            SELECT t.time, t.metrics FROM telemetry t
             WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $8 AND t.time < $6
               AND t.msg_type = 'telemetry') t
     CROSS JOIN LATERAL (
           SELECT k.key, CASE WHEN jsonb_typeof(k.value) = 'number' AND abs((k.value)::numeric) < 1e300
                              THEN (k.value)::double precision END AS num
             FROM (SELECT e.key, e.value FROM jsonb_each(t.metrics) e WHERE $4::text[] IS NULL
                   UNION ALL
                   SELECT s.key, t.metrics -> s.key FROM unnest($4::text[]) s(key)) k
           OFFSET 0) m
     WHERE m.num IS NOT NULL
     GROUP BY 1, 2
),
merged AS (  -- one row per metric and bucket, with the bucket's index on the axis
    SELECT metric, (((date_part('epoch', date_bin($5::interval, bucket, timestamptz 'epoch')) * 1000)::bigint - $9)
                    / $10)::int AS i,
           min(min) AS min, max(max) AS max, sum(sum) / sum(count) AS avg
      FROM parts
     GROUP BY metric, 2
),
charted AS (  -- the metrics with data in the range, first by name up to the cap
    SELECT metric FROM merged GROUP BY metric ORDER BY metric COLLATE "C" LIMIT $12
),
cells AS (  -- each value as JSON text, after the nulls of the empty buckets before it
    SELECT metric, i, repeat('null,', i - COALESCE(lag(i) OVER (PARTITION BY metric ORDER BY i), -1) - 1) AS gap,
           CASE WHEN abs(avg) < 1e37 THEN avg::real::text  -- the float4 text: shortest exact
                WHEN abs(avg) <= 1.7976931348623157e308 THEN avg::text
                ELSE 'null' END AS avg,  -- a sum that overflowed: no honest average
           min::text AS min, max::text AS max
      FROM merged
     WHERE metric IN (SELECT metric FROM charted)
),
columns AS (  -- the arrays, padded with the nulls of the empty buckets at the end
    SELECT metric, repeat(',null', $11 - 1 - max(i)) AS tail,
           string_agg(gap || avg, ',' ORDER BY i) AS avg,
           string_agg(gap || min, ',' ORDER BY i) AS min,
           string_agg(gap || max, ',' ORDER BY i) AS max
      FROM cells
     GROUP BY metric
)
-- Built as text rather than with json_agg over the axis: joining every bucket of the axis to the
-- values cost ~1 s (the planner merged on the metric alone); string_agg over the values is one pass.
SELECT '{' || COALESCE(string_agg(
           to_json(metric)::text || ':{"avg":[' || avg || tail || '],"min":[' || min || tail
           || '],"max":[' || max || tail || ']}', ',' ORDER BY metric), '') || '}'
  FROM columns
"""
