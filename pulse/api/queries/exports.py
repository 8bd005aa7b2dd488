"""Exports of devices and alerts: the rows each streams, read through a server-side cursor so an export
of any size uses constant memory, and the `report_runs` row that records a finished one."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass

import asyncpg

_PREFETCH = 500  # rows per cursor round trip


@dataclass(frozen=True)
class Export:
    name: str  # what is exported ("devices"): the JSON list's key and the file name's stem
    report_type: str  # report_runs.report_type
    columns: tuple[str, ...]  # in the order they are written
    sql: str  # $1 the tenant, then the export's own parameters


_DEVICE_COLUMNS = (
    "device_id", "name", "model", "device_type", "status", "registry_status", "site_id", "last_seen_at", "tags",
)  # fmt: skip
_ALERT_COLUMNS = (
    "alert_id", "device_id", "site_id", "alert_type", "severity", "status", "created_at", "acknowledged_at",
    "closed_at", "summary",
)  # fmt: skip

DEVICES = Export(
    name="devices",
    report_type="device_export",
    columns=_DEVICE_COLUMNS,
    # $2 connection status, $3 site (NULL: any); active devices only, by site and id
    sql="""
SELECT r.device_id, COALESCE(r.model, r.device_id) AS name, r.model, r.device_type,
       COALESCE(s.status, 'OFFLINE') AS status, r.status AS registry_status, r.site_id, s.last_seen_at,
       COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM device_tags t
                  WHERE t.tenant_id = r.tenant_id AND t.device_id = r.device_id), '{}') AS tags
  FROM device_registry r LEFT JOIN device_state s ON s.tenant_id = r.tenant_id AND s.device_id = r.device_id
 WHERE r.tenant_id = $1 AND r.status <> 'DELETED' AND r.decommissioned_at IS NULL
   AND ($2::text IS NULL OR COALESCE(s.status, 'OFFLINE') = $2) AND ($3::text IS NULL OR r.site_id = $3)
 ORDER BY r.site_id, r.device_id""",
)

ALERTS = Export(
    name="alerts",
    report_type="alert_export",
    columns=_ALERT_COLUMNS,
    # $2 statuses (NULL: any), $3 days back from now; newest first
    sql="""
SELECT id AS alert_id, device_id, site_id, alert_type, severity, status, created_at, acknowledged_at, closed_at, summary
  FROM alerts
 WHERE tenant_id = $1 AND ($2::text[] IS NULL OR status = ANY($2)) AND created_at >= now() - make_interval(days => $3)
 ORDER BY created_at DESC, id DESC""",
)


def export_rows(
    conn: asyncpg.Connection, export: Export, tenant: str, *args: object
) -> AsyncIterable[asyncpg.Record]:
    """The export's rows, fetched as they are consumed; `conn` must be in a transaction (a cursor's
    life). `args`: the export's parameters after the tenant."""
    return conn.cursor(export.sql, tenant, *args, prefetch=_PREFETCH)


async def record_run(
    conn: asyncpg.Connection, tenant: str, export: Export, actor: str, fmt: str, row_count: int
) -> None:
    """A finished export, for the tenant's report history."""
    await conn.execute(
        """INSERT INTO report_runs (tenant_id, report_type, status, triggered_by, parameters, row_count, completed_at)
           VALUES ($1, $2, 'done', $3, $4, $5, now())""",
        tenant,
        export.report_type,
        f"user:{actor}",
        {"format": fmt},
        row_count,
    )
