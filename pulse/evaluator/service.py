"""The `evaluator` service: device health, rule evaluation and the alert lifecycle.

Two drivers, one lock discipline:
- arriving telemetry: LISTEN `telemetry_batch` (ingest sends the tenant id after each committed
  batch); each notified tenant is evaluated from `device_state` rows heard from since its cursor;
- sweeps on a timer: device health and NO_HEARTBEAT every `sweep_interval`, expired hysteresis quiet
  periods, NO_TELEMETRY gaps every `gap_interval`, and a reconciliation of NO_HEARTBEAT alerts.

Copies coordinate through PostgreSQL only. Work on a tenant's rule alerts runs under the transaction
advisory lock (EVALUATOR_CLASS, hashtext(tenant)) (keys in pulse.db.locks), so two evaluators handle a
tenant one after the other and the second finds the first's alerts and `alert_rule_state` already there;
the global sweep takes a try-lock and one copy skips while the other sweeps. The partial unique index on open
fingerprints stays the last line of defence, and inserts say ON CONFLICT DO NOTHING.

Restart: state lives in the database, and a starting evaluator re-evaluates every device of every
active tenant once (cursor None), so a breach that began before the restart closes or opens exactly
as if nothing had happened, and never twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse import metrics
from pulse.config import Settings
from pulse.db import locks
from pulse.db.listen import listen_forever, listener
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.evaluator.arrivals import Outcome, evaluate_snapshots, load_snapshots
from pulse.evaluator.sweeps import (
    close_orphans,
    close_quiet,
    due_quiet_periods,
    gap_tenants,
    reconcile_heartbeats,
    sweep_gaps,
    sweep_health,
)
from pulse.evaluator.tenant_config import ConfigCache
from pulse.log import get_logger
from pulse.periodic import run_every

log = get_logger("pulse.evaluator")

ACTOR = "service:evaluator"
CHANNELS = ("telemetry_batch", "evaluator_config")
# Ingest stamps last_seen_at before its commit; a batch committed a little after a later one must not
# fall behind the cursor, so each read reaches this far back (snapshots already seen are skipped).
CURSOR_OVERLAP = timedelta(seconds=2)
SNAPSHOT_LIMIT = 5000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Evaluator:
    def __init__(
        self,
        pool: asyncpg.Pool,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        clock: Callable[[], datetime] = utcnow,
        sweep_interval: float = 1.0,
        gap_interval: float = 15.0,
        reconcile_interval: float = 30.0,
    ):
        self._pool = pool
        self._connect = connect
        self.clock = clock
        self.sweep_interval = sweep_interval
        self.gap_interval = gap_interval
        self.reconcile_interval = reconcile_interval
        self.cache = ConfigCache()
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._cursors: dict[str, datetime] = {}
        self._seen: dict[tuple[str, str], datetime] = {}  # (tenant, device) → last_seen_at evaluated
        self.listening = asyncio.Event()
        # this evaluator's own counts (tests read them), each also added to the process's metrics
        self.stats = metrics.Tally(
            {
                "batches": metrics.EVALUATOR_BATCHES,
                "snapshots": metrics.EVALUATOR_SNAPSHOTS,
                "opened": metrics.EVALUATOR_ALERTS_OPENED,
                "closed": metrics.EVALUATOR_ALERTS_CLOSED,
                "errors": metrics.EVALUATOR_ERRORS,
            }
        )

    # --- telemetry-driven ------------------------------------------------------------------------

    def _on_notify(self, _conn, _pid, channel: str, payload: str) -> None:
        if channel == "evaluator_config":
            self.cache.invalidate(payload or None)
            return
        if payload:
            self._dirty.add(payload)
            self._wake.set()

    def evaluated_at(self, tenant_id: str, device_id: str) -> datetime | None:
        """The device's last_seen_at this process last evaluated (tests use it as a sync point)."""
        return self._seen.get((tenant_id, device_id))

    def mark_dirty(self, tenant_id: str) -> None:
        self._dirty.add(tenant_id)
        self._wake.set()

    async def evaluate_tenant(self, tenant_id: str) -> Outcome:
        """One pass over the tenant's devices heard from since the cursor, under the tenant lock."""
        since = self._cursors.get(tenant_id)
        started = time.perf_counter()
        async with operator_tx(self._pool, ACTOR) as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", locks.EVALUATOR_CLASS, tenant_id
            )
            snapshots = await load_snapshots(
                conn, tenant_id, since - CURSOR_OVERLAP if since else None, SNAPSHOT_LIMIT
            )
            fresh = [s for s in snapshots if self._seen.get((tenant_id, s.device_id)) != s.seen_at]
            config = await self.cache.get(conn, tenant_id)
            outcome = await evaluate_snapshots(conn, config, fresh, self.clock())
        for s in snapshots:
            self._seen[(tenant_id, s.device_id)] = s.seen_at
        if snapshots:
            newest = max(s.seen_at for s in snapshots)
            self._cursors[tenant_id] = max(newest, since) if since else newest
            if len(snapshots) == SNAPSHOT_LIMIT:
                self.mark_dirty(tenant_id)  # more to read
        metrics.EVALUATOR_SECONDS.observe(time.perf_counter() - started)
        self.stats.inc("batches")
        self.stats.inc("snapshots", len(fresh))
        self.stats.inc("opened", len(outcome.opened))
        self.stats.inc("closed", outcome.closed)
        return outcome

    async def _arrivals_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            tenants, self._dirty = sorted(self._dirty), set()
            for tenant_id in tenants:
                try:
                    await self.evaluate_tenant(tenant_id)
                except Exception as exc:
                    self.stats.inc("errors")
                    log.warning(
                        "evaluation failed; will retry",
                        tenant_id=tenant_id,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    self._dirty.add(tenant_id)
                    await asyncio.sleep(1)
                    self._wake.set()

    # --- sweeps ------------------------------------------------------------------------------------

    async def sweep_once(self, now: datetime | None = None) -> int:
        """Device health + NO_HEARTBEAT, then expired quiet periods. Returns the number of transitions,
        or -1 when another evaluator holds the sweep lock."""
        now = now or self.clock()
        async with operator_tx(self._pool, ACTOR) as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", *locks.EVALUATOR_SWEEP):
                return -1
            transitions = await sweep_health(conn, now, self.cache.get)
            due = await due_quiet_periods(conn, now)
        for tenant_id, pairs in sorted(due.items()):
            async with operator_tx(self._pool, ACTOR) as conn:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))", locks.EVALUATOR_CLASS, tenant_id
                )
                self.stats.inc("closed", await close_quiet(conn, tenant_id, pairs, now))
        return len(transitions)

    async def gaps_once(self, now: datetime | None = None) -> tuple[int, int]:
        now = now or self.clock()
        opened = closed = 0
        async with operator_tx(self._pool, ACTOR) as conn:
            tenants = await gap_tenants(conn)
        for tenant_id in tenants:
            async with operator_tx(self._pool, ACTOR) as conn:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))", locks.EVALUATOR_CLASS, tenant_id
                )
                config = await self.cache.get(conn, tenant_id)
                o, c = await sweep_gaps(conn, config, now)
            opened, closed = opened + o, closed + c
        return opened, closed

    async def reconcile_once(self, now: datetime | None = None) -> tuple[int, int]:
        """NO_HEARTBEAT repairs and alerts of removed rules. Returns (opened, closed)."""
        now = now or self.clock()
        async with operator_tx(self._pool, ACTOR) as conn:
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, $2)", *locks.EVALUATOR_RECONCILE
            ):
                return 0, 0
            opened, closed = await reconcile_heartbeats(conn, now, self.cache.get)
            closed += await close_orphans(conn, now)
        return opened, closed

    async def _every(self, interval: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        # A database outage slows the evaluator down; it never stops it: every failure is a warning.
        await run_every(
            interval,
            job,
            log=log,
            failure=f"{name} failed; will retry",
            expected=(Exception,),
            on_error=lambda _exc: self.stats.inc("errors"),
        )

    # --- the listener ------------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        await listen_forever(
            self._connect,
            CHANNELS,
            self._on_notify,
            on_connected=self._catch_up,
            listening=self.listening,
            name="evaluator",
        )

    async def _catch_up(self) -> None:
        """After (re)connecting: whatever was notified while nobody listened — every active tenant once."""
        async with operator_tx(self._pool, ACTOR) as tx:
            for r in await tx.fetch("SELECT tenant_id FROM tenants WHERE status = 'ACTIVE'"):
                self._dirty.add(r["tenant_id"])
        self.cache.invalidate()
        self._wake.set()

    async def run(self, *, sweeps: bool = True) -> None:
        """`sweeps=False` runs only the telemetry-driven side (tests drive sweeps with their own clock)."""
        tasks = [asyncio.create_task(self._listen_loop()), asyncio.create_task(self._arrivals_loop())]
        if sweeps:
            tasks += [
                asyncio.create_task(self._every(self.sweep_interval, self.sweep_once, "health sweep")),
                asyncio.create_task(self._every(self.gap_interval, self.gaps_once, "gap sweep")),
                asyncio.create_task(
                    self._every(self.reconcile_interval, self.reconcile_once, "reconciliation")
                ),
            ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def run(settings: Settings) -> None:
    if not settings.database_url:
        raise ValueError("the evaluator needs PULSE_DATABASE_URL")
    pool = await create_pool(settings, name="evaluator", min_size=1, max_size=4)
    try:
        await Evaluator(pool, listener(settings.database_url)).run()
    finally:
        await pool.close()
