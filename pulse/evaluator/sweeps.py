"""Time-based conditions, found by time-indexed range reads rather than by scanning devices:

- device health (status.py) and NO_HEARTBEAT: a device turning STALE opens one, unless a maintenance
  window covers it; it closes when the device is heard from again (arrivals.py) — `reconcile_heartbeats`
  also closes any left open for a device that is ONLINE, e.g. after a crash between the two;
- hysteresis quiet periods that ran out with no new sample to notice it (`alert_rule_state.clear_since`);
- NO_TELEMETRY: per telemetry_gap rule, the devices without telemetry since the cutoff
  (`device_state (tenant_id, last_telemetry_at)`), and for a rule on one metric, the devices whose
  telemetry since the cutoff lacks it (an index range per device, newest first, stopping at the first hit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg

from pulse.alerts.lifecycle import (
    STOP_ESCALATION,
    AlertSpec,
    close_alerts,
    heartbeat_fingerprint,
    open_alerts,
    rule_fingerprint,
)
from pulse.evaluator.maintenance import suppressed
from pulse.evaluator.status import Transition, sweep_status
from pulse.evaluator.tenant_config import TenantConfig

ConfigFor = Callable[[asyncpg.Connection, str], Awaitable[TenantConfig]]

HEARTBEAT_SEVERITY = 4
HEARTBEAT_CONFIDENCE = 0.9


def _heartbeat_spec(tenant_id: str, site_id: str, device_id: str, last_seen_at: datetime | None) -> AlertSpec:
    return AlertSpec(
        tenant_id,
        site_id,
        device_id,
        "NO_HEARTBEAT",
        heartbeat_fingerprint(device_id),
        HEARTBEAT_SEVERITY,
        f"{site_id}: {device_id} heartbeat missing/stale",
        confidence=HEARTBEAT_CONFIDENCE,
        details={"last_seen_at": last_seen_at.isoformat() if last_seen_at else None},
    )


async def close_orphans(conn: asyncpg.Connection, now: datetime) -> int:
    """Close rule alerts whose rule was deleted or disabled: nothing would ever evaluate them again."""
    result = await conn.execute(
        f"""UPDATE alerts a SET status = 'CLOSED', closed_at = $1, {STOP_ESCALATION},
                               details = a.details || '{{"close_reason": "rule removed or disabled"}}'
            WHERE a.status IN ('OPEN', 'ACKNOWLEDGED') AND a.rule_id IS NOT NULL
              AND a.alert_type IN ('THRESHOLD', 'ANOMALY', 'NO_TELEMETRY')
              AND NOT EXISTS (SELECT 1 FROM alert_rules r
                               WHERE r.tenant_id = a.tenant_id AND r.rule_id = a.rule_id AND r.enabled)""",
        now,
    )
    return int(result.split()[-1])


async def _groups(conn, tenant_id: str, device_ids: list[str]) -> dict[str, tuple[str, ...]]:
    rows = await conn.fetch(
        """SELECT device_id, array_agg(group_id) AS g FROM device_group_members
            WHERE tenant_id = $1 AND device_id = ANY($2::text[]) GROUP BY device_id""",
        tenant_id,
        device_ids,
    )
    return {r["device_id"]: tuple(r["g"]) for r in rows}


async def sweep_health(conn: asyncpg.Connection, now: datetime, config_for: ConfigFor) -> list[Transition]:
    """Status transitions and the NO_HEARTBEAT alerts they open, in the caller's transaction."""
    transitions = await sweep_status(conn, now)
    by_tenant: dict[str, list[Transition]] = defaultdict(list)
    for t in transitions:
        if t.to_status == "STALE":
            by_tenant[t.tenant_id].append(t)
    specs: list[AlertSpec] = []
    for tenant_id, stale in sorted(by_tenant.items()):
        config = await config_for(conn, tenant_id)
        groups = await _groups(conn, tenant_id, [t.device_id for t in stale]) if config.windows else {}
        for t in stale:
            if suppressed(config.windows, now, t.site_id, t.device_type, groups.get(t.device_id, ())):
                continue
            specs.append(_heartbeat_spec(tenant_id, t.site_id, t.device_id, t.last_seen_at))
    await open_alerts(conn, specs, now)
    return transitions


async def reconcile_heartbeats(
    conn: asyncpg.Connection, now: datetime, config_for: ConfigFor
) -> tuple[int, int]:
    """Repair what the transition-time logic could not see. Returns (opened, closed).

    - Close NO_HEARTBEAT alerts of devices that are ONLINE (a crash between ingest's commit and the
      evaluator's arrival pass).
    - Open NO_HEARTBEAT for STALE/OFFLINE devices with no such alert since they were last heard from:
      the window that suppressed it at the transition has ended, or an evaluator was down. A person
      closing it does not make it come back (that alert is "since last heard from").
    Reads the open NO_HEARTBEAT alerts and the non-ONLINE devices only."""
    rows = await conn.fetch(
        """SELECT a.tenant_id, a.fingerprint FROM alerts a
             JOIN device_state ds ON ds.tenant_id = a.tenant_id AND ds.device_id = a.device_id
            WHERE a.status IN ('OPEN', 'ACKNOWLEDGED') AND a.alert_type = 'NO_HEARTBEAT' AND ds.status = 'ONLINE'"""
    )
    closed = 0
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_tenant[r["tenant_id"]].append(r["fingerprint"])
    for tenant_id, fps in sorted(by_tenant.items()):
        closed += await close_alerts(conn, tenant_id, fps, now, "device online")

    missing = await conn.fetch(
        """SELECT ds.tenant_id, ds.device_id, ds.site_id, ds.last_seen_at, dr.device_type,
                  ARRAY(SELECT m.group_id FROM device_group_members m
                         WHERE m.tenant_id = ds.tenant_id AND m.device_id = ds.device_id) AS group_ids
             FROM device_state ds JOIN device_registry dr USING (tenant_id, device_id)
            WHERE ds.status IN ('STALE', 'OFFLINE') AND ds.last_seen_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM alerts a
                               WHERE a.tenant_id = ds.tenant_id AND a.device_id = ds.device_id
                                 AND a.alert_type = 'NO_HEARTBEAT' AND a.created_at > ds.last_seen_at)
            ORDER BY ds.tenant_id, ds.device_id"""
    )
    specs: list[AlertSpec] = []
    for r in missing:
        config = await config_for(conn, r["tenant_id"])
        if not suppressed(config.windows, now, r["site_id"], r["device_type"], r["group_ids"]):
            specs.append(_heartbeat_spec(r["tenant_id"], r["site_id"], r["device_id"], r["last_seen_at"]))
    opened = len(await open_alerts(conn, specs, now))
    return opened, closed


async def due_quiet_periods(conn: asyncpg.Connection, now: datetime) -> dict[str, list[tuple[str, str]]]:
    """tenant → [(rule_id, device_id)] whose clear-after-quiet period has run out."""
    rows = await conn.fetch(
        """SELECT s.tenant_id, s.rule_id, s.device_id FROM alert_rule_state s
             JOIN alert_rules r ON r.tenant_id = s.tenant_id AND r.rule_id = s.rule_id
            WHERE s.clear_since IS NOT NULL
              AND s.clear_since <= $1::timestamptz - make_interval(secs => COALESCE(r.clear_after_seconds, 0))""",
        now,
    )
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows:
        out[r["tenant_id"]].append((r["rule_id"], r["device_id"]))
    return out


async def close_quiet(
    conn: asyncpg.Connection, tenant_id: str, pairs: list[tuple[str, str]], now: datetime
) -> int:
    """Close them and forget their state; re-checks clear_since under the tenant lock the caller holds."""
    rows = await conn.fetch(
        """DELETE FROM alert_rule_state s USING unnest($2::text[], $3::text[]) AS u(r, d)
            WHERE s.tenant_id = $1 AND s.rule_id = u.r AND s.device_id = u.d AND s.clear_since IS NOT NULL
           RETURNING s.rule_id, s.device_id""",
        tenant_id,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    fps = [rule_fingerprint(r["rule_id"], r["device_id"]) for r in rows]
    return await close_alerts(conn, tenant_id, fps, now, "condition cleared")


async def gap_tenants(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT tenant_id FROM alert_rules WHERE enabled AND rule_type = 'telemetry_gap' ORDER BY 1"
    )
    return [r["tenant_id"] for r in rows]


async def sweep_gaps(conn: asyncpg.Connection, config: TenantConfig, now: datetime) -> tuple[int, int]:
    """Open NO_TELEMETRY for devices in a gap, close it for devices out of one. Returns (opened, closed)."""
    opened = closed = 0
    tenant = config.tenant_id
    for rule in config.rules_of("telemetry_gap"):
        assert rule.gap_minutes is not None
        rows = await conn.fetch(
            """SELECT ds.device_id, ds.site_id, dr.device_type,
                      ARRAY(SELECT m.group_id FROM device_group_members m
                             WHERE m.tenant_id = ds.tenant_id AND m.device_id = ds.device_id) AS group_ids,
                      CASE WHEN ds.last_telemetry_at IS NULL OR ds.last_telemetry_at < $2 THEN false
                           WHEN $3::text IS NULL THEN true
                           ELSE EXISTS (SELECT 1 FROM telemetry t
                                         WHERE t.tenant_id = ds.tenant_id AND t.device_id = ds.device_id
                                           AND t.msg_type = 'telemetry' AND t.time >= $2 AND t.metrics ? $3)
                      END AS has_data,
                      EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_id = ds.tenant_id AND a.fingerprint = $4 || ds.device_id
                                 AND a.status IN ('OPEN', 'ACKNOWLEDGED')) AS is_open
                 FROM device_state ds JOIN device_registry dr USING (tenant_id, device_id)
                WHERE ds.tenant_id = $1 AND ds.last_seen_at IS NOT NULL
                  AND (ds.last_telemetry_at IS NULL OR ds.last_telemetry_at < $2 OR $3::text IS NOT NULL
                       OR EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_id = ds.tenant_id
                                     AND a.fingerprint = $4 || ds.device_id AND a.status IN ('OPEN', 'ACKNOWLEDGED')))""",
            tenant,
            now - timedelta(minutes=rule.gap_minutes),
            rule.gap_metric,
            rule_fingerprint(rule.rule_id, ""),
        )
        specs: list[AlertSpec] = []
        to_close: list[str] = []
        what = rule.gap_metric or "telemetry"
        for r in rows:
            if not rule.applies_to(r["site_id"], r["device_type"], r["group_ids"]):
                continue
            fp = rule_fingerprint(rule.rule_id, r["device_id"])
            if r["has_data"]:
                if r["is_open"]:
                    to_close.append(fp)
            elif not r["is_open"] and not suppressed(
                config.windows, now, r["site_id"], r["device_type"], r["group_ids"]
            ):
                specs.append(
                    AlertSpec(
                        tenant,
                        r["site_id"],
                        r["device_id"],
                        "NO_TELEMETRY",
                        fp,
                        rule.severity,
                        f"{what} data gap on {r['device_id']}: no readings in last {rule.gap_minutes} minutes",
                        rule_id=rule.rule_id,
                        confidence=0.8,
                        details={
                            "rule_id": rule.rule_id,
                            "rule_name": rule.name,
                            "metric_name": rule.gap_metric,
                            "gap_minutes": rule.gap_minutes,
                        },
                    )
                )
        opened += len(await open_alerts(conn, specs, now))
        closed += await close_alerts(conn, tenant, to_close, now, "data present again")
    return opened, closed
