"""Heartbeat rows every Pulse process writes: one `service_health` row per service it runs
(`<service>@<host>:<pid>`) every `HEARTBEAT_SECONDS`, removed when it stops cleanly. The ops service reads
them to open SYSTEM_HEALTH alerts for processes gone quiet (`pulse/ops/platform_health.py`). Each row's
`details.counters` holds the process's totals (`metrics.process_totals`, the same in every row of one
process), which the system-metrics collector sums once per process (`pulse/ops/system_metrics.py`)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence

import asyncpg

from pulse import __version__, metrics
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS, run_every

log = get_logger("pulse.health")

HEARTBEAT_SECONDS = 10.0


def instance_names(services: Sequence[str]) -> list[str]:
    where = f"{socket.gethostname()}:{os.getpid()}"
    return [f"{name}@{where}" for name in services]


async def report_alive(pool: asyncpg.Pool, services: Sequence[str]) -> None:
    """Heartbeat rows for this process's services until cancelled; then remove them."""
    names = instance_names(services)

    async def beat() -> None:
        async with operator_tx(pool, "service:health") as conn:
            await conn.execute(
                """INSERT INTO service_health (service, status, details, checked_at)
                   SELECT s, 'healthy', $2, now() FROM unnest($1::text[]) s
                   ON CONFLICT (service) DO UPDATE
                      SET status = 'healthy', details = EXCLUDED.details, checked_at = now()""",
                names,
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "version": __version__,
                    "counters": metrics.process_totals(),
                },
            )

    try:
        await run_every(
            HEARTBEAT_SECONDS,
            beat,
            log=log,
            failure="could not report service health",
            expected=OUTAGE_ERRORS,
        )
    finally:
        try:
            async with asyncio.timeout(3), operator_tx(pool, "service:health") as conn:
                await conn.execute("DELETE FROM service_health WHERE service = ANY($1::text[])", names)
        except Exception as exc:  # stopping anyway; the row then ages into an alert, which is right
            log.warning("could not remove service health rows", error=str(exc))
