"""The `ops` service: platform housekeeping on four timers (`pulse.periodic.run_every`):
- retention: telemetry/system-metrics partitions created ahead of time and dropped past retention
  (`pulse.db.partitions`), quarantined messages and old notification history pruned;
- the incremental telemetry rollups behind long-range charts (`pulse.ops.rollups`);
- a watch for service processes that stopped reporting (`pulse.ops.platform_health`, SYSTEM_HEALTH alerts);
- the platform's own time series in `system_metrics` (`pulse.ops.system_metrics`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from pulse.config import Settings
from pulse.db.partitions import maintain_partitions
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.ops import platform_health, rollups, system_metrics
from pulse.periodic import run_every

log = get_logger("pulse.ops")


async def run(settings: Settings) -> None:
    pool = await create_pool(settings, name="ops", min_size=0, max_size=3)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_retention_loop(pool, settings))
            group.create_task(rollups.run_loop(pool))
            group.create_task(platform_health.watch(pool))
            group.create_task(system_metrics.run_loop(pool, settings))
    finally:
        await pool.close()


PRUNE_CHUNK = 50_000


async def _retention_loop(pool: asyncpg.Pool, settings: Settings) -> None:
    # The database being away slows housekeeping down; it must not stop the service.
    await run_every(
        settings.partition_interval_seconds,
        lambda: _retention_pass(pool, settings),
        log=log,
        failure="partition maintenance failed; will retry",
    )


async def _retention_pass(pool: asyncpg.Pool, settings: Settings) -> None:
    async with operator_tx(pool, "service:ops") as conn:
        changes = await maintain_partitions(conn, days_ahead=settings.partition_days_ahead)
    for change in changes:
        log.info("partition " + change.action, partition=change.partition)
    pruned = await prune(pool, "pulse_prune_quarantine")
    if pruned:
        log.info("quarantine pruned", rows=pruned)
    pruned = await prune(pool, "pulse_prune_notifications")
    if pruned:
        log.info("notification history pruned", rows=pruned)


async def prune(pool: asyncpg.Pool, function: str, now: datetime | None = None) -> int:
    """Run a retention function (`pulse_prune_quarantine`: quarantine past `quarantine_retention_days`;
    `pulse_prune_notifications`: delivery history past `delivery_retention_days`) one bounded chunk per
    transaction until a chunk comes back short."""
    total = 0
    while True:
        async with operator_tx(pool, "service:ops") as conn:
            deleted = await conn.fetchval(
                f"SELECT {function}(COALESCE($1::timestamptz, now()), $2)", now, PRUNE_CHUNK
            )
        total += deleted
        if deleted < PRUNE_CHUNK:
            return total
