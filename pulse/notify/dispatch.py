"""Alert events → delivery jobs, through a durable cursor.

Cursor correctness. `alert_events.id` comes from a sequence, so ids are allocated in order but
committed in any order: a transaction holding id 10 may commit after one holding id 11, and a rolled
back one leaves id 10 missing for ever. Reading "id > cursor" and moving the cursor to the highest id
seen would lose a late-committing event. So:

- every visible event above the cursor is dispatched at once (job creation is idempotent: the
  UNIQUE idempotency key and ON CONFLICT DO NOTHING make a second dispatch of an event a no-op), so
  a gap never delays the events after it;
- the stored cursor only advances over ids that are contiguous, or over a gap known to be
  permanent. A missing id was allocated by a transaction that was already writing `alert_events`
  (the id is drawn while the trigger's INSERT runs), so that transaction holds a RowExclusiveLock on
  `alert_events` until it ends. When a gap is first seen, after the read, we note the transactions
  holding that lock: the writer of the missing id is one of them, or has already ended. Once none of
  them holds it any more, checked *before* a later read, every such writer has ended, so that read
  saw the event if it committed; still missing means rolled back, and the cursor moves past it.
  Only writers of this database's `alert_events` count, so busy neighbours on a shared PostgreSQL
  (other databases' transactions, which a cluster-wide `pg_snapshot_xmin` would wait for) never hold
  the cursor back.

Dispatchers in several processes serialise on a transaction advisory lock; gap notes are kept in
memory (a restarted dispatcher re-observes a gap, which only delays the cursor, never loses events).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from pulse import metrics
from pulse.db import locks
from pulse.notify.channels import CHANNELS
from pulse.notify.events import DELIVERY_EVENTS, AlertEvent

CURSOR_NAME = "alert_events"
BATCH = 1000


@dataclass(frozen=True)
class Route:
    route_id: str
    integration_id: str
    kind: str
    min_severity: int | None
    severities: Sequence[str]
    alert_types: Sequence[str] | None
    site_ids: Sequence[str] | None
    device_prefixes: Sequence[str] | None
    deliver_on: Sequence[str]


def route_matches(route: Route, event: AlertEvent) -> bool:
    """Reference §5.1 filters, with `severities` honoured and `deliver_on` applied to every event."""
    if event.event not in route.deliver_on:
        return False
    if route.min_severity is not None and event.severity < route.min_severity:
        return False
    if route.severities and event.severity_label not in route.severities:
        return False
    if route.alert_types and event.alert_type not in route.alert_types:
        return False
    if route.site_ids and event.site_id not in route.site_ids:
        return False
    return not (
        route.device_prefixes and not any(event.device_id.startswith(p) for p in route.device_prefixes)
    )


@dataclass(frozen=True)
class Rule:
    """A notification routing rule with its channel's kind."""

    rule_id: int
    channel_id: int
    kind: str
    min_severity: int | None
    alert_type: str | None
    tag_key: str | None
    tag_value: str | None
    deliver_on: Sequence[str]
    throttle_minutes: int


def tag_matches(tags: frozenset[str], key: str, value: str | None) -> bool:
    """Device tags are strings; `key:value` and `key=value` are the two spellings of a keyed tag. A
    rule with a key only matches the bare tag or the key with any value."""
    if value is not None:
        return f"{key}:{value}" in tags or f"{key}={value}" in tags
    return key in tags or any(t.startswith((f"{key}:", f"{key}=")) for t in tags)


def rule_matches(rule: Rule, event: AlertEvent, tags: frozenset[str]) -> bool:
    if event.event not in rule.deliver_on:
        return False
    if rule.min_severity is not None and event.severity < rule.min_severity:
        return False
    if rule.alert_type and event.alert_type != rule.alert_type:
        return False
    return rule.tag_key is None or tag_matches(tags, rule.tag_key, rule.tag_value)


def throttle_window(rules: list[Rule], event: AlertEvent) -> int:
    """Minutes within which a channel that already heard about this alert stays quiet: the smallest
    throttle of the matching rules (any unthrottled rule lets the event through). A resolution is
    never throttled — a channel that heard an alert open always hears it end."""
    if event.event == "CLOSED":
        return 0
    return min(r.throttle_minutes for r in rules)


def _key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def idempotency_key(event: AlertEvent, route: Route) -> str:
    """One job per (alert event, route): the event id makes a re-opened alert a new delivery, and the
    same event dispatched twice the same key."""
    return _key(
        event.tenant_id, event.alert_id, route.integration_id, route.route_id, event.event, event.event_id
    )


def channel_key(event: AlertEvent, channel_id: int) -> str:
    """One job per (alert event, channel), however many of the channel's rules match."""
    return _key(event.tenant_id, event.alert_id, "channel", channel_id, event.event, event.event_id)


async def load_routes(conn: asyncpg.Connection, tenant_id: str) -> list[Route]:
    rows = await conn.fetch(
        """
        SELECT r.route_id::text, r.integration_id::text, i.type, r.min_severity, r.severities,
               r.alert_types, r.site_ids, r.device_prefixes, r.deliver_on
          FROM integration_routes r JOIN integrations i USING (tenant_id, integration_id)
         WHERE r.tenant_id = $1 AND r.enabled AND i.enabled AND i.type = ANY($2::text[])
         ORDER BY r.priority, r.created_at
        """,
        tenant_id,
        sorted(CHANNELS),
    )
    return [
        Route(
            r["route_id"],
            r["integration_id"],
            r["type"],
            r["min_severity"],
            r["severities"] or [],
            r["alert_types"],
            r["site_ids"],
            r["device_prefixes"],
            r["deliver_on"],
        )
        for r in rows
    ]


async def load_rules(conn: asyncpg.Connection, tenant_id: str) -> list[Rule]:
    rows = await conn.fetch(
        """
        SELECT r.rule_id, r.channel_id, c.channel_type, r.min_severity, r.alert_type, r.device_tag_key,
               r.device_tag_val, r.deliver_on, r.throttle_minutes
          FROM notification_routing_rules r JOIN notification_channels c USING (tenant_id, channel_id)
         WHERE r.tenant_id = $1 AND r.is_enabled AND c.is_enabled AND c.channel_type = ANY($2::text[])
         ORDER BY r.rule_id
        """,
        tenant_id,
        sorted(CHANNELS),
    )
    return [Rule(*r.values()) for r in rows]


async def load_tags(
    conn: asyncpg.Connection, tenant_id: str, device_ids: set[str]
) -> dict[str, frozenset[str]]:
    rows = await conn.fetch(
        "SELECT device_id, array_agg(tag) AS tags FROM device_tags"
        " WHERE tenant_id = $1 AND device_id = ANY($2::text[]) GROUP BY device_id",
        tenant_id,
        sorted(device_ids),
    )
    return {r["device_id"]: frozenset(r["tags"]) for r in rows}


def to_event(row: asyncpg.Record) -> AlertEvent | None:
    kind = DELIVERY_EVENTS.get(row["event"])
    if kind is None:
        return None
    details = orjson.loads(row["details"]) if isinstance(row["details"], str) else dict(row["details"] or {})
    return AlertEvent(
        event_id=row["id"],
        tenant_id=row["tenant_id"],
        alert_id=row["alert_id"],
        event=kind,
        status=row["status"],
        site_id=row["site_id"],
        device_id=row["device_id"],
        alert_type=row["alert_type"],
        severity=int(details.get("severity", row["severity"])),
        summary=str(details.get("summary", row["summary"])),
        created_at=row["created_at"],
        actor=row["actor"],
        details={k: v for k, v in details.items() if k in ("close_reason", "escalation_level")},
    )


@dataclass(frozen=True)
class Job:
    tenant_id: str
    alert_id: int
    event: str
    payload: str
    key: str
    integration_id: str | None = None
    route_id: str | None = None
    channel_id: int | None = None
    rule_id: int | None = None


def payload(kind: str, event: AlertEvent) -> str:
    return orjson.dumps({"kind": kind, "event": event.to_json()}).decode()


async def plan_jobs(conn: asyncpg.Connection, events: list[AlertEvent]) -> list[Job]:
    """The jobs these events call for: per matching integration route, and per notification channel
    with a matching routing rule (throttle applied)."""
    jobs: list[Job] = []
    by_tenant: dict[str, list[AlertEvent]] = {}
    for event in events:
        by_tenant.setdefault(event.tenant_id, []).append(event)
    for tenant_id, tenant_events in by_tenant.items():
        for route in await load_routes(conn, tenant_id):
            for event in tenant_events:
                if route_matches(route, event):
                    jobs.append(
                        Job(
                            tenant_id,
                            event.alert_id,
                            event.event,
                            payload(route.kind, event),
                            idempotency_key(event, route),
                            integration_id=route.integration_id,
                            route_id=route.route_id,
                        )
                    )
        rules = await load_rules(conn, tenant_id)
        if rules:
            jobs += await _channel_jobs(conn, tenant_id, tenant_events, rules)
    return jobs


async def _channel_jobs(
    conn: asyncpg.Connection, tenant_id: str, events: list[AlertEvent], rules: list[Rule]
) -> list[Job]:
    tags: dict[str, frozenset[str]] = {}
    if any(r.tag_key for r in rules):
        tags = await load_tags(conn, tenant_id, {e.device_id for e in events})
    recent: dict[tuple[int, int], float] = {}
    if any(r.throttle_minutes for r in rules):
        recent = await _recently_notified(conn, tenant_id, events, rules)
    planned: set[tuple[int, int]] = set()  # (channel, alert) given a job in this pass
    jobs = []
    for event in sorted(events, key=lambda e: e.event_id):
        matching: dict[int, list[Rule]] = {}
        for rule in rules:
            if rule_matches(rule, event, tags.get(event.device_id, frozenset())):
                matching.setdefault(rule.channel_id, []).append(rule)
        for channel_id, channel_rules in matching.items():
            window = throttle_window(channel_rules, event)
            pair = (channel_id, event.alert_id)
            if window and (pair in planned or recent.get(pair, float("inf")) < window * 60):
                continue
            planned.add(pair)
            jobs.append(
                Job(
                    tenant_id,
                    event.alert_id,
                    event.event,
                    payload(channel_rules[0].kind, event),
                    channel_key(event, channel_id),
                    channel_id=channel_id,
                    rule_id=channel_rules[0].rule_id,
                )
            )
    return jobs


async def _recently_notified(
    conn: asyncpg.Connection, tenant_id: str, events: list[AlertEvent], rules: list[Rule]
) -> dict[tuple[int, int], float]:
    """(channel, alert) → seconds since its newest job that did not end as a dead letter, for the
    batch's alerts on throttled channels, within the longest throttle: one query per batch."""
    rows = await conn.fetch(
        """SELECT channel_id, alert_id, extract(epoch FROM now() - max(created_at))::float8 AS age
             FROM delivery_jobs
            WHERE tenant_id = $1 AND channel_id = ANY($2::bigint[]) AND alert_id = ANY($3::bigint[])
              AND status <> 'FAILED' AND created_at > now() - make_interval(mins => $4)
            GROUP BY channel_id, alert_id""",
        tenant_id,
        sorted({r.channel_id for r in rules if r.throttle_minutes}),
        sorted({e.alert_id for e in events}),
        max(r.throttle_minutes for r in rules),
    )
    return {(r["channel_id"], r["alert_id"]): r["age"] for r in rows}


async def create_jobs(conn: asyncpg.Connection, events: list[AlertEvent]) -> int:
    """Insert one PENDING job per (event, target); returns how many were new."""
    jobs = await plan_jobs(conn, events)
    if not jobs:
        return 0
    inserted = await conn.fetch(
        """
        INSERT INTO delivery_jobs (tenant_id, alert_id, event, payload_json, idempotency_key,
                                   integration_id, route_id, channel_id, routing_rule_id)
        SELECT t, a, e, p::jsonb, k, i::uuid, r::uuid, c, rr
          FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                      $8::bigint[], $9::bigint[]) AS u(t, a, e, p, k, i, r, c, rr)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING job_id
        """,
        [j.tenant_id for j in jobs],
        [j.alert_id for j in jobs],
        [j.event for j in jobs],
        [j.payload for j in jobs],
        [j.key for j in jobs],
        [j.integration_id for j in jobs],
        [j.route_id for j in jobs],
        [j.channel_id for j in jobs],
        [j.rule_id for j in jobs],
    )
    return len(inserted)


class Dispatcher:
    def __init__(self, batch: int = BATCH):
        self.batch = batch
        # first missing id → (next visible id, transactions writing alert_events when it was seen)
        self._gaps: dict[int, tuple[int, frozenset[str]]] = {}
        self.more = False  # the last pass read a full batch and moved: call again
        self.stats = metrics.Tally({"events": metrics.NOTIFY_EVENTS, "jobs": metrics.NOTIFY_JOBS_CREATED})

    async def dispatch_once(self, conn: asyncpg.Connection) -> int:
        """One pass inside the caller's operator transaction. Returns the number of new jobs; the
        caller loops while it returns a full batch (`self.more`)."""
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *locks.NOTIFY_DISPATCH)
        cursor = await conn.fetchval("SELECT last_event_id FROM notify_cursor WHERE name = $1", CURSOR_NAME)
        if cursor is None:
            await conn.execute(
                "INSERT INTO notify_cursor (name, last_event_id) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                CURSOR_NAME,
            )
            cursor = 0
        writing_before = await _writers(conn) if self._gaps else frozenset()
        rows = await conn.fetch(
            """
            SELECT e.id, e.tenant_id, e.alert_id, e.event, e.status, e.actor, e.details, e.created_at,
                   a.site_id, a.device_id, a.alert_type, a.severity, a.summary
              FROM alert_events e JOIN alerts a ON a.tenant_id = e.tenant_id AND a.id = e.alert_id
             WHERE e.id > $1 ORDER BY e.id LIMIT $2
            """,
            cursor,
            self.batch,
        )
        # Events above a gap are read again on each pass until the cursor passes them; job creation
        # is idempotent, so that costs a lookup, never a duplicate. (No in-memory "done" set: it would
        # outlive a transaction that failed to commit.)
        events = [e for e in (to_event(r) for r in rows) if e is not None]
        created = await create_jobs(conn, events)
        ids = [r["id"] for r in rows]
        writing_after = await _writers(conn) if _has_gap(cursor, ids) else frozenset()
        new_cursor = self.advance(cursor, ids, writing_before, writing_after)
        if new_cursor != cursor:
            await conn.execute(
                "UPDATE notify_cursor SET last_event_id = $2, updated_at = now() WHERE name = $1",
                CURSOR_NAME,
                new_cursor,
            )
        self._gaps = {k: v for k, v in self._gaps.items() if k > new_cursor}
        self.more = len(rows) == self.batch and new_cursor != cursor
        self.stats.inc("events", len(events))
        self.stats.inc("jobs", created)
        return created

    def advance(
        self, cursor: int, ids: list[int], writing_before: frozenset[str], writing_after: frozenset[str]
    ) -> int:
        """The new cursor: past contiguous ids and past gaps known to be permanent. `writing_before`
        and `writing_after` are the transactions writing `alert_events` just before and just after the
        read that returned `ids`."""
        for visible in ids:
            if visible == cursor + 1:
                cursor = visible
                continue
            start = cursor + 1
            gap = self._gaps.pop(start, None)
            if gap is None or visible > gap[0]:
                # new gap (or its next visible event was deleted since): note who may still write it
                self._gaps[start] = (visible, writing_after)
                return cursor
            if gap[1] & writing_before:
                self._gaps[start] = gap  # a writer of a missing id may still commit
                return cursor
            cursor = visible  # start..visible-1 were rolled back
        return cursor


def _has_gap(cursor: int, ids: list[int]) -> bool:
    return bool(ids) and ids[-1] - cursor != len(ids)


async def _writers(conn: asyncpg.Connection) -> frozenset[str]:
    """Transactions holding a write lock on this database's `alert_events` (pg_locks, readable by any
    role). A transaction's virtual id is unique while it runs and is never reused by a later one."""
    rows = await conn.fetch(
        """SELECT DISTINCT virtualtransaction FROM pg_locks
            WHERE locktype = 'relation' AND mode = 'RowExclusiveLock'
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND relation = 'alert_events'::regclass"""
    )
    return frozenset(r["virtualtransaction"] for r in rows)
