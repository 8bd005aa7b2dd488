"""The escalation worker: fires the due level of each open, unacknowledged alert, exactly once.

One transaction per batch (OnCall's "one step per claim, fenced", set-based):
- claim: OPEN alerts whose `next_escalation_at` has passed, `FOR UPDATE SKIP LOCKED`, so several
  workers (processes) share the due alerts and never take the same one;
- decide per alert: silenced → hold until the silence ends (OnCall's behaviour: the escalation
  resumes if the alert is still unacknowledged); its device in a maintenance window → hold and look
  again in `HOLD_RECHECK`; otherwise fire the next level of the snapshot;
- advance the alert — level, `escalated_at`, snapshot progress, the next due time and a fresh
  `escalation_run_id` — in an UPDATE that only matches while the run id is still the one claimed
  (acknowledge, close and "escalate now" rotate it), so a stale claim is a no-op;
- in the same transaction: acknowledge links and delivery jobs for everyone the level reaches (the
  notification engine sends them, with retries, dead letters and re-drive), and an
  `escalation_events` row saying who was notified through what, or why nobody could be.
A worker that dies mid-batch rolls the whole batch back: the alerts are still due and the next claim
fires them, so no level is lost and none fires twice. The ESCALATED alert event written by the
trigger on `alerts` still flows to routes and routing rules through the dispatcher, as before.

Code that reads the clock takes `now`, so tests and the benchmark drive time without waiting.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from pulse import metrics
from pulse.db.tx import operator_tx
from pulse.escalation import ack_links
from pulse.escalation.people import Person, contact_routes
from pulse.escalation.snapshot import EscalationSnapshot, SnapshotError, read_snapshot
from pulse.escalation.targets import Reached, resolve_level, user_ids_wanted
from pulse.evaluator.maintenance import MaintenanceWindow, load_windows, suppressed
from pulse.log import get_logger
from pulse.notify.events import AlertEvent
from pulse.oncall.store import load_schedules

ACTOR = "service:escalation"
HOLD_RECHECK = timedelta(minutes=1)
log = get_logger("pulse.escalation")


def utcnow() -> datetime:
    return datetime.now(UTC)


def job_key(tenant_id: str, alert_id: int, fired: int, target: str) -> str:
    """One job per (alert, fire, target): a retried batch inserts nothing new."""
    return hashlib.sha256(
        f"{tenant_id}\x1f{alert_id}\x1fescalation\x1f{fired}\x1f{target}".encode()
    ).hexdigest()


@dataclass
class _Tenant:
    """What firing needs to know about one tenant in this batch, loaded once."""

    schedules: dict = field(default_factory=dict)
    people: dict[uuid.UUID, Person] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)  # enabled channel id → kind
    windows: tuple[MaintenanceWindow, ...] = ()
    devices: dict[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)


@dataclass
class _Step:
    """The decision for one claimed alert."""

    row: asyncpg.Record
    snapshot: EscalationSnapshot | None
    due: datetime | None
    event: str  # fired | held | stopped
    details: dict[str, Any] = field(default_factory=dict)
    reached: list[Reached] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    level: int | None = None


class Escalator:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        base_url: str,
        link_ttl: timedelta = timedelta(hours=24),
        batch: int = 200,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._pool = pool
        self.base_url = base_url
        self.link_ttl = link_ttl
        self.batch = batch
        self.clock = clock
        self.more = False  # the last pass claimed a full batch: call again

    async def fire_due(self, now: datetime | None = None) -> int:
        """One batch; returns how many alerts were claimed (fired, held or stopped)."""
        now = now or self.clock()
        async with operator_tx(self._pool, ACTOR) as conn:
            rows = await conn.fetch(
                """SELECT id, tenant_id, site_id, device_id, alert_type, severity, summary, silenced_until,
                          escalation_snapshot, escalation_run_id, next_escalation_at
                     FROM alerts
                    WHERE status = 'OPEN' AND next_escalation_at <= $1
                    ORDER BY next_escalation_at
                    LIMIT $2 FOR UPDATE SKIP LOCKED""",
                now,
                self.batch,
            )
            self.more = len(rows) == self.batch
            if not rows:
                return 0
            tenants = await self._load(conn, rows, now)
            steps = [self._decide(row, tenants[row["tenant_id"]], now) for row in rows]
            await self._write(conn, steps, tenants, now)
        for step in steps:
            if step.event == "fired":
                metrics.ESCALATION_FIRES.inc()
                metrics.ESCALATION_LATENESS.observe(
                    max(0.0, (now - step.row["next_escalation_at"]).total_seconds())
                )
        return len(rows)

    async def seconds_until_due(self, cap: float) -> float:
        async with operator_tx(self._pool, ACTOR) as conn:
            due = await conn.fetchval(
                """SELECT extract(epoch FROM min(next_escalation_at) - now()) FROM alerts
                    WHERE status = 'OPEN' AND next_escalation_at IS NOT NULL"""
            )
        return cap if due is None else min(cap, max(0.0, float(due)))

    async def _load(
        self, conn: asyncpg.Connection, rows: list[asyncpg.Record], now: datetime
    ) -> dict[str, _Tenant]:
        tenants: dict[str, _Tenant] = {}
        for tenant_id in {r["tenant_id"] for r in rows}:
            mine = [r for r in rows if r["tenant_id"] == tenant_id]
            snapshots = [_parse(r) for r in mine]
            levels = [s.next_level for s in snapshots if s is not None and s.next_level is not None]
            schedule_ids = {t.id for lv in levels for t in lv.targets if t.type == "schedule"}
            t = _Tenant()
            t.schedules = await load_schedules(conn, tenant_id, schedule_ids) if schedule_ids else {}
            wanted = (
                set().union(*(user_ids_wanted(lv, now, t.schedules) for lv in levels)) if levels else set()
            )
            t.people = await contact_routes(conn, tenant_id, wanted) if wanted else {}
            t.channels = {
                r["channel_id"]: r["channel_type"]
                for r in await conn.fetch(
                    "SELECT channel_id, channel_type FROM notification_channels WHERE tenant_id = $1 AND is_enabled",
                    tenant_id,
                )
            }
            t.windows = await load_windows(conn, tenant_id)
            if t.windows:
                t.devices = {
                    r["device_id"]: (r["device_type"], tuple(r["group_ids"]))
                    for r in await conn.fetch(
                        """SELECT d.device_id, d.device_type,
                                  ARRAY(SELECT m.group_id FROM device_group_members m
                                         WHERE m.tenant_id = d.tenant_id AND m.device_id = d.device_id) AS group_ids
                             FROM device_registry d WHERE d.tenant_id = $1 AND d.device_id = ANY($2::text[])""",
                        tenant_id,
                        sorted({r["device_id"] for r in mine}),
                    )
                }
            tenants[tenant_id] = t
        return tenants

    def _decide(self, row: asyncpg.Record, tenant: _Tenant, now: datetime) -> _Step:
        snapshot = _parse(row)
        if snapshot is None or snapshot.next_level is None:
            reason = "snapshot_invalid" if snapshot is None else "exhausted"
            return _Step(row, snapshot, None, "stopped", {"reason": reason})
        held = snapshot.progress.held
        if row["silenced_until"] is not None and row["silenced_until"] > now:
            until = row["silenced_until"]
            return _Step(
                row,
                _held(snapshot, "silenced"),
                until,
                "held" if held != "silenced" else "",
                {"reason": "silenced", "until": until.isoformat()},
            )
        device_type, groups = tenant.devices.get(row["device_id"], (None, ()))
        if tenant.windows and suppressed(tenant.windows, now, row["site_id"], device_type, groups):
            return _Step(
                row,
                _held(snapshot, "maintenance"),
                now + HOLD_RECHECK,
                "held" if held != "maintenance" else "",
                {"reason": "maintenance"},
            )
        level = snapshot.next_level
        resolution = resolve_level(level, now, tenant.schedules, tenant.people, tenant.channels)
        advanced, due = snapshot.after_fire(now)
        return _Step(
            row,
            advanced,
            due,
            "fired",
            {
                "due_at": row["next_escalation_at"].isoformat(),
                "pass": snapshot.progress.pass_,
                "problems": [p.to_json() for p in resolution.problems],
                "exhausted": due is None,
            },
            resolution.people,
            resolution.channels,
            level.level,
        )

    async def _write(
        self, conn: asyncpg.Connection, steps: list[_Step], tenants: dict[str, _Tenant], now: datetime
    ) -> None:
        # 1. advance every alert, fenced by the run id that was claimed
        advanced = await conn.fetch(
            """UPDATE alerts a
                  SET escalation_snapshot = u.snapshot::jsonb,
                      next_escalation_at = u.due,
                      escalation_level = COALESCE(u.level, a.escalation_level),
                      escalated_at = CASE WHEN u.level IS NULL THEN a.escalated_at ELSE $7 END,
                      escalation_run_id = gen_random_uuid()
                 FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::timestamptz[], $6::int[])
                      AS u(tenant_id, id, run_id, snapshot, due, level)
                WHERE a.tenant_id = u.tenant_id AND a.id = u.id AND a.status = 'OPEN'
                  AND a.escalation_run_id IS NOT DISTINCT FROM u.run_id
            RETURNING a.id""",
            [s.row["tenant_id"] for s in steps],
            [s.row["id"] for s in steps],
            [s.row["escalation_run_id"] for s in steps],
            [None if s.snapshot is None else orjson.dumps(s.snapshot.to_json()).decode() for s in steps],
            [s.due for s in steps],
            [s.level for s in steps],
            now,
        )
        done = {r["id"] for r in advanced}
        steps = [s for s in steps if s.row["id"] in done]
        fired = [s for s in steps if s.event == "fired"]
        event_ids = await _escalated_event_ids(conn, fired)
        jobs = await self._create_jobs(conn, fired, tenants, event_ids, now)
        await conn.executemany(
            # stamped when recorded, just before the commit: for a fired level, `created_at - due_at` is
            # how late it fired
            """INSERT INTO escalation_events (tenant_id, alert_id, level_number, event, details, created_at)
               VALUES ($1, $2, $3, $4, $5, clock_timestamp())""",
            [
                (
                    s.row["tenant_id"],
                    s.row["id"],
                    s.level,
                    s.event,
                    {**s.details, **jobs.get(s.row["id"], {})},
                )
                for s in steps
                if s.event
            ],
        )

    async def _create_jobs(
        self,
        conn: asyncpg.Connection,
        fired: list[_Step],
        tenants: dict[str, _Tenant],
        event_ids: dict[int, int],
        now: datetime,
    ) -> dict[int, dict[str, Any]]:
        """Links and delivery jobs for the fired levels; returns per alert what was sent where."""
        links = await ack_links.create_links(
            conn,
            [(s.row["tenant_id"], s.row["id"], x.person.user_id) for s in fired for x in s.reached],
            now + self.link_ttl,
        )
        rows: list[tuple] = []
        notified: dict[int, dict[str, list]] = {}
        for step in fired:
            r = step.row
            event = AlertEvent(
                event_id=event_ids.get(r["id"], 0),
                tenant_id=r["tenant_id"],
                alert_id=r["id"],
                event="ESCALATED",
                status="OPEN",
                site_id=r["site_id"],
                device_id=r["device_id"],
                alert_type=r["alert_type"],
                severity=r["severity"],
                summary=r["summary"],
                created_at=now,
                actor=ACTOR,
                details={"escalation_level": step.level},
            ).to_json()
            fired_no = step.snapshot.progress.fired if step.snapshot else 0
            record = notified.setdefault(r["id"], {"notified": [], "channels": []})
            channel_kinds = tenants[r["tenant_id"]].channels
            for reached in step.reached:
                person = reached.person
                for route in person.routes:
                    if route.kind == "channel" and route.channel_id not in channel_kinds:
                        continue  # a disabled personal channel: the others still reach them
                    kind = "email" if route.kind == "email" else channel_kinds[route.channel_id]
                    target = f"user:{person.user_id}:{route.kind}:{route.email or route.channel_id}"
                    rows.append(
                        (
                            r["tenant_id"],
                            r["id"],
                            orjson.dumps({"kind": kind, "event": event}).decode(),
                            job_key(r["tenant_id"], r["id"], fired_no, target),
                            route.channel_id,
                            route.email,
                            person.user_id,
                            links[(r["id"], person.user_id)],
                            step.level,
                        )
                    )
                    record["notified"].append(
                        {
                            "user_id": str(person.user_id),
                            "username": person.username,
                            "via": reached.via,
                            "route": route.kind,
                            "email": route.email,
                            "channel_id": route.channel_id,
                            "key": rows[-1][3],
                        }
                    )
            for channel_id in step.channels:
                rows.append(
                    (
                        r["tenant_id"],
                        r["id"],
                        orjson.dumps({"kind": channel_kinds[channel_id], "event": event}).decode(),
                        job_key(r["tenant_id"], r["id"], fired_no, f"channel:{channel_id}"),
                        channel_id,
                        None,
                        None,
                        None,
                        step.level,
                    )
                )
                record["channels"].append({"channel_id": channel_id, "key": rows[-1][3]})
        if not rows:
            return notified
        created = await conn.fetch(
            """INSERT INTO delivery_jobs (tenant_id, alert_id, event, payload_json, idempotency_key, channel_id,
                                          recipient, user_id, ack_link_id, escalation_level)
               SELECT t, a, 'ESCALATED', p::jsonb, k, c, e, u, l, lv
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                             $7::uuid[], $8::uuid[], $9::int[]) AS x(t, a, p, k, c, e, u, l, lv)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING idempotency_key, job_id""",
            *[list(column) for column in zip(*rows, strict=True)],
        )
        job_ids = {r["idempotency_key"]: r["job_id"] for r in created}
        for record in notified.values():
            for entry in [*record["notified"], *record["channels"]]:
                entry["job_id"] = job_ids.get(entry.pop("key"))
        return notified


def _parse(row: asyncpg.Record) -> EscalationSnapshot | None:
    stored = row["escalation_snapshot"]
    try:
        return read_snapshot(orjson.loads(stored) if isinstance(stored, str) else stored)
    except (SnapshotError, orjson.JSONDecodeError) as exc:
        log.warning("unreadable escalation snapshot; escalation stops", alert_id=row["id"], error=str(exc))
        return None


def _held(snapshot: EscalationSnapshot, reason: str) -> EscalationSnapshot:
    return snapshot.model_copy(update={"progress": snapshot.progress.model_copy(update={"held": reason})})


async def _escalated_event_ids(conn: asyncpg.Connection, fired: list[_Step]) -> dict[int, int]:
    """The ESCALATED alert event each fire just wrote (through the trigger on `alerts`)."""
    if not fired:
        return {}
    rows = await conn.fetch(
        """SELECT DISTINCT ON (e.alert_id) e.alert_id, e.id
             FROM alert_events e JOIN unnest($1::text[], $2::bigint[]) AS f(tenant_id, id)
                  ON e.tenant_id = f.tenant_id AND e.alert_id = f.id
            WHERE e.event = 'ESCALATED'
            ORDER BY e.alert_id, e.id DESC""",
        [s.row["tenant_id"] for s in fired],
        [s.row["id"] for s in fired],
    )
    return {r["alert_id"]: r["id"] for r in rows}
