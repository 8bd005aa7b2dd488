"""Opening and closing alerts. One OPEN or ACKNOWLEDGED alert per (tenant_id, fingerprint): the
partial unique index `alerts_open_fingerprint_uq` enforces it, and every insert here says
`ON CONFLICT … DO NOTHING`, so a second evaluator, a restarted one or a race with the API can never
produce a duplicate or an error. Events (OPENED, CLOSED …) and their NOTIFY come from the triggers on
`alerts` (migration 041); nothing here writes `alert_events` directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

# Stops an escalation: no next step, and a new run id so that a worker still holding the old one finds
# its claim fenced off and does nothing. Every status change away from OPEN sets both, in the same UPDATE.
STOP_ESCALATION = "next_escalation_at = NULL, escalation_run_id = gen_random_uuid()"


@dataclass(frozen=True, slots=True)
class AlertSpec:
    tenant_id: str
    site_id: str
    device_id: str
    alert_type: str  # NO_HEARTBEAT | THRESHOLD | ANOMALY | NO_TELEMETRY | SYSTEM_HEALTH
    fingerprint: str
    severity: int
    summary: str
    rule_id: str | None = None
    confidence: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)


def rule_fingerprint(rule_id: str, device_id: str) -> str:
    return f"RULE:{rule_id}:{device_id}"


def heartbeat_fingerprint(device_id: str) -> str:
    return f"NO_HEARTBEAT:{device_id}"


async def open_alerts(conn: asyncpg.Connection, specs: Sequence[AlertSpec], now: datetime) -> list[int]:
    """Insert the alerts that are not already open; returns the new ids. A new alert inherits a silence
    still running on an earlier alert with the same fingerprint (closed and re-opened, or flapping),
    so silencing works for every alert type, NO_HEARTBEAT included."""
    if not specs:
        return []
    specs = sorted({(s.tenant_id, s.fingerprint): s for s in specs}.values(), key=lambda s: s.fingerprint)
    rows = await conn.fetch(
        """INSERT INTO alerts AS a (tenant_id, site_id, device_id, alert_type, fingerprint, rule_id, severity,
                                    confidence, summary, details, created_at, silenced_until)
           SELECT u.t, u.s, u.d, u.ty, u.f, u.r, u.sev, u.c, u.sum, u.det, $11,
                  (SELECT max(p.silenced_until) FROM alerts p
                    WHERE p.tenant_id = u.t AND p.fingerprint = u.f AND p.silenced_until > $11)
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
                         $8::real[], $9::text[], $10::jsonb[]) AS u(t, s, d, ty, f, r, sev, c, sum, det)
           ON CONFLICT (tenant_id, fingerprint) WHERE status IN ('OPEN', 'ACKNOWLEDGED') DO NOTHING
           RETURNING a.id""",
        [s.tenant_id for s in specs],
        [s.site_id for s in specs],
        [s.device_id for s in specs],
        [s.alert_type for s in specs],
        [s.fingerprint for s in specs],
        [s.rule_id for s in specs],
        [s.severity for s in specs],
        [s.confidence for s in specs],
        [s.summary for s in specs],
        [s.details for s in specs],
        now,
    )
    return [r["id"] for r in rows]


async def close_alerts(
    conn: asyncpg.Connection, tenant_id: str, fingerprints: Sequence[str], now: datetime, reason: str
) -> int:
    """Auto-close: the condition cleared. Acknowledged alerts close too; a later breach opens a new one."""
    if not fingerprints:
        return 0
    result = await conn.execute(
        f"""UPDATE alerts SET status = 'CLOSED', closed_at = $3, {STOP_ESCALATION},
                             details = details || jsonb_build_object('close_reason', $4::text)
            WHERE tenant_id = $1 AND fingerprint = ANY($2::text[]) AND status IN ('OPEN', 'ACKNOWLEDGED')""",
        tenant_id,
        sorted(set(fingerprints)),
        now,
        reason,
    )
    return int(result.split()[-1])


async def open_fingerprints(
    conn: asyncpg.Connection, tenant_id: str, fingerprints: Sequence[str]
) -> set[str]:
    if not fingerprints:
        return set()
    rows = await conn.fetch(
        """SELECT fingerprint FROM alerts
            WHERE tenant_id = $1 AND fingerprint = ANY($2::text[]) AND status IN ('OPEN', 'ACKNOWLEDGED')""",
        tenant_id,
        list(set(fingerprints)),
    )
    return {r["fingerprint"] for r in rows}
