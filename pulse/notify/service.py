"""The `notify` service: alert events in, signed deliveries out.

Three loops in one process, coordinating with other copies through PostgreSQL only:
- listener: a dedicated connection LISTENs on `alert_event` (wakes the dispatcher) and
  `new_delivery_job` (wakes the workers); it reconnects on loss and wakes both after (re)connecting;
- dispatcher: alert events → delivery jobs (`dispatch.Dispatcher`, a durable cursor);
- workers: up to `notify_concurrency` jobs in flight, each its own task, so a slow or dead target
  holds one slot, never the others; claims use FOR UPDATE SKIP LOCKED (`worker.Worker`).
A fallback timer (`notify_poll_seconds`) wakes both loops, reclaims stuck jobs and catches retries
that fall due; the worker also sleeps only until the next due retry when that is sooner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import httpx

from pulse.config import Settings
from pulse.crypto import Keyring
from pulse.db.listen import listen_forever, listener
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.notify import job_gauge, ssrf
from pulse.notify.deliver import http_client
from pulse.notify.dispatch import Dispatcher
from pulse.notify.mailer import Mailer
from pulse.notify.worker import ACTOR, RetryPolicy, Worker
from pulse.periodic import run_every, wait_event

log = get_logger("pulse.notify")

CHANNELS = ("alert_event", "new_delivery_job")


class NotifyService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        worker: Worker,
        *,
        concurrency: int = 10,
        poll_seconds: float = 5.0,
    ):
        self._pool = pool
        self._connect = connect
        self.worker = worker
        self.dispatcher = Dispatcher()
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self._dispatch_wake = asyncio.Event()
        self._work_wake = asyncio.Event()
        self._inflight: set[asyncio.Task] = set()
        self.listening = asyncio.Event()

    def _on_notify(self, _conn, _pid, channel: str, _payload: str) -> None:
        (self._dispatch_wake if channel == "alert_event" else self._work_wake).set()

    async def dispatch_pass(self) -> int:
        created = 0
        while True:
            async with operator_tx(self._pool, ACTOR) as conn:
                created += await self.dispatcher.dispatch_once(conn)
            if not self.dispatcher.more:
                return created

    async def _dispatch_loop(self) -> None:
        # An outage slows dispatch down; the cursor keeps the place. Woken by `alert_event` (and after
        # the listener (re)connects); the timer is the fallback.
        await run_every(
            self.poll_seconds,
            self.dispatch_pass,
            log=log,
            failure="dispatch failed; will retry",
            expected=(Exception,),
            wake=self._dispatch_wake,
            wait_first=True,
            error_pause=1.0,
        )

    async def _next_due_in(self) -> float:
        async with operator_tx(self._pool, ACTOR) as conn:
            due = await conn.fetchval(
                "SELECT extract(epoch FROM min(next_run_at) - now()) FROM delivery_jobs WHERE status = 'PENDING'"
            )
        return self.poll_seconds if due is None else min(self.poll_seconds, max(0.0, float(due)))

    def _done(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("delivery failed unexpectedly", error=repr(task.exception()))
        self._work_wake.set()

    async def _work_loop(self) -> None:
        reclaim_every = max(1.0, self.poll_seconds)
        last_reclaim = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() - last_reclaim >= reclaim_every:
                    await self.worker.reclaim()
                    last_reclaim = loop.time()
                free = self.concurrency - len(self._inflight)
                jobs = await self.worker.claim(free) if free > 0 else []
                for job in jobs:
                    task = asyncio.create_task(self.worker.process(job))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if jobs and len(jobs) == free:
                    continue  # more may be due
                # all slots busy: a finishing job wakes us (_done); else sleep until the next due retry
                wait = self.poll_seconds if free <= 0 else await self._next_due_in()
            except Exception as exc:
                log.warning("delivery worker failed; will retry", error=f"{type(exc).__name__}: {exc}")
                wait = 1.0
            await wait_event(self._work_wake, max(wait, 0.01))
            self._work_wake.clear()

    async def _listen_loop(self) -> None:
        await listen_forever(
            self._connect,
            CHANNELS,
            self._on_notify,
            on_connected=self._catch_up,
            listening=self.listening,
            name="notify",
        )

    async def _catch_up(self) -> None:
        """After (re)connecting: whatever was notified while nobody listened."""
        self._dispatch_wake.set()
        self._work_wake.set()

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._listen_loop()),
            asyncio.create_task(self._dispatch_loop()),
            asyncio.create_task(self._work_loop()),
            asyncio.create_task(job_gauge.run(self._pool)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in [*tasks, *self._inflight]:
                task.cancel()
            await asyncio.gather(*tasks, *self._inflight, return_exceptions=True)


def build(settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient) -> NotifyService:
    if not settings.database_url:
        raise ValueError("the notify service needs PULSE_DATABASE_URL")
    worker = Worker(
        pool,
        http,
        ssrf.Policy.from_settings(settings),
        mqtt_url=settings.mqtt_url,
        ca_file=settings.notify_ca_file,
        timeout=settings.notify_http_timeout,
        keyring=Keyring.from_settings(settings),
        retry=RetryPolicy(
            settings.notify_max_attempts,
            settings.notify_backoff_base_seconds,
            settings.notify_backoff_max_seconds,
        ),
        stuck_after=timedelta(seconds=settings.notify_stuck_seconds),
        mailer=Mailer(settings),
        base_url=settings.base_url,
    )
    return NotifyService(
        pool,
        listener(settings.database_url),
        worker,
        concurrency=settings.notify_concurrency,
        poll_seconds=settings.notify_poll_seconds,
    )


async def run(settings: Settings) -> None:
    if not settings.database_url:
        raise ValueError("the notify service needs PULSE_DATABASE_URL")
    pool = await create_pool(
        settings, name="notify", min_size=1, max_size=max(4, settings.notify_concurrency + 2)
    )
    try:
        async with http_client(settings) as http:
            await build(settings, pool, http).run()
    finally:
        await pool.close()
