"""A LISTEN connection that stays open: the wake-up path of every LISTEN/NOTIFY-driven service.

Subscribes to the channels, calls `on_connected` after every (re)connect so the service can catch up on
what was notified while nobody listened, pings while quiet so a dead connection is noticed, and
reconnects with backoff. LISTEN needs a direct PostgreSQL connection (not PgBouncer in transaction mode).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import asyncpg

from pulse.backoff import Backoff
from pulse.db.pool import init_connection
from pulse.log import get_logger
from pulse.periodic import wait_event

log = get_logger("pulse.db")

PING_SECONDS = 10.0


def listener(dsn: str) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """LISTEN is session state: a dedicated connection to PostgreSQL itself, never via PgBouncer."""

    async def connect() -> asyncpg.Connection:
        conn = await asyncpg.connect(dsn, timeout=10)
        await init_connection(conn)
        return conn

    return connect


async def listen_forever(
    connect: Callable[[], Awaitable[asyncpg.Connection]],
    channels: Iterable[str],
    on_notify: Callable[[asyncpg.Connection, int, str, str], None],
    *,
    on_connected: Callable[[], Awaitable[None]],
    listening: asyncio.Event,
    name: str,
) -> None:
    backoff = Backoff(0.5, 10.0)
    while True:
        conn = None
        try:
            conn = await connect()
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            for channel in channels:
                await conn.add_listener(channel, on_notify)
            await on_connected()
            listening.set()
            backoff.reset()
            while not lost.is_set():
                await wait_event(lost, PING_SECONDS)
                if not lost.is_set():
                    await conn.execute("SELECT 1")  # notice a dead connection even when quiet
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{name} listener failed; reconnecting", error=f"{type(exc).__name__}: {exc}")
        finally:
            listening.clear()
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
        await backoff.sleep()
