"""Evaluation driven by arriving telemetry. Ingest NOTIFYs `telemetry_batch` (payload: tenant id) after
each committed batch; the service then reads that tenant's `device_state` rows heard from since its
cursor — the latest telemetry values per device (`state`, which heartbeats never touch: reference
§17.4) — and runs them through the tenant's threshold and anomaly rules here. No telemetry scan, no
per-row trigger.

Everything a decision depends on is in the database (open alerts, `alert_rule_state`), and callers
hold the tenant's advisory lock, so evaluating the same snapshot twice — an overlapping cursor, a
second evaluator, a restart — decides the same thing and changes nothing the second time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from pulse.alerts.lifecycle import (
    AlertSpec,
    close_alerts,
    heartbeat_fingerprint,
    open_alerts,
    open_fingerprints,
    rule_fingerprint,
)
from pulse.evaluator.decide import Action, RuleState, step
from pulse.evaluator.maintenance import suppressed
from pulse.evaluator.rules import Rule, describe, normalize
from pulse.evaluator.tenant_config import TenantConfig


@dataclass(frozen=True, slots=True)
class Snapshot:
    device_id: str
    site_id: str
    device_type: str | None
    group_ids: tuple[str, ...]
    status: str
    metrics: dict[str, Any]
    telemetry_at: datetime | None  # when the latest telemetry was accepted (ingest's clock)
    seen_at: datetime | None


@dataclass
class Outcome:
    opened: list[int] = field(default_factory=list)
    closed: int = 0
    suppressed: int = 0


async def load_snapshots(
    conn: asyncpg.Connection, tenant_id: str, since: datetime | None, limit: int = 5000
) -> list[Snapshot]:
    """Devices heard from after `since` (None: every device ever heard from — the restart pass)."""
    rows = await conn.fetch(
        """SELECT ds.device_id, ds.site_id, ds.status, ds.state, ds.last_telemetry_at, ds.last_seen_at,
                  dr.device_type,
                  ARRAY(SELECT m.group_id FROM device_group_members m
                         WHERE m.tenant_id = ds.tenant_id AND m.device_id = ds.device_id) AS group_ids
             FROM device_state ds JOIN device_registry dr USING (tenant_id, device_id)
            WHERE ds.tenant_id = $1 AND ds.last_seen_at > COALESCE($2, '-infinity'::timestamptz)
            ORDER BY ds.last_seen_at
            LIMIT $3""",
        tenant_id,
        since,
        limit,
    )
    return [
        Snapshot(
            r["device_id"],
            r["site_id"],
            r["device_type"],
            tuple(r["group_ids"]),
            r["status"],
            r["state"] if isinstance(r["state"], dict) else {},
            r["last_telemetry_at"],
            r["last_seen_at"],
        )
        for r in rows
    ]


async def _states(conn, tenant_id: str, device_ids: list[str]) -> dict[tuple[str, str], RuleState]:
    rows = await conn.fetch(
        """SELECT rule_id, device_id, breach_since, clear_since FROM alert_rule_state
            WHERE tenant_id = $1 AND device_id = ANY($2::text[])""",
        tenant_id,
        device_ids,
    )
    return {(r["rule_id"], r["device_id"]): RuleState(r["breach_since"], r["clear_since"]) for r in rows}


async def save_states(
    conn: asyncpg.Connection, tenant_id: str, changed: dict[tuple[str, str], RuleState], now: datetime
) -> None:
    """Upsert the states that hold something, delete the ones back to nothing (keeps the table small)."""
    keep = sorted((k, s) for k, s in changed.items() if s != RuleState())
    gone = sorted(k for k, s in changed.items() if s == RuleState())
    if keep:
        await conn.execute(
            """INSERT INTO alert_rule_state AS s (tenant_id, rule_id, device_id, breach_since, clear_since, updated_at)
               SELECT $1, u.r, u.d, u.b, u.c, $6
                 FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS u(r, d, b, c)
               ON CONFLICT (tenant_id, rule_id, device_id) DO UPDATE
                   SET breach_since = EXCLUDED.breach_since, clear_since = EXCLUDED.clear_since,
                       updated_at = EXCLUDED.updated_at""",
            tenant_id,
            [k[0] for k, _ in keep],
            [k[1] for k, _ in keep],
            [s.breach_since for _, s in keep],
            [s.clear_since for _, s in keep],
            now,
        )
    if gone:
        await conn.execute(
            """DELETE FROM alert_rule_state s USING unnest($2::text[], $3::text[]) AS u(r, d)
                WHERE s.tenant_id = $1 AND s.rule_id = u.r AND s.device_id = u.d""",
            tenant_id,
            [k[0] for k in gone],
            [k[1] for k in gone],
        )


async def _anomaly_stats(
    conn, tenant_id: str, wanted: list[tuple[str, str, int]], now: datetime
) -> dict[tuple[str, str, int], tuple[float | None, float | None, int]]:
    """(device, metric, window minutes) → (mean, sample stddev, count) of the metric's numeric values in
    the window, leaving out the newest one — the value being judged must not dilute its own baseline
    (the reference included it, so one spike could never reach a high z). One query for the whole
    batch; each part is an index range on (tenant, device, time)."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        """SELECT u.d, u.m, u.w, s.mean, s.sd, s.n
             FROM unnest($2::text[], $3::text[], $4::int[]) AS u(d, m, w)
             CROSS JOIN LATERAL (
                 SELECT avg(v) AS mean, stddev_samp(v) AS sd, count(v) AS n
                   FROM (SELECT (t.metrics ->> u.m)::float8 AS v FROM telemetry t
                          WHERE t.tenant_id = $1 AND t.device_id = u.d AND t.msg_type = 'telemetry'
                            AND t.time >= $5::timestamptz - make_interval(mins => u.w) AND t.time <= $5
                            AND jsonb_typeof(t.metrics -> u.m) = 'number'
                          ORDER BY t.time DESC OFFSET 1) x) s""",
        tenant_id,
        [w[0] for w in wanted],
        [w[1] for w in wanted],
        [w[2] for w in wanted],
        now,
    )
    return {(r["d"], r["m"], r["w"]): (r["mean"], r["sd"], r["n"]) for r in rows}


def anomaly_verdict(
    rule: Rule, latest: float | None, stats: tuple[float | None, float | None, int]
) -> tuple[bool | None, dict[str, Any]]:
    """True: anomalous; False: normal (closes); None: not enough data to say (changes nothing)."""
    cfg = rule.anomaly
    assert cfg is not None
    mean, sd, count = stats
    if latest is None or mean is None or count < max(2, cfg.min_samples):
        return None, {}
    if not sd or not math.isfinite(sd):
        return False, {}
    z = abs(latest - mean) / sd
    details = {
        "rule_id": rule.rule_id,
        "rule_name": rule.name,
        "metric_name": cfg.metric,
        "z_score": round(z, 4),
        "z_threshold": cfg.z_threshold,
        "mean": mean,
        "stddev": sd,
        "count": count,
        "latest": latest,
    }
    return z > cfg.z_threshold, details


async def evaluate_snapshots(
    conn: asyncpg.Connection, config: TenantConfig, snapshots: Sequence[Snapshot], now: datetime
) -> Outcome:
    tenant = config.tenant_id
    out = Outcome()
    if not snapshots:
        return out
    # A device heard from is ONLINE again: its NO_HEARTBEAT alert clears.
    back = [heartbeat_fingerprint(s.device_id) for s in snapshots if s.status == "ONLINE"]
    out.closed += await close_alerts(conn, tenant, back, now, "device online")

    threshold_rules = config.rules_of("threshold")
    anomaly_rules = config.rules_of("anomaly")
    pairs = [
        (rule, snap)
        for snap in snapshots
        if snap.telemetry_at is not None
        for rule in (*threshold_rules, *anomaly_rules)
        if rule.applies_to(snap.site_id, snap.device_type, snap.group_ids)
    ]
    if not pairs:
        return out
    values = {s.device_id: normalize(s.metrics, config.mappings) for s in snapshots}
    fingerprints = [rule_fingerprint(r.rule_id, s.device_id) for r, s in pairs]
    already_open = await open_fingerprints(conn, tenant, fingerprints)
    states = await _states(conn, tenant, sorted({s.device_id for _, s in pairs}))
    wanted = sorted(
        {(s.device_id, r.anomaly.metric, r.anomaly.window_minutes) for r, s in pairs if r.anomaly is not None}
    )
    stats = await _anomaly_stats(conn, tenant, wanted, now)

    changed: dict[tuple[str, str], RuleState] = {}
    to_open: list[AlertSpec] = []
    to_close: list[str] = []
    for (rule, snap), fp in zip(pairs, fingerprints, strict=True):
        vals = values[snap.device_id]
        if rule.anomaly is not None:
            cfg = rule.anomaly
            verdict, details = anomaly_verdict(
                rule,
                vals.get(cfg.metric),
                stats.get((snap.device_id, cfg.metric, cfg.window_minutes), (None, None, 0)),
            )
            if verdict is None:
                continue
            breached, cleared = verdict, not verdict
            summary = (
                f"{cfg.metric} anomaly on {snap.device_id}: value={details.get('latest', 0):.2f}, "
                f"mean={details.get('mean', 0):.2f}, stddev={details.get('stddev', 0):.2f}, "
                f"z={details.get('z_score', 0):.2f}"
                if details
                else ""
            )
            alert_type = "ANOMALY"
        else:
            breached, cleared = rule.breached(vals), rule.cleared(vals)
            summary, details = describe(rule, vals, snap.site_id, snap.device_id)
            alert_type = "THRESHOLD"
        key = (rule.rule_id, snap.device_id)
        before = states.get(key, RuleState())
        after, action = step(
            before,
            breached=breached,
            cleared=cleared,
            alert_open=fp in already_open,
            at=snap.telemetry_at,
            duration_seconds=rule.duration_seconds,
            clear_after_seconds=rule.clear_after_seconds,
        )
        if after != before:
            changed[key] = after
        if action is Action.OPEN:
            if suppressed(config.windows, now, snap.site_id, snap.device_type, snap.group_ids):
                out.suppressed += 1
                continue
            to_open.append(
                AlertSpec(
                    tenant,
                    snap.site_id,
                    snap.device_id,
                    alert_type,
                    fp,
                    rule.severity,
                    summary,
                    rule_id=rule.rule_id,
                    details=details,
                )
            )
        elif action is Action.CLOSE:
            to_close.append(fp)
    out.opened = await open_alerts(conn, to_open, now)
    out.closed += await close_alerts(conn, tenant, to_close, now, "condition cleared")
    await save_states(conn, tenant, changed, now)
    return out
