"""Live updates for WebSocket clients, fed by PostgreSQL LISTEN/NOTIFY.

One listener connection per API process LISTENs on `device_state_changed`, `telemetry_batch` (sent
by ingest after each committed batch) and `alert_event` (every alert event: opened, updated,
acknowledged, silenced, closed); each payload is a tenant id. A
notification only marks that tenant dirty. A short debounce later, the hub runs *one* query per dirty
tenant — never one per client — and fans the result out to every subscriber of that tenant:

- `telemetry`: per device whose state changed, its latest metrics snapshot (`device_state.state`);
- `device_state`: connection status of the devices that changed;
- `alerts`: the alerts with an event since the last fetch, each with its `event` and current state.

Watermarks are the database's own clock with a small overlap, so a row committed by a transaction
that started before the previous fetch is not missed (a client may see a row twice; never zero times).
The listener reconnects with backoff after losing its connection and then refreshes every tenant
that has subscribers. It stops a minute after its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pulse.api.queries.alerts import AlertPublic
from pulse.backoff import Backoff
from pulse.db.pool import init_connection
from pulse.db.tx import tenant_tx
from pulse.log import get_logger
from pulse.periodic import wait_event

log = get_logger("pulse.api.live")

DEVICE_CHANNELS = ("device_state_changed", "telemetry_batch")
ALERT_CHANNEL = "alert_event"
DEBOUNCE_SECONDS = 0.1
OVERLAP = timedelta(seconds=2)
IDLE_STOP_SECONDS = 60.0
QUEUE_SIZE = 256
MAX_ROWS = 500


@dataclass(eq=False)
class Subscriber:
    tenant_id: str
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def offer(self, message: dict[str, Any]) -> None:
        """Never blocks the hub: a client too slow to keep up is flagged and disconnected."""
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True


@dataclass
class _TenantState:
    subscribers: set[Subscriber] = field(default_factory=set)
    devices_since: datetime | None = None
    alerts_since: datetime | None = None
    dirty_devices: bool = False
    dirty_alerts: bool = False


class LiveHub:
    def __init__(self, pool: asyncpg.Pool, connect: Callable[[], Awaitable[asyncpg.Connection]]):
        self._pool = pool
        self._connect = connect
        self._tenants: dict[str, _TenantState] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()  # set while LISTEN is active (tests wait for it)

    # --- subscribers ---------------------------------------------------------------------------

    async def subscribe(self, tenant_id: str) -> Subscriber:
        state = self._tenants.setdefault(tenant_id, _TenantState())
        subscriber = Subscriber(tenant_id)
        if not state.subscribers:
            now = await self._db_now()
            state.devices_since = state.alerts_since = now
        state.subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="live-hub")
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        state = self._tenants.get(subscriber.tenant_id)
        if state is not None:
            state.subscribers.discard(subscriber)
            if not state.subscribers:
                del self._tenants[subscriber.tenant_id]

    # --- notifications -------------------------------------------------------------------------

    def _on_notify(self, _conn, _pid, channel: str, payload: str) -> None:
        state = self._tenants.get(payload)
        if state is None:
            return  # nobody here watches that tenant
        if channel == ALERT_CHANNEL:
            state.dirty_alerts = True
        else:
            state.dirty_devices = True
        self._wake.set()

    def _mark_all_dirty(self) -> None:
        for state in self._tenants.values():
            state.dirty_devices = state.dirty_alerts = True
        self._wake.set()

    # --- the listener and the fan-out ----------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self._connect()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in (*DEVICE_CHANNELS, ALERT_CHANNEL):
                    await conn.add_listener(channel, self._on_notify)
                self.listening.set()
                backoff.reset()
                self._mark_all_dirty()  # catch up on anything sent while we were not listening
                while not lost.is_set():
                    await wait_event(self._wake, 15.0)
                    if self._wake.is_set():
                        await asyncio.sleep(DEBOUNCE_SECONDS)  # let a burst of notifications settle
                        self._wake.clear()
                        await self._flush()
                    elif not lost.is_set():
                        await conn.execute("SELECT 1")  # notice a dead connection even when quiet
                    if self._tenants:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = loop.time()
                    elif loop.time() - idle_since > IDLE_STOP_SECONDS:
                        return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost database must not end live updates for good
                log.warning("live listener failed; reconnecting", error=f"{type(exc).__name__}: {exc}")
                await backoff.sleep()
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)

    async def _flush(self) -> None:
        for tenant_id, state in list(self._tenants.items()):
            if not state.subscribers:
                continue
            messages: list[dict[str, Any]] = []
            if state.dirty_devices:
                state.dirty_devices = False
                messages += await self._device_messages(tenant_id, state)
            if state.dirty_alerts:
                state.dirty_alerts = False
                messages += await self._alert_messages(tenant_id, state)
            for message in messages:
                for subscriber in list(state.subscribers):
                    subscriber.offer(message)

    async def _device_messages(self, tenant_id: str, state: _TenantState) -> list[dict[str, Any]]:
        async with tenant_tx(self._pool, tenant_id) as conn:
            now = await conn.fetchval("SELECT now()")
            rows = await conn.fetch(
                """SELECT device_id, site_id, status, last_seen_at, last_telemetry_at, last_state_change_at, state
                     FROM device_state
                    WHERE tenant_id = $1 AND GREATEST(last_seen_at, last_state_change_at) > $2
                    ORDER BY device_id LIMIT $3""",
                tenant_id,
                (state.devices_since or now) - OVERLAP,
                MAX_ROWS,
            )
        state.devices_since = now
        if not rows:
            return []
        messages: list[dict[str, Any]] = [
            {
                "type": "device_state",
                "devices": [
                    {
                        "device_id": r["device_id"],
                        "site_id": r["site_id"],
                        "status": r["status"],
                        "last_seen_at": _iso(r["last_seen_at"]),
                        "last_state_change_at": _iso(r["last_state_change_at"]),
                    }
                    for r in rows
                ],
            }
        ]
        messages += [
            {
                "type": "telemetry",
                "device_id": r["device_id"],
                "site_id": r["site_id"],
                "data": {"timestamp": _iso(r["last_telemetry_at"]), "metrics": r["state"]},
            }
            for r in rows
            if r["last_telemetry_at"] is not None
        ]
        return messages

    async def _alert_messages(self, tenant_id: str, state: _TenantState) -> list[dict[str, Any]]:
        async with tenant_tx(self._pool, tenant_id) as conn:
            now = await conn.fetchval("SELECT now()")
            rows = await conn.fetch(
                """SELECT e.event, a.id AS alert_id, a.tenant_id, a.device_id, a.site_id, a.alert_type,
                          a.fingerprint, a.rule_id, a.status, a.severity, a.confidence, a.summary, a.details,
                          a.created_at, a.closed_at, a.silenced_until, a.acknowledged_by, a.acknowledged_at,
                          a.escalation_level, a.escalated_at
                     FROM alert_events e JOIN alerts a ON a.tenant_id = e.tenant_id AND a.id = e.alert_id
                    WHERE e.tenant_id = $1 AND e.created_at > $2
                    ORDER BY e.created_at, e.id LIMIT $3""",
                tenant_id,
                (state.alerts_since or now) - OVERLAP,
                MAX_ROWS,
            )
        state.alerts_since = now
        if not rows:
            return []
        alerts = [
            AlertPublic(**{k: v for k, v in r.items() if k != "event"}).model_dump(mode="json")
            | {"event": r["event"]}
            for r in rows
        ]
        return [{"type": "alerts", "alerts": alerts}]

    async def _db_now(self) -> datetime:
        async with self._pool.acquire() as conn:
            return await conn.fetchval("SELECT now()")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def listener_factory(dsn: str | None, pool: asyncpg.Pool) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """A dedicated connection (LISTEN is session state: it must not go through PgBouncer's transaction
    pooling, so point PULSE_DATABASE_URL at PostgreSQL itself or accept that live updates need it)."""

    async def connect() -> asyncpg.Connection:
        if dsn:
            conn = await asyncpg.connect(dsn, timeout=10)
            await init_connection(conn)
            return conn
        raise RuntimeError("no database URL for the live listener")

    return connect
