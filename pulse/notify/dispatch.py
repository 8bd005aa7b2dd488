"""Alert events → delivery jobs, through a durable cursor.

Cursor correctness. `alert_events.id` comes from a sequence, so ids are allocated in order but
committed in any order: a transaction holding id 10 may commit after one holding id 11, and a rolled
back one leaves id 10 missing for ever. Reading "id > cursor" and moving the cursor to the highest id
seen would lose a late-committing event. So:

- every visible event above the cursor is dispatched at once (job creation is idempotent: the
  UNIQUE idempotency key and ON CONFLICT DO NOTHING make a second dispatch of an event a no-op), so
  a gap never delays the events after it;
- the stored cursor only advances over ids that are contiguous, or over a gap known to be
  permanent. A missing id was allocated by a transaction that already had a transaction id (the
  triggers run after the `alerts` row was written), before the following visible id was. When a gap
  is first seen we note `pg_snapshot_xmax` of a snapshot taken after that read: the writer's xid is
  below it. Once `pg_snapshot_xmin` of a snapshot taken *before* a later read is at or above the
  note, every such writer has ended, so that read saw the event if it committed; still missing
  means rolled back, and the cursor moves past it.

Dispatchers in several processes serialise on a transaction advisory lock; gap notes are kept in
memory (a restarted dispatcher re-observes a gap, which only delays the cursor, never loses events).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from pulse.notify.channels import CHANNELS
from pulse.notify.events import DELIVERY_EVENTS, AlertEvent

CURSOR_NAME = "alert_events"
DISPATCH_LOCK = (0x4E071F, 0)  # advisory lock keys of the dispatcher
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


def idempotency_key(event: AlertEvent, route: Route) -> str:
    """One job per (alert event, route): the event id makes a re-opened alert a new delivery, and the
    same event dispatched twice the same key."""
    parts = (
        event.tenant_id,
        str(event.alert_id),
        route.integration_id,
        route.route_id,
        event.event,
        str(event.event_id),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


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
        details={k: v for k, v in details.items() if k == "close_reason"},
    )


async def create_jobs(conn: asyncpg.Connection, events: list[AlertEvent]) -> int:
    """Insert one PENDING job per (event, matching route); returns how many were new."""
    routes: dict[str, list[Route]] = {}
    rows = []
    for event in events:
        if event.tenant_id not in routes:
            routes[event.tenant_id] = await load_routes(conn, event.tenant_id)
        for route in routes[event.tenant_id]:
            if route_matches(route, event):
                payload = {"kind": route.kind, "event": event.to_json()}
                rows.append(
                    (
                        event.tenant_id,
                        event.alert_id,
                        route.integration_id,
                        route.route_id,
                        event.event,
                        orjson.dumps(payload).decode(),
                        idempotency_key(event, route),
                    )
                )
    if not rows:
        return 0
    inserted = await conn.fetch(
        """
        INSERT INTO delivery_jobs (tenant_id, alert_id, integration_id, route_id, event, payload_json,
                                   idempotency_key)
        SELECT t, a, i::uuid, r::uuid, e, p::jsonb, k
          FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
               AS u(t, a, i, r, e, p, k)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING job_id
        """,
        *(list(col) for col in zip(*rows, strict=True)),
    )
    return len(inserted)


class Dispatcher:
    def __init__(self, batch: int = BATCH):
        self.batch = batch
        self._gaps: dict[int, tuple[int, int]] = {}  # first missing id → (next visible id, xmax bound)
        self.more = False  # the last pass read a full batch and moved: call again
        self.stats = {"events": 0, "jobs": 0}

    async def dispatch_once(self, conn: asyncpg.Connection) -> int:
        """One pass inside the caller's operator transaction. Returns the number of new jobs; the
        caller loops while it returns a full batch (`self.more`)."""
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *DISPATCH_LOCK)
        cursor = await conn.fetchval("SELECT last_event_id FROM notify_cursor WHERE name = $1", CURSOR_NAME)
        if cursor is None:
            await conn.execute(
                "INSERT INTO notify_cursor (name, last_event_id) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                CURSOR_NAME,
            )
            cursor = 0
        xmin_before = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
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
        xmax_after = await conn.fetchval("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
        # Events above a gap are read again on each pass until the cursor passes them; job creation
        # is idempotent, so that costs a lookup, never a duplicate. (No in-memory "done" set: it would
        # outlive a transaction that failed to commit.)
        events = [e for e in (to_event(r) for r in rows) if e is not None]
        created = await create_jobs(conn, events)
        new_cursor = self.advance(cursor, [r["id"] for r in rows], xmin_before, xmax_after)
        if new_cursor != cursor:
            await conn.execute(
                "UPDATE notify_cursor SET last_event_id = $2, updated_at = now() WHERE name = $1",
                CURSOR_NAME,
                new_cursor,
            )
        self._gaps = {k: v for k, v in self._gaps.items() if k > new_cursor}
        self.more = len(rows) == self.batch and new_cursor != cursor
        self.stats["events"] += len(events)
        self.stats["jobs"] += created
        return created

    def advance(self, cursor: int, ids: list[int], xmin_before: int, xmax_after: int) -> int:
        """The new cursor: past contiguous ids and past gaps known to be permanent."""
        for visible in ids:
            if visible == cursor + 1:
                cursor = visible
                continue
            start = cursor + 1
            gap = self._gaps.pop(start, None)
            if gap is None or visible > gap[0]:
                # new gap (or its next visible event was deleted since): note a bound from now
                self._gaps[start] = (visible, xmax_after)
                return cursor
            if xmin_before < gap[1]:
                self._gaps[start] = gap  # a writer of a missing id may still commit
                return cursor
            cursor = visible  # start..visible-1 were rolled back
        return cursor
