"""Telemetry rollups: per device, metric and UTC minute the count, min, max, sum and last numeric value.

One pass (`roll_up`) aggregates the telemetry rows *received* since the last pass and merges them into
`telemetry_rollup_1m` (migration 030), then moves the watermark:

- Order of work is `telemetry.received` (the writing transaction's start), not device time, so a late
  row — a device flushing a buffer of hour-old readings — is picked up by the next pass and merged into
  its old minute: counts and sums add, min/max widen, `last` goes to the later sample.
- The pass stops at U = min(now() - lag, start of the oldest transaction still open). Rows with
  received < U are all committed when the pass reads them, and any transaction that commits later
  started at or after U, so its rows fall into a later pass: each row is rolled up exactly once.
- `pg_try_advisory_xact_lock` keeps two ops copies from rolling the same rows; the watermark is in the
  same transaction as the merge, so a failed pass leaves nothing half done.
- `covered_to` (what readers trust) is the minute boundary `late_margin` before the watermark: a row
  arriving up to `late_margin` after its device time is never missing from a chart; one later than that
  shows from the next pass on (at most `ROLLUP_INTERVAL_SECONDS`).
- Retention: rollup minutes of the UTC days whose telemetry partitions are dropped are deleted too.

Only JSON numbers with |v| < 1e300 count, exactly as in the chart query (pulse/api/queries/telemetry.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse.db import locks
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import run_every

log = get_logger("pulse.ops.rollups")

ROLLUP_INTERVAL_SECONDS = 15.0
DEFAULT_LAG = timedelta(seconds=2)  # belt and braces when other sessions are hidden from the fence
DEFAULT_LATE_MARGIN = timedelta(minutes=2)
DEFAULT_MAX_SPAN = timedelta(minutes=2)

_MERGE = """
INSERT INTO telemetry_rollup_1m AS r (tenant_id, device_id, metric, bucket, count, min, max, sum, last, last_time)
SELECT t.tenant_id, t.device_id, m.key, date_bin('1 minute', t.time, timestamptz 'epoch'),
       count(*), min(m.num), max(m.num), sum(m.num),
       (array_agg(m.num ORDER BY t.time DESC))[1], max(t.time)
  FROM telemetry t
 CROSS JOIN LATERAL (
       SELECT e.key, CASE WHEN jsonb_typeof(e.value) = 'number' AND abs((e.value)::numeric) < 1e300
                          THEN (e.value)::double precision END AS num
         FROM jsonb_each(t.metrics) e
       OFFSET 0) m
 WHERE t.received >= $1 AND t.received < $2 AND t.msg_type = 'telemetry' AND m.num IS NOT NULL
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, device_id, metric, bucket) DO UPDATE SET
       count = r.count + excluded.count,
       min = least(r.min, excluded.min),
       max = greatest(r.max, excluded.max),
       sum = r.sum + excluded.sum,
       last = CASE WHEN excluded.last_time >= r.last_time THEN excluded.last ELSE r.last END,
       last_time = greatest(r.last_time, excluded.last_time)
"""


@dataclass(frozen=True)
class RollupPass:
    rolled_from: datetime
    rolled_to: datetime
    rollup_rows: int  # minute rows inserted or merged
    expired_rows: int  # rollup rows deleted past retention
    behind: bool  # stopped at max_span: run the next pass at once


async def roll_up(
    conn: asyncpg.Connection,
    *,
    lag: timedelta = DEFAULT_LAG,
    late_margin: timedelta = DEFAULT_LATE_MARGIN,
    max_span: timedelta = DEFAULT_MAX_SPAN,
    merge_timeout: float = 3600.0,
) -> RollupPass | None:
    """One pass, in the caller's transaction (as pulse_operator). None when another copy holds the
    lock or nothing new can be rolled up yet."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", locks.ROLLUPS):
        return None
    # The fence is read first: pg_stat_activity is sampled once per transaction, after our own start.
    # (Compared in SQL: asyncpg turns '-infinity', the initial watermark, into a naive datetime.min.)
    row = await conn.fetchrow(
        """SELECT rolled_to, upper, upper > rolled_to AS ahead, upper < fence AS behind
             FROM telemetry_rollup_state,
                  LATERAL (SELECT least(now() - $1::interval, COALESCE(pulse_oldest_open_xact(), 'infinity'))
                                  AS fence) f,
                  -- at most max_span of received rows per pass, so a pass stays short after a backlog
                  LATERAL (SELECT CASE WHEN rolled_to = '-infinity' THEN f.fence
                                       ELSE least(f.fence, rolled_to + $2::interval) END AS upper) u""",
        lag,
        max_span,
    )
    if not row["ahead"]:
        return None
    start, upper = row["rolled_to"], row["upper"]
    # The first pass after the migration takes every existing row (they share one `received`): give it
    # time beyond the pool's command timeout.
    status = await conn.execute(_MERGE, start, upper, timeout=merge_timeout)
    await conn.execute(
        """UPDATE telemetry_rollup_state
              SET rolled_to = $1::timestamptz,
                  covered_to = greatest(covered_to, date_bin('1 minute', $1::timestamptz - $2::interval, timestamptz 'epoch')),
                  updated_at = now()""",
        upper,
        late_margin,
    )
    # The UTC days telemetry partition maintenance drops (partitions ending at or before the cutoff).
    expired = await conn.execute(
        """DELETE FROM telemetry_rollup_1m
            WHERE bucket < date_bin('1 day', now() - make_interval(days => pulse_retention_days(
                                     'telemetry_retention_days', 30)), timestamptz 'epoch')"""
    )
    return RollupPass(start, upper, int(status.split()[-1]), int(expired.split()[-1]), row["behind"])


async def run_loop(pool: asyncpg.Pool, interval: float = ROLLUP_INTERVAL_SECONDS) -> None:
    """The ops service's rollup timer: a pass every `interval` seconds, forever; after a pass that stopped
    at `max_span` the next one runs at once, until the backlog is gone."""
    backlog = asyncio.Event()

    async def one_pass() -> None:
        async with operator_tx(pool, "service:ops") as conn:
            done = await roll_up(conn)
        if done and not done.behind and datetime.now(UTC) - done.rolled_to > timedelta(minutes=5):
            # a transaction held open for minutes holds the watermark back: charts stay right but
            # read more raw rows
            log.warning(
                "telemetry rollup held back by an open transaction", rolled_to=done.rolled_to.isoformat()
            )
        if done and (done.rollup_rows or done.expired_rows):
            log.debug("telemetry rolled up", rows=done.rollup_rows, expired=done.expired_rows)
        if done and done.behind:
            backlog.set()  # catch up pass after pass

    await run_every(interval, one_pass, log=log, failure="telemetry rollup failed; will retry", wake=backlog)
