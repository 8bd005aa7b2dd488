"""Two evaluators at once, and an evaluator restarted mid-breach: never a duplicate alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pulse.db.listen import listener
from pulse.db.tx import operator_tx
from pulse.evaluator.service import Evaluator
from tests.factories import make_alert_rule, make_device
from tests.integration.evaluator.conftest import start_evaluator, stop
from tests.integration.evaluator.helpers import alerts, telemetry, wait_evaluated
from tests.integration.ingest.helpers import publish, wait_for


async def test_two_evaluators_open_each_alert_once(ingest, ingest_settings, pool, settings, tenant):
    devices = [await make_device(pool, tenant, f"dev-{i}") for i in range(20)]
    await make_alert_rule(pool, metric_name="t", operator="GT", threshold=50)
    first, task_a = await start_evaluator(pool, settings)
    second, task_b = await start_evaluator(pool, settings)
    try:
        for value in (60, 40, 70):  # open, close, open again: two alerts per device
            await publish(ingest_settings, [telemetry(d, t=value) for d in devices])
            for d in devices:
                await wait_for(lambda d=d, value=value: _value_is(pool, d, value))
                await wait_evaluated(first, pool, d)
                await wait_evaluated(second, pool, d)
        # Both also sweep at the same moment: one takes the lock, the other skips.
        results = await asyncio.gather(
            first.sweep_once(datetime.now(UTC) + timedelta(seconds=40)),
            second.sweep_once(datetime.now(UTC) + timedelta(seconds=40)),
        )
        assert sorted(results) == [-1, 20] or sorted(results) == [0, 20]
    finally:
        await stop(task_a)
        await stop(task_b)
    rows = await alerts(pool, alert_type="THRESHOLD")
    assert len(rows) == 40
    for d in devices:
        mine = [a["status"] for a in rows if a["device_id"] == d.device_id]
        assert mine == ["CLOSED", "OPEN"]
    assert len(await alerts(pool, alert_type="NO_HEARTBEAT")) == 20
    assert first.stats["errors"] == second.stats["errors"] == 0


async def test_restart_mid_breach_no_duplicate_and_duration_continues(
    ingest, ingest_settings, pool, settings, device
):
    await make_alert_rule(pool, name="now", metric_name="t", operator="GT", threshold=50)
    await make_alert_rule(
        pool, name="slow", metric_name="t", operator="GT", threshold=50, duration_seconds=3600
    )
    first, task = await start_evaluator(pool, settings)
    await publish(ingest_settings, [telemetry(device, t=60)])
    await wait_evaluated(first, pool, device)
    await stop(task)
    async with operator_tx(pool, "test") as conn:
        since = await conn.fetchval(
            "SELECT breach_since FROM alert_rule_state WHERE device_id = $1", device.device_id
        )
    assert since is not None

    # A fresh process: no memory, re-evaluates every device of the tenant at start.
    again = Evaluator(pool, listener(settings.database_url))
    task = asyncio.create_task(again.run(sweeps=False))
    try:
        await wait_evaluated(again, pool, device)
        await publish(ingest_settings, [telemetry(device, t=61)])
        await wait_for(lambda: _value_is(pool, device, 61))
        await wait_evaluated(again, pool, device)
    finally:
        await stop(task)
    [alert] = await alerts(pool)
    assert alert["details"]["rule_name"] == "now" and alert["status"] == "OPEN"
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            "SELECT breach_since FROM alert_rule_state WHERE device_id = $1", device.device_id
        )
    assert {r["breach_since"] for r in rows} == {since}  # the 1-hour rule still counts from the first sample


async def _value_is(pool, device, value) -> bool:
    async with operator_tx(pool, "test") as conn:
        state = await conn.fetchval("SELECT state FROM device_state WHERE device_id = $1", device.device_id)
    return state is not None and state.get("t") == value


async def test_unique_index_is_the_last_line_of_defence(pool, tenant):
    """Even without the lock, a second open of the same fingerprint is a no-op, not an error."""
    from pulse.alerts.lifecycle import AlertSpec, open_alerts

    await make_device(pool, tenant, "dev-1")
    spec = AlertSpec("acme", "site-1", "dev-1", "THRESHOLD", "RULE:x:dev-1", 3, "hot")
    now = datetime.now(UTC)

    async def once():
        async with operator_tx(pool, "test") as conn:
            return await open_alerts(conn, [spec, spec], now)

    results = await asyncio.gather(*(once() for _ in range(5)))
    assert sum(len(r) for r in results) == 1
    assert len(await alerts(pool)) == 1
