"""Alerts as the API shows them, and the acknowledge / close / silence transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from pulse.alerts.lifecycle import STOP_ESCALATION
from pulse.api.pagination import Page
from pulse.errors import PulseError

AlertStatus = Literal["OPEN", "ACKNOWLEDGED", "CLOSED"]
AlertType = Literal["NO_HEARTBEAT", "THRESHOLD", "SYSTEM_HEALTH", "ANOMALY", "NO_TELEMETRY"]

# What a list or export may ask for: one status, ACTIVE (not yet closed) or ALL.
StatusFilter = Literal["OPEN", "ACKNOWLEDGED", "CLOSED", "ACTIVE", "ALL"]
_STATUSES: dict[str, list[str] | None] = {
    "OPEN": ["OPEN"],
    "ACKNOWLEDGED": ["ACKNOWLEDGED"],
    "CLOSED": ["CLOSED"],
    "ACTIVE": ["OPEN", "ACKNOWLEDGED"],
    "ALL": None,
}


def statuses_for(status: StatusFilter) -> list[str] | None:
    """The stored statuses a filter stands for (None: any)."""
    return _STATUSES[status]


class AlertPublic(BaseModel):
    alert_id: int
    tenant_id: str
    device_id: str
    site_id: str
    alert_type: str
    fingerprint: str
    rule_id: str | None
    status: AlertStatus
    severity: int
    confidence: float
    summary: str
    details: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None
    silenced_until: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    escalation_level: int
    escalated_at: datetime | None


class AlertDetail(BaseModel):
    tenant_id: str
    alert: AlertPublic


class AlertList(BaseModel):
    tenant_id: str | None
    alerts: list[AlertPublic]
    count: int
    total: int
    limit: int
    offset: int


_COLUMNS = """id AS alert_id, tenant_id, device_id, site_id, alert_type, fingerprint, rule_id, status, severity,
              confidence, summary, details, created_at, closed_at, silenced_until, acknowledged_by,
              acknowledged_at, escalation_level, escalated_at"""
# $1 tenant (NULL: all), $2 statuses, $3 alert type, $4 device, $5 minimum severity, $6 site
_FILTER = """WHERE ($1::text IS NULL OR tenant_id = $1)
               AND ($2::text[] IS NULL OR status = ANY($2))
               AND ($3::text IS NULL OR alert_type = $3)
               AND ($4::text IS NULL OR device_id = $4)
               AND ($5::int IS NULL OR severity >= $5)
               AND ($6::text IS NULL OR site_id = $6)"""


def alert_from(row: asyncpg.Record) -> AlertPublic:
    return AlertPublic(**dict(row))


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a list shows; None: no restriction."""

    status: StatusFilter = "ALL"
    alert_type: str | None = None
    device_id: str | None = None
    site_id: str | None = None
    min_severity: int | None = None


async def list_alerts(
    conn: asyncpg.Connection, tenant_id: str | None, page: Page, where: AlertFilter | None = None
) -> AlertList:
    """One page of the alerts of `tenant_id` (None: every tenant — operators only), newest first, with
    the total that match."""
    where = where or AlertFilter()
    args = (
        tenant_id,
        statuses_for(where.status),
        where.alert_type,
        where.device_id,
        where.min_severity,
        where.site_id,
    )
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM alerts {_FILTER} ORDER BY created_at DESC, id DESC LIMIT $7 OFFSET $8",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM alerts {_FILTER}", *args)
    alerts = [alert_from(r) for r in rows]
    return AlertList(
        tenant_id=tenant_id,
        alerts=alerts,
        count=len(alerts),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def require_alert(conn: asyncpg.Connection, tenant_id: str | None, alert_id: int) -> AlertPublic:
    """The alert (in any tenant when `tenant_id` is None — operators only), or the API's 404."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM alerts WHERE id = $2 AND ($1::text IS NULL OR tenant_id = $1)",
        tenant_id,
        alert_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no alert {alert_id}")
    return alert_from(row)


async def acknowledge(conn: asyncpg.Connection, tenant_id: str, alert_id: int, by: str) -> AlertPublic | None:
    """OPEN → ACKNOWLEDGED. Stops escalation: next step cleared, run id rotated (fences a stale step)."""
    row = await conn.fetchrow(
        f"""UPDATE alerts SET status = 'ACKNOWLEDGED', acknowledged_by = $3, acknowledged_at = now(),
                              {STOP_ESCALATION}
             WHERE tenant_id = $1 AND id = $2 AND status = 'OPEN' RETURNING {_COLUMNS}""",
        tenant_id,
        alert_id,
        by,
    )
    return alert_from(row) if row else None


async def close(conn: asyncpg.Connection, tenant_id: str, alert_id: int, by: str) -> AlertPublic | None:
    row = await conn.fetchrow(
        f"""UPDATE alerts SET status = 'CLOSED', closed_at = now(), {STOP_ESCALATION},
                              details = details || jsonb_build_object('closed_by', $3::text)
             WHERE tenant_id = $1 AND id = $2 AND status IN ('OPEN', 'ACKNOWLEDGED') RETURNING {_COLUMNS}""",
        tenant_id,
        alert_id,
        by,
    )
    return alert_from(row) if row else None


async def silence(
    conn: asyncpg.Connection, tenant_id: str, alert_id: int, minutes: int
) -> AlertPublic | None:
    row = await conn.fetchrow(
        f"""UPDATE alerts SET silenced_until = now() + make_interval(mins => $3)
             WHERE tenant_id = $1 AND id = $2 AND status IN ('OPEN', 'ACKNOWLEDGED') RETURNING {_COLUMNS}""",
        tenant_id,
        alert_id,
        minutes,
    )
    return alert_from(row) if row else None


# What the triggers on `alerts` write to alert_events (its CHECK list)…
LifecycleEventKind = Literal["OPENED", "UPDATED", "ACKNOWLEDGED", "ESCALATED", "SILENCED", "CLOSED"]
# … and what the escalation adds to the timeline from escalation_events: who a level notified through
# what and the jobs created; a level waiting (silenced, maintenance); the escalation ending; "escalate now"
EscalationStepKind = Literal["NOTIFIED", "ESCALATION_HELD", "ESCALATION_STOPPED", "ESCALATE_NOW"]
AlertEventKind = Literal[LifecycleEventKind, EscalationStepKind]
_ESCALATION_EVENTS = {
    "fired": "NOTIFIED",
    "held": "ESCALATION_HELD",
    "stopped": "ESCALATION_STOPPED",
    "escalate_now": "ESCALATE_NOW",
}


class AlertEventPublic(BaseModel):
    event: AlertEventKind
    status: AlertStatus
    actor: str | None
    details: dict[str, Any]
    created_at: datetime
    level: int | None = None  # the escalation level an escalation entry is about


async def list_events(
    conn: asyncpg.Connection, tenant_id: str | None, alert_id: int
) -> list[AlertEventPublic]:
    """The alert's timeline, oldest first: its lifecycle events (written by the triggers on `alerts`,
    migration 041) and what its escalation did (`escalation_events`), interleaved by time."""
    rows = await conn.fetch(
        """(SELECT event, status, actor, details, created_at, NULL::int AS level, 0 AS source, id
              FROM alert_events WHERE alert_id = $2 AND ($1::text IS NULL OR tenant_id = $1)
             ORDER BY id LIMIT 1000)
           UNION ALL
           (SELECT event, 'OPEN', details ->> 'by', details, created_at, level_number, 1, id
              FROM escalation_events WHERE alert_id = $2 AND ($1::text IS NULL OR tenant_id = $1)
             ORDER BY id LIMIT 1000)
           ORDER BY created_at, source, id""",
        tenant_id,
        alert_id,
    )
    events = []
    for r in rows:
        kind = r["event"] if r["source"] == 0 else _ESCALATION_EVENTS.get(r["event"])
        if kind is not None:
            events.append(
                AlertEventPublic(
                    event=kind,
                    status=r["status"],
                    actor=r["actor"] if r["source"] == 0 else r["actor"] or "service:escalation",
                    details=r["details"],
                    created_at=r["created_at"],
                    level=r["level"],
                )
            )
    return events


async def escalate_now(
    conn: asyncpg.Connection, tenant_id: str, alert_id: int, by: str
) -> AlertPublic | None:
    """Fire the next level at once: the escalation worker is woken and takes it like any due level.
    Only an OPEN alert whose escalation has a level left (not acknowledged, closed or exhausted)."""
    row = await conn.fetchrow(
        f"""UPDATE alerts SET next_escalation_at = now()
             WHERE tenant_id = $1 AND id = $2 AND status = 'OPEN' AND next_escalation_at IS NOT NULL
         RETURNING {_COLUMNS}""",
        tenant_id,
        alert_id,
    )
    if row is None:
        return None
    await conn.execute(
        """INSERT INTO escalation_events (tenant_id, alert_id, event, details)
           VALUES ($1, $2, 'escalate_now', jsonb_build_object('by', $3::text))""",
        tenant_id,
        alert_id,
        by,
    )
    await conn.execute("SELECT pg_notify('escalation_due', $1)", tenant_id)
    return alert_from(row)
