"""Rule backtests: the stored telemetry a backtest replays, read within fixed bounds.

Which data: raw messages when the window holds at most RAW_ROW_CAP of them for the devices in scope
(counted with a LIMIT, so the count itself is bounded) — exact, the evaluator saw each message; else
the per-minute rollup (plus the not yet rolled-up tail, aggregated per minute from raw rows), at most
MINUTE_ROW_CAP minute rows. Beyond that, or past STATEMENT_TIMEOUT_MS for any statement, the answer is
422 `backtest_too_large`: a tenant cannot make the database read unbounded data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pulse.errors import PulseError
from pulse.evaluator.replay import Sample, minute_values
from pulse.evaluator.rules import MetricMapping, Rule, normalize

RAW_ROW_CAP = 100_000
MINUTE_ROW_CAP = 300_000
STATEMENT_TIMEOUT_MS = 5_000


def too_large(what: str) -> PulseError:
    return PulseError(
        422, "backtest_too_large", f"{what}; narrow the backtest to one device (device_id) or fewer hours"
    )


async def bound_statements(conn: asyncpg.Connection) -> None:
    """Every later statement of this request's transaction gets at most STATEMENT_TIMEOUT_MS."""
    await conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")


async def devices_in_scope(
    conn: asyncpg.Connection, tenant_id: str, rule: Rule, device_id: str | None
) -> list[str]:
    """The tenant's active devices the rule applies to (its site, device type and group filters)."""
    rows = await conn.fetch(
        """SELECT r.device_id, r.site_id, r.device_type,
                  ARRAY(SELECT m.group_id FROM device_group_members m
                         WHERE m.tenant_id = r.tenant_id AND m.device_id = r.device_id) AS group_ids
             FROM device_registry r
            WHERE r.tenant_id = $1 AND r.decommissioned_at IS NULL AND ($2::text IS NULL OR r.device_id = $2)
            ORDER BY r.device_id""",
        tenant_id,
        device_id,
    )
    return [r["device_id"] for r in rows if rule.applies_to(r["site_id"], r["device_type"], r["group_ids"])]


async def tenant_mappings(conn: asyncpg.Connection, tenant_id: str) -> tuple[MetricMapping, ...]:
    rows = await conn.fetch(
        """SELECT raw_metric, normalized_name, multiplier, offset_value FROM metric_mappings
            WHERE tenant_id = $1 ORDER BY id""",
        tenant_id,
    )
    return tuple(
        MetricMapping(r["raw_metric"], r["normalized_name"], float(r["multiplier"]), float(r["offset_value"]))
        for r in rows
    )


def source_metrics(rule: Rule, mappings: Sequence[MetricMapping]) -> list[str]:
    """The stored keys the rule's metrics come from: themselves, and the raw metrics mapped to them."""
    keys = set(rule.metrics)
    keys |= {m.raw_metric for m in mappings if m.normalized_name in rule.metrics}
    return sorted(keys)


async def raw_rows_within_cap(
    conn: asyncpg.Connection, tenant_id: str, devices: list[str], start: datetime, end: datetime
) -> bool:
    count = await conn.fetchval(
        """SELECT count(*) FROM (
               SELECT 1 FROM telemetry
                WHERE tenant_id = $1 AND device_id = ANY($2) AND time >= $3 AND time < $4 AND msg_type = 'telemetry'
                LIMIT $5) capped""",
        tenant_id,
        devices,
        start,
        end,
        RAW_ROW_CAP + 1,
    )
    return count <= RAW_ROW_CAP


@dataclass(frozen=True, slots=True)
class DeviceSamples:
    device_id: str
    samples: list[Sample]


async def raw_samples(
    conn: asyncpg.Connection,
    tenant_id: str,
    devices: list[str],
    start: datetime,
    end: datetime,
    keys: list[str],
    mappings: Sequence[MetricMapping],
) -> list[DeviceSamples]:
    """Every telemetry message in the window (each one is an evaluation), its values normalized as
    the evaluator normalizes them; only the keys the rule reads are fetched."""
    rows = await conn.fetch(
        """SELECT device_id, time,
                  (SELECT COALESCE(jsonb_object_agg(k, metrics -> k), '{}') FROM unnest($5::text[]) k
                    WHERE metrics ? k) AS metrics
             FROM telemetry
            WHERE tenant_id = $1 AND device_id = ANY($2) AND time >= $3 AND time < $4 AND msg_type = 'telemetry'
            ORDER BY device_id, time
            LIMIT $6""",
        tenant_id,
        devices,
        start,
        end,
        keys,
        RAW_ROW_CAP + 1,
    )
    if len(rows) > RAW_ROW_CAP:
        raise too_large(f"more than {RAW_ROW_CAP} telemetry messages")
    by_device: dict[str, list[Sample]] = defaultdict(list)
    for r in rows:
        by_device[r["device_id"]].append(Sample(r["time"], normalize(r["metrics"], mappings)))
    return [DeviceSamples(d, s) for d, s in by_device.items()]


async def minute_samples(
    conn: asyncpg.Connection,
    tenant_id: str,
    devices: list[str],
    start: datetime,
    end: datetime,
    keys: list[str],
    mappings: Sequence[MetricMapping],
) -> list[DeviceSamples]:
    """One sample per device and minute with data: min, max and last per metric, from the rollup up to
    its `covered_to` and from raw rows after it."""
    rows = await conn.fetch(_MINUTES, tenant_id, devices, keys, start, end, MINUTE_ROW_CAP + 1)
    if len(rows) > MINUTE_ROW_CAP:
        raise too_large(f"more than {MINUTE_ROW_CAP} metric minutes")
    by_device: dict[str, list[Sample]] = defaultdict(list)
    minute: dict[str, tuple[float, float, float]] = {}
    previous: tuple[str, datetime] | None = None
    for r in rows:  # ordered by device and minute: one sample per run of equal (device, minute)
        current = (r["device_id"], r["bucket"])
        if previous is not None and current != previous:
            by_device[previous[0]].append(Sample(previous[1], minute_values(minute, mappings)))
            minute = {}
        minute[r["metric"]] = (r["min"], r["max"], r["last"])
        previous = current
    if previous is not None:
        by_device[previous[0]].append(Sample(previous[1], minute_values(minute, mappings)))
    return [DeviceSamples(d, s) for d, s in by_device.items()]


# $1 tenant, $2 devices, $3 metric keys, $4 start (a minute boundary), $5 end, $6 row cap.
_MINUTES = """
WITH covered AS (SELECT greatest($4::timestamptz, least($5::timestamptz, covered_to)) AS upto
                   FROM telemetry_rollup_state)
SELECT r.device_id, r.bucket, r.metric, r.min, r.max, r.last
  FROM telemetry_rollup_1m r, covered c
 WHERE r.tenant_id = $1 AND r.device_id = ANY($2) AND r.metric = ANY($3) AND r.bucket >= $4 AND r.bucket < c.upto
UNION ALL
SELECT t.device_id, date_bin('1 minute', t.time, timestamptz 'epoch'), m.key, min(m.num), max(m.num),
       (array_agg(m.num ORDER BY t.time DESC))[1]
  FROM covered c, telemetry t
 CROSS JOIN LATERAL (
       SELECT s.key, CASE WHEN jsonb_typeof(t.metrics -> s.key) = 'number'
                           AND abs((t.metrics -> s.key)::numeric) < 1e300
                          THEN (t.metrics -> s.key)::double precision END AS num
         FROM unnest($3::text[]) s(key)
       OFFSET 0) m
 WHERE t.tenant_id = $1 AND t.device_id = ANY($2) AND t.time >= c.upto AND t.time < $5
   AND t.msg_type = 'telemetry' AND m.num IS NOT NULL
 GROUP BY 1, 2, 3
ORDER BY 1, 2
LIMIT $6
"""
