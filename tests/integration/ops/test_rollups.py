"""Telemetry rollups (pulse/ops/rollups.py) and the chart query that reads them: on the same rows, the
rollup-backed answer equals the raw computation — across the rolled-up minutes, a part-minute at the
start, the tail not yet rolled up and late rows — and each row is rolled up exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from pulse.api.queries.telemetry import BUCKET_WIDTH, Bucket, BucketPoint, bucketed_history
from pulse.db.tx import operator_tx, tenant_tx
from pulse.ops import rollups
from pulse.ops import service as ops_service
from pulse.ops.rollups import roll_up

A, B = "tenant-a", "tenant-b"
NOW = datetime.now(UTC)
T0 = NOW.replace(second=0, microsecond=0) - timedelta(hours=2)


@pytest.fixture(autouse=True)
def _clock() -> None:
    """NOW and T0 as of each test (data near "now" must not turn into late rows in a long run)."""
    global NOW, T0
    NOW = datetime.now(UTC)
    T0 = NOW.replace(second=0, microsecond=0) - timedelta(hours=2)


COLUMNS = ("time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics")

# The chart query as it was before rollups: every bucket straight from the raw rows. `$7`/`$8` optionally
# leave out the rows the rollup cannot have yet (received after its watermark, time before covered_to).
REFERENCE = """
SELECT date_bin($5::interval, t.time, timestamptz 'epoch') AS bucket, m.key AS metric,
       min(m.num) AS min, max(m.num) AS max, sum(m.num) / count(m.num) AS avg,
       (array_agg(m.num ORDER BY t.time DESC))[1] AS last, count(*) AS count
  FROM telemetry t
 CROSS JOIN LATERAL (
       SELECT k.key, CASE WHEN jsonb_typeof(k.value) = 'number' AND abs((k.value)::numeric) < 1e300
                          THEN (k.value)::double precision END AS num
         FROM (SELECT e.key, e.value FROM jsonb_each(t.metrics) e WHERE $4::text[] IS NULL
               UNION ALL
               SELECT s.key, t.metrics -> s.key FROM unnest($4::text[]) s(key)) k
       OFFSET 0) m
 WHERE t.tenant_id = $1 AND t.device_id = $2 AND t.time >= $3 AND t.time < $6
   AND t.msg_type = 'telemetry' AND m.num IS NOT NULL
   AND ($7::timestamptz IS NULL OR t.received < $7 OR t.time >= $8)
 GROUP BY 1, 2
 ORDER BY 2, 1
"""


async def reference(pool, tenant, device, start, end, bucket, metrics, state=None):
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            REFERENCE, tenant, device, start, metrics, BUCKET_WIDTH[bucket], end, *(state or (None, None))
        )
    series: dict[str, list[BucketPoint]] = {}
    for r in rows:
        series.setdefault(r["metric"], []).append(
            BucketPoint(
                time=r["bucket"], min=r["min"], max=r["max"], avg=r["avg"], last=r["last"], count=r["count"]
            )
        )
    return series


async def chart(pool, tenant, device, start, end, bucket, metrics):
    async with tenant_tx(pool, tenant) as conn:  # as the API reads it: pulse_app under RLS
        return await bucketed_history(conn, tenant, device, start, end, bucket, metrics)


async def insert(pool, rows) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.copy_records_to_table("telemetry", records=rows, columns=COLUMNS)


async def run_pass(pool, **kwargs):
    async with operator_tx(pool, "test") as conn:
        return await roll_up(conn, lag=timedelta(0), **kwargs)


async def state(pool) -> tuple[datetime, datetime]:
    async with operator_tx(pool, "test") as conn:
        row = await conn.fetchrow("SELECT rolled_to, covered_to FROM telemetry_rollup_state")
    return row["rolled_to"], row["covered_to"]


def row(t: datetime, value, device="dev-1", tenant=A, msg_type="telemetry", **extra):
    # Multiples of 1/4: every sum is exact in float8, whatever order it is added in.
    return (t, tenant, device, "site-1", msg_type, 0, {"temp": value, **extra})


def history(n: int, start: datetime, step: timedelta, device="dev-1", tenant=A):
    return [
        row(
            start + k * step,
            (k % 37) * 0.25 - 3,
            device,
            tenant,
            hum=float(k % 11),
            label="x",  # never aggregated
            flag=True,
            huge=1e301,  # too big for the chart: left out by both paths
        )
        for k in range(n)
    ]


CASES = [
    (bucket, metrics)
    for bucket in (Bucket.ONE_MINUTE, Bucket.FIVE_MINUTES, Bucket.ONE_HOUR, Bucket.ONE_DAY)
    for metrics in (None, ["temp"], ["hum", "temp", "nope"], ["label", "huge"])
]


async def assert_same(pool, start, end, state_filter=None, device="dev-1") -> None:
    for bucket, metrics in CASES:
        expected = await reference(pool, A, device, start, end, bucket, metrics, state_filter)
        assert await chart(pool, A, device, start, end, bucket, metrics) == expected, (bucket, metrics)


async def test_rollup_backed_chart_equals_raw_with_tail_and_late_rows(pool) -> None:
    # Two hours every 10 s for dev-1, noise for another device and another tenant, and a heartbeat.
    await insert(pool, history(720, T0, timedelta(seconds=10)))
    await insert(pool, history(100, T0, timedelta(seconds=40), device="dev-2"))
    await insert(pool, history(100, T0, timedelta(seconds=40), tenant=B))
    await insert(pool, [row(T0 + timedelta(seconds=5), 999.0, msg_type="heartbeat")])
    start, end = T0 + timedelta(seconds=17.5), NOW + timedelta(minutes=1)  # not on minute boundaries

    done = await run_pass(pool)
    assert done is not None and done.rollup_rows > 0
    rolled_to, covered_to = await state(pool)
    assert covered_to > T0 + timedelta(hours=1, minutes=50)  # the two hours are rolled up
    await assert_same(pool, start, end)

    # The tail: rows newer than the watermark are read raw.
    tail_start = NOW - timedelta(seconds=50)
    await insert(pool, history(8, tail_start, timedelta(seconds=5)))
    await assert_same(pool, start, end)

    # Late rows for minutes already rolled up (a device flushing its buffer): one below the minute's
    # min, one above its max, one newer than the minute's last sample, one older. Until the next pass
    # the chart lacks them (and only them); after it, the chart equals the raw rows again.
    late_minute = T0 + timedelta(minutes=7)
    late = [
        row(late_minute + timedelta(seconds=3), -100.0),
        row(late_minute + timedelta(seconds=59), 100.0),
        row(T0 + timedelta(minutes=40, seconds=1), 0.5, hum=2.25),
        row(T0 + timedelta(minutes=40, seconds=55), 1.75),
    ]
    await insert(pool, late)
    await assert_same(pool, start, end, state_filter=(rolled_to, covered_to))
    assert await chart(pool, A, "dev-1", start, end, Bucket.ONE_MINUTE, ["temp"]) != await reference(
        pool, A, "dev-1", start, end, Bucket.ONE_MINUTE, ["temp"]
    )

    assert await run_pass(pool) is not None
    await assert_same(pool, start, end)
    minute = (
        await chart(
            pool, A, "dev-1", late_minute, late_minute + timedelta(minutes=1), Bucket.ONE_MINUTE, None
        )
    )["temp"]
    assert [(p.min, p.max, p.last, p.count) for p in minute] == [(-100.0, 100.0, 100.0, 8)]

    # Nothing counted twice: another pass with nothing new changes nothing.
    await run_pass(pool)
    await assert_same(pool, start, end)
    await assert_same(pool, T0, NOW, device="dev-2")


async def test_ranges_inside_a_minute_and_unknown_devices(pool) -> None:
    await insert(pool, history(120, T0, timedelta(seconds=10)))
    await run_pass(pool)
    for start, end in [
        (T0 + timedelta(seconds=5), T0 + timedelta(seconds=35)),  # inside one minute
        (T0 + timedelta(seconds=30), T0 + timedelta(minutes=1, seconds=30)),  # across one boundary
        (T0, T0 + timedelta(minutes=3)),  # exact minutes
        (T0 - timedelta(days=2), T0 + timedelta(minutes=3)),  # before any data
    ]:
        await assert_same(pool, start, end)
    assert await chart(pool, A, "nobody", T0, NOW, Bucket.ONE_MINUTE, None) == {}
    # tenant B sees nothing of tenant A's rollup
    assert await chart(pool, B, "dev-1", T0, NOW, Bucket.ONE_MINUTE, None) == {}


async def test_numeric_rules_match_the_chart(pool) -> None:
    await insert(
        pool,
        [
            (T0, A, "dev-1", "s", "telemetry", 0, {"a": 1.5, "b": "2", "c": None, "d": 1e300, "e": -1e299}),
            (T0 + timedelta(seconds=1), A, "dev-1", "s", "telemetry", 0, {"a": 2, "d": 5, "f": [1]}),
        ],
    )
    await run_pass(pool)
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            "SELECT metric, count, min, max, sum, last FROM telemetry_rollup_1m ORDER BY 1"
        )
    assert [tuple(r) for r in rows] == [
        ("a", 2, 1.5, 2.0, 3.5, 2.0),
        ("d", 1, 5.0, 5.0, 5.0, 5.0),
        ("e", 1, -1e299, -1e299, -1e299, -1e299),
    ]


async def test_an_open_transaction_holds_the_watermark_back(pool) -> None:
    """A row written by a transaction that began before the pass but commits after it is rolled up by
    the next pass — not skipped because the watermark moved past its `received`."""
    async with pool.acquire() as writer:
        tx = writer.transaction()
        await tx.start()
        began = await writer.fetchval("SELECT now()")
        await writer.execute(
            "INSERT INTO telemetry (time, tenant_id, device_id, site_id, metrics) VALUES ($1, $2, 'dev-1', 's', $3)",
            T0,
            A,
            {"temp": 1.0},
        )
        await asyncio.sleep(0.05)
        await insert(pool, [row(T0 + timedelta(seconds=1), 2.0)])  # committed, but after `began`
        done = await run_pass(pool)
        assert done is None or done.rolled_to <= began
        await tx.commit()
    await run_pass(pool)
    series = await chart(pool, A, "dev-1", T0, NOW, Bucket.ONE_MINUTE, ["temp"])
    assert [(p.count, p.last) for p in series["temp"]] == [(2, 2.0)]
    assert (await state(pool))[1] > T0  # and it really is read from the rollup
    await assert_same(pool, T0, NOW)


async def test_two_passes_at_once_do_not_double_count(pool) -> None:
    await insert(pool, history(60, T0, timedelta(seconds=10)))
    async with operator_tx(pool, "test") as first:
        assert await roll_up(first, lag=timedelta(0)) is not None
        # a second ops copy ticking at the same moment skips its pass
        assert await run_pass(pool) is None
    await run_pass(pool)  # nothing new
    await assert_same(pool, T0, NOW)
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT sum(count) FROM telemetry_rollup_1m WHERE metric = 'temp'") == 60


async def test_rollups_past_retention_are_deleted(pool) -> None:
    old = datetime.now(UTC) - timedelta(days=45)
    kept = datetime.now(UTC) - timedelta(days=29)
    async with operator_tx(pool, "test") as conn:
        for bucket in (old, kept):
            await conn.execute(
                """INSERT INTO telemetry_rollup_1m (tenant_id, device_id, metric, bucket, count, min, max, sum,
                                                    last, last_time)
                   VALUES ($1, 'dev-1', 'temp', date_bin('1 minute', $2::timestamptz, 'epoch'), 1, 1, 1, 1, 1, $2)""",
                A,
                bucket,
            )
    done = await run_pass(pool)
    assert done is not None and done.expired_rows == 1
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM telemetry_rollup_1m") == 1


async def test_the_ops_loop_rolls_up(pool) -> None:
    await insert(pool, history(30, T0, timedelta(seconds=10)))
    task = asyncio.create_task(rollups.run_loop(pool, interval=0.05))
    try:
        for _ in range(200):
            async with operator_tx(pool, "test") as conn:
                if await conn.fetchval("SELECT count(*) FROM telemetry_rollup_1m"):
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the rollup loop did not run a pass")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await assert_same(pool, T0, NOW)


async def test_a_backlog_is_rolled_up_in_bounded_passes(pool) -> None:
    await run_pass(pool)  # the first pass starts from '-infinity' and takes everything there is
    for k in range(3):  # three transactions, 50 ms apart
        await insert(pool, history(20, T0 + timedelta(minutes=10 * k), timedelta(seconds=10)))
        await asyncio.sleep(0.05)
    async with operator_tx(pool, "test") as conn:
        after = await conn.fetchval("SELECT now()")  # later than every row's `received`
    passes = 0
    while (await state(pool))[0] < after:  # each pass moves the watermark 40 ms at most
        done = await run_pass(pool, max_span=timedelta(milliseconds=40))
        assert done is not None
        passes += 1
    assert passes >= 3
    await assert_same(pool, T0, NOW)


async def test_the_ops_service_runs_both_loops(pool, settings) -> None:
    task = asyncio.create_task(ops_service.run(settings))
    try:
        for _ in range(400):
            if (await state(pool))[0].tzinfo is not None:  # moved off '-infinity'
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the ops service ran no rollup pass")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
