"""Device health: ONLINE → STALE after `heartbeat_stale_seconds` without any accepted message,
STALE → OFFLINE after `offline_seconds`; ingest's upsert turns a device ONLINE again.

Thresholds come from `device_health_settings` (a device's own row, else its tenant's row with
device_id '', else 30 s / 300 s). The sweep is a range read on `device_state (status, last_seen_at)`
below the smallest threshold in force, then each candidate is checked against its own thresholds —
never a scan of every device or of telemetry. Candidates whose row is locked (ingest is writing it:
the device just spoke) are skipped. History rows and the `device_state_changed` NOTIFY come from
the triggers on `device_state` (migrations 003 and 040).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

DEFAULT_STALE_SECONDS = 30
DEFAULT_OFFLINE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Transition:
    tenant_id: str
    device_id: str
    site_id: str
    device_type: str | None
    to_status: str
    last_seen_at: datetime | None


# $1 now, $2 from-status, $3 to-status, $4 smallest threshold anywhere (seconds), $5 'stale' | 'offline'
_SWEEP = f"""
WITH candidates AS (
    SELECT ds.tenant_id, ds.device_id
      FROM device_state ds
     WHERE ds.status = $2 AND ds.last_seen_at < $1::timestamptz - make_interval(secs => $4)
     ORDER BY ds.tenant_id, ds.device_id
       FOR UPDATE SKIP LOCKED
), due AS (
    SELECT c.tenant_id, c.device_id,
           CASE WHEN $5 = 'stale'
                THEN COALESCE(dev.heartbeat_stale_seconds, ten.heartbeat_stale_seconds, {DEFAULT_STALE_SECONDS})
                ELSE COALESCE(dev.offline_seconds, ten.offline_seconds, {DEFAULT_OFFLINE_SECONDS}) END AS limit_s
      FROM candidates c
      LEFT JOIN device_health_settings dev ON dev.tenant_id = c.tenant_id AND dev.device_id = c.device_id
      LEFT JOIN device_health_settings ten ON ten.tenant_id = c.tenant_id AND ten.device_id = ''
)
UPDATE device_state ds SET status = $3, last_state_change_at = $1::timestamptz
  FROM due
 WHERE ds.tenant_id = due.tenant_id AND ds.device_id = due.device_id AND ds.status = $2
   AND ds.last_seen_at < $1::timestamptz - make_interval(secs => due.limit_s)
RETURNING ds.tenant_id, ds.device_id, ds.site_id, ds.last_seen_at,
          (SELECT r.device_type FROM device_registry r
            WHERE r.tenant_id = ds.tenant_id AND r.device_id = ds.device_id) AS device_type
"""


async def smallest_thresholds(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        f"""SELECT LEAST({DEFAULT_STALE_SECONDS}, min(heartbeat_stale_seconds)) AS stale,
                   LEAST({DEFAULT_OFFLINE_SECONDS}, min(offline_seconds)) AS offline
              FROM device_health_settings"""
    )
    return row["stale"], row["offline"]


async def sweep_status(conn: asyncpg.Connection, now: datetime) -> list[Transition]:
    """ONLINE → STALE, then STALE → OFFLINE, in the caller's transaction. A device silent past both
    thresholds (say the evaluator was down) goes through both in one call: two history rows."""
    stale_s, offline_s = await smallest_thresholds(conn)
    out: list[Transition] = []
    for from_status, to_status, smallest, kind in (
        ("ONLINE", "STALE", stale_s, "stale"),
        ("STALE", "OFFLINE", offline_s, "offline"),
    ):
        for r in await conn.fetch(_SWEEP, now, from_status, to_status, float(smallest), kind):
            out.append(
                Transition(
                    r["tenant_id"],
                    r["device_id"],
                    r["site_id"],
                    r["device_type"],
                    to_status,
                    r["last_seen_at"],
                )
            )
    return out
