"""The `escalation` service: fires due escalation levels (`worker.Escalator`).

It sleeps until the earliest `next_escalation_at` (at most `PULSE_ESCALATION_POLL_SECONDS`), and a
dedicated LISTEN connection wakes it early for a new alert (`new_fleet_alert`: a first level may be
due at once) and for "escalate now" (`escalation_due`). Several copies share the due alerts through
`FOR UPDATE SKIP LOCKED`; nothing but PostgreSQL coordinates them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from pulse.config import Settings
from pulse.db.listen import listen_forever, listener
from pulse.db.pool import create_pool
from pulse.escalation.worker import Escalator
from pulse.log import get_logger
from pulse.periodic import wait_event

log = get_logger("pulse.escalation")

CHANNELS = ("new_fleet_alert", "escalation_due")


class EscalationService:
    def __init__(
        self,
        escalator: Escalator,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        *,
        poll_seconds: float = 1.0,
    ):
        self.escalator = escalator
        self._connect = connect
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _catch_up(self) -> None:
        self._wake.set()

    async def _fire_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.escalator.fire_due()
                if self.escalator.more:
                    continue  # a full batch: more may be due
                wait = await self.escalator.seconds_until_due(self.poll_seconds)
            except Exception as exc:  # an outage delays escalation; the due times keep the place
                log.warning("escalation pass failed; will retry", error=f"{type(exc).__name__}: {exc}")
                wait = 1.0
            await wait_event(self._wake, max(wait, 0.01))

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(
                listen_forever(
                    self._connect,
                    CHANNELS,
                    self._on_notify,
                    on_connected=self._catch_up,
                    listening=self.listening,
                    name="escalation",
                )
            ),
            asyncio.create_task(self._fire_loop()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def build(settings: Settings, pool: asyncpg.Pool) -> EscalationService:
    if not settings.database_url:
        raise ValueError("the escalation service needs PULSE_DATABASE_URL")
    escalator = Escalator(
        pool,
        base_url=settings.base_url,
        link_ttl=timedelta(hours=settings.ack_link_ttl_hours),
        batch=settings.escalation_batch,
    )
    return EscalationService(
        escalator, listener(settings.database_url), poll_seconds=settings.escalation_poll_seconds
    )


async def run(settings: Settings) -> None:
    if not settings.database_url:
        raise ValueError("the escalation service needs PULSE_DATABASE_URL")
    pool = await create_pool(settings, name="escalation", min_size=1, max_size=4)
    try:
        await build(settings, pool).run()
    finally:
        await pool.close()
