"""SYSTEM_HEALTH alerts when a service process stops reporting, closed when it is back."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from pulse.db import service_health
from pulse.db.service_health import instance_names, report_alive
from pulse.db.tx import operator_tx
from pulse.ops.platform_health import SYSTEM_TENANT, check_platform_health


async def _alerts(conn) -> list:
    return await conn.fetch(
        "SELECT device_id, alert_type, status, severity FROM alerts WHERE tenant_id = $1 ORDER BY id",
        SYSTEM_TENANT,
    )


async def test_report_alive_writes_then_removes_its_rows(pool, monkeypatch) -> None:
    monkeypatch.setattr(service_health, "HEARTBEAT_SECONDS", 0.05)
    task = asyncio.create_task(report_alive(pool, ["ingest", "api"]))
    await asyncio.sleep(0.3)
    async with operator_tx(pool, "test") as conn:
        rows = {
            r["service"]: r["status"] for r in await conn.fetch("SELECT service, status FROM service_health")
        }
    assert rows == dict.fromkeys(instance_names(["ingest", "api"]), "healthy")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM service_health") == 0  # a clean stop is not a fault


async def test_silent_service_opens_one_alert_and_recovery_closes_it(pool) -> None:
    async with operator_tx(pool, "test") as conn:
        now = await conn.fetchval("SELECT now()")
        await conn.execute(
            "INSERT INTO service_health (service, status, checked_at) VALUES ('ingest@h:1', 'healthy', $1), "
            "('api@h:1', 'healthy', $2)",
            now - timedelta(minutes=2),
            now,
        )
        assert await check_platform_health(conn, now) == (["ingest@h:1"], ["api@h:1"])
        assert [tuple(r) for r in await _alerts(conn)] == [("ingest@h:1", "SYSTEM_HEALTH", "OPEN", 5)]
        assert (
            await conn.fetchval("SELECT name FROM tenants WHERE tenant_id = $1", SYSTEM_TENANT)
            == "System Alerts"
        )

        # Still silent: no second alert. An operator may close it; it is not re-opened while still down.
        assert (await check_platform_health(conn, now + timedelta(seconds=30)))[0] == []
        assert len(await _alerts(conn)) == 1

        # The process reports again: the alert closes.
        await conn.execute(
            "UPDATE service_health SET status = 'healthy', checked_at = $1", now + timedelta(minutes=3)
        )
        await check_platform_health(conn, now + timedelta(minutes=3))
        assert [r["status"] for r in await _alerts(conn)] == ["CLOSED"]
        events = await conn.fetch(
            "SELECT event FROM alert_events WHERE tenant_id = $1 ORDER BY id", SYSTEM_TENANT
        )
    assert [e["event"] for e in events] == ["OPENED", "CLOSED"]


async def test_instances_gone_for_a_day_are_forgotten(pool) -> None:
    async with operator_tx(pool, "test") as conn:
        now = await conn.fetchval("SELECT now()")
        await conn.execute(
            "INSERT INTO service_health (service, status, checked_at) VALUES ('old@h:1', 'down', $1)",
            now - timedelta(days=2),
        )
        await check_platform_health(conn, now)
        assert await conn.fetchval("SELECT count(*) FROM service_health") == 0
