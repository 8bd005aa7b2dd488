"""SYSTEM_HEALTH alerts for platform faults: a service process that stops reporting.

Every Pulse process writes one `service_health` row per service it runs (`<service>@<host>:<pid>`,
`pulse/db/service_health.py`) and deletes its rows when it stops cleanly. The ops service looks for rows
that went quiet: a process that crashed, hung or lost the database for longer than `SILENT_SECONDS`.
On the healthy→down transition it opens a SYSTEM_HEALTH alert in the synthetic tenant `__system__`
(fingerprint `system-health:<service>`, severity 5); when the process reports again the alert closes.
Rows down for a day are forgotten (an instance that is gone for good).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from pulse.alerts.lifecycle import AlertSpec, close_alerts, open_alerts
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS, run_every

log = get_logger("pulse.ops")

SILENT_SECONDS = 45
WATCH_SECONDS = 15.0
SYSTEM_TENANT = "__system__"
PLATFORM_SITE = "__platform__"


def _fingerprint(service: str) -> str:
    return f"system-health:{service}"


async def check_platform_health(conn: asyncpg.Connection, now: datetime) -> tuple[list[str], list[str]]:
    """Open alerts for services gone quiet, close them for services back; returns (down, recovered)."""
    down = [
        r["service"]
        for r in await conn.fetch(
            """UPDATE service_health SET status = 'down'
                WHERE status <> 'down' AND checked_at < $1::timestamptz - make_interval(secs => $2)
            RETURNING service""",
            now,
            SILENT_SECONDS,
        )
    ]
    recovered = [
        r["service"]
        for r in await conn.fetch(
            "SELECT service FROM service_health WHERE status = 'healthy' AND checked_at >= $1::timestamptz - make_interval(secs => $2)",
            now,
            SILENT_SECONDS,
        )
    ]
    await conn.execute(
        "DELETE FROM service_health WHERE status = 'down' AND checked_at < $1::timestamptz - interval '1 day'",
        now,
    )
    if down:
        await conn.execute(
            """INSERT INTO tenants (tenant_id, name, metadata) VALUES ($1, 'System Alerts', '{"kind": "system"}')
               ON CONFLICT (tenant_id) DO NOTHING""",
            SYSTEM_TENANT,
        )
        await open_alerts(
            conn,
            [
                AlertSpec(
                    tenant_id=SYSTEM_TENANT,
                    site_id=PLATFORM_SITE,
                    device_id=service,
                    alert_type="SYSTEM_HEALTH",
                    fingerprint=_fingerprint(service),
                    severity=5,
                    summary=f"Service not reporting: {service} (silent for more than {SILENT_SECONDS} s)",
                    details={"service": service, "kind": "system_health"},
                )
                for service in down
            ],
            now,
        )
        log.warning("services stopped reporting", services=down)
    if recovered:
        await close_alerts(
            conn, SYSTEM_TENANT, [_fingerprint(s) for s in recovered], now, "service reporting again"
        )
    return down, recovered


async def watch(pool: asyncpg.Pool) -> None:
    """The ops service's check: every `WATCH_SECONDS`, alerts opened and closed in one transaction."""

    async def check() -> None:
        async with operator_tx(pool, "service:ops") as conn:
            now = await conn.fetchval("SELECT now()")
            await check_platform_health(conn, now)

    await run_every(
        WATCH_SECONDS,
        check,
        log=log,
        failure="platform health check failed; will retry",
        expected=OUTAGE_ERRORS,
    )
