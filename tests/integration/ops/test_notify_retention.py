"""Delivery history retention: COMPLETED jobs and the log after `delivery_retention_days`, FAILED dead
letters after twice that, pending work never; stale rate-limit rows and idle token buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse.db.tx import operator_tx
from pulse.ops.service import prune
from tests.factories import make_alert, make_integration, make_tenant
from tests.integration.notify.helpers import fetch


async def test_old_delivery_history_is_pruned_and_pending_work_kept(pool):
    tenant = await make_tenant(pool)
    integration, _ = await make_integration(pool, tenant, {"url": "https://hooks.example.com/x"})
    alert = await make_alert(pool, tenant)
    now = datetime.now(UTC)
    ages = {"COMPLETED": (10, 40), "FAILED": (40, 70), "PENDING": (90,)}  # days since the last update
    async with operator_tx(pool, "test") as conn:
        for status, days in ages.items():
            for age in days:
                await conn.execute(
                    "INSERT INTO delivery_jobs (tenant_id, alert_id, integration_id, event, status, payload_json,"
                    " idempotency_key) VALUES ($1, $2, $3::uuid, 'OPEN', $4, '{}', $5)",
                    tenant,
                    alert,
                    integration,
                    status,
                    f"{status}-{age}",
                )
        await conn.execute(
            "INSERT INTO rate_limits (tenant_id, action, created_at) VALUES ($1, 'x', $2), ($1, 'y', $3)",
            tenant,
            now - timedelta(hours=2),
            now,
        )
        await conn.execute("SELECT pulse_reserve_token('idle', 1, 1)")
        await conn.execute("UPDATE notify_rate_buckets SET updated_at = $1", now - timedelta(days=2))
    async with pool.acquire() as conn, conn.transaction():  # backdate past the updated_at trigger
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "UPDATE delivery_jobs SET updated_at = $1::timestamptz - make_interval(days => split_part(idempotency_key, '-', 2)::int)",
            now,
        )
    assert await prune(pool, "pulse_prune_notifications", now) == 3  # two jobs, one rate-limit row
    kept = await fetch(pool, "SELECT idempotency_key FROM delivery_jobs ORDER BY idempotency_key")
    assert [r["idempotency_key"] for r in kept] == ["COMPLETED-10", "FAILED-40", "PENDING-90"]
    assert [r["action"] for r in await fetch(pool, "SELECT action FROM rate_limits")] == ["y"]
    assert await fetch(pool, "SELECT key FROM notify_rate_buckets") == []
