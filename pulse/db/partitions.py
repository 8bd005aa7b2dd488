"""Daily partitions for `telemetry` and `system_metrics`: created ahead, dropped past retention.

The work is done by the SQL function `pulse_maintain_partitions` (see the telemetry migration) so that it
is atomic, takes its own advisory lock and reads retention from `app_settings`; the ops service calls it
on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class PartitionChange:
    action: str  # "created" | "dropped"
    partition: str


async def maintain_partitions(
    conn: asyncpg.Connection, *, now: datetime | None = None, days_ahead: int = 3
) -> list[PartitionChange]:
    rows = await conn.fetch(
        "SELECT action, partition_name FROM pulse_maintain_partitions(COALESCE($1, now()), $2)",
        now,
        days_ahead,
    )
    return [PartitionChange(r["action"], r["partition_name"]) for r in rows]
