"""Helpers for evaluator tests: snapshots with chosen times, reading alerts and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from pulse.db.tx import operator_tx
from pulse.evaluator.arrivals import Snapshot


async def alerts(pool, tenant_id: str = "acme", **where: Any) -> list[dict]:
    clauses = "".join(f" AND {k} = ${i + 2}" for i, k in enumerate(where))
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            f"SELECT * FROM alerts WHERE tenant_id = $1{clauses} ORDER BY id", tenant_id, *where.values()
        )
    return [dict(r) for r in rows]


async def events(pool, alert_id: int, tenant_id: str = "acme") -> list[str]:
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            "SELECT event FROM alert_events WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id",
            tenant_id,
            alert_id,
        )
    return [r["event"] for r in rows]


async def history(pool, device_id: str, tenant_id: str = "acme") -> list[tuple[str | None, str]]:
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            """SELECT from_status, to_status FROM device_status_history
                WHERE tenant_id = $1 AND device_id = $2 ORDER BY id""",
            tenant_id,
            device_id,
        )
    return [(r["from_status"], r["to_status"]) for r in rows]


def snap(
    device_id: str,
    metrics: dict,
    at: datetime,
    *,
    site_id: str = "site-1",
    device_type: str | None = None,
    groups: tuple[str, ...] = (),
) -> Snapshot:
    return Snapshot(device_id, site_id, device_type, groups, "ONLINE", metrics, at, at)


def telemetry(device, **metrics: float) -> tuple[str, bytes]:
    body = {"site_id": device.site_id, "provision_token": device.token, "metrics": metrics}
    return device.topic, orjson.dumps(body)


async def wait_evaluated(evaluator, pool, device) -> None:
    """Until the evaluator has evaluated the device's latest device_state row."""
    from tests.integration.ingest.helpers import wait_for

    async def done():
        async with operator_tx(pool, "test") as conn:
            seen = await conn.fetchval(
                "SELECT last_seen_at FROM device_state WHERE tenant_id = $1 AND device_id = $2",
                device.tenant_id,
                device.device_id,
            )
        return seen is not None and evaluator.evaluated_at(device.tenant_id, device.device_id) == seen

    await wait_for(done)


def heartbeat(device) -> tuple[str, bytes]:
    body = {"site_id": device.site_id, "provision_token": device.token}
    return f"tenant/{device.tenant_id}/device/{device.device_id}/heartbeat", orjson.dumps(body)
