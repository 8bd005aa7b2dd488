"""The `ops` service: platform housekeeping. Today: telemetry/system-metrics partitions ahead of time
and retention; later issues add service health checks and platform metrics here."""

from __future__ import annotations

import asyncio

from pulse.config import Settings
from pulse.db.partitions import maintain_partitions
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.log import get_logger

log = get_logger("pulse.ops")


async def run(settings: Settings) -> None:
    pool = await create_pool(settings, min_size=0, max_size=2)
    try:
        while True:
            try:
                async with operator_tx(pool, "service:ops") as conn:
                    changes = await maintain_partitions(conn, days_ahead=settings.partition_days_ahead)
                for change in changes:
                    log.info("partition " + change.action, partition=change.partition)
            except (TimeoutError, OSError) as exc:
                # The database being away slows housekeeping down; it must not stop the service.
                log.warning("partition maintenance failed; will retry", error=str(exc))
            except Exception:
                log.exception("partition maintenance failed; will retry")
            await asyncio.sleep(settings.partition_interval_seconds)
    finally:
        await pool.close()
