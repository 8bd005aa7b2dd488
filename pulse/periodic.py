"""Periodic tasks: an async step run every N seconds until the task is cancelled.

Services keep housekeeping on timers (sweeps, retention, rollups, heartbeats, settings re-reads);
`run_every` is the one loop they share. A step that raises is logged and tried again at the next tick —
a database outage slows a service down, it never stops it. Cancellation ends the loop at once, whether
it is waiting or inside the step (`CancelledError` is not an `Exception`, so it is never swallowed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import NoReturn

import asyncpg
import structlog

# What an outage looks like from a step: the database or the network went away. Logged as one warning line,
# without a traceback, because it says nothing a reader can act on beyond "it was down".
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def run_every(
    interval: float,
    step: Callable[[], Awaitable[object]],
    *,
    log: structlog.stdlib.BoundLogger,
    failure: str,
    expected: tuple[type[Exception], ...] = (OSError, TimeoutError),
    wake: asyncio.Event | None = None,
    wait_first: bool = False,
    error_pause: float = 0.0,
    on_error: Callable[[Exception], None] | None = None,
) -> NoReturn:
    """Run `step`, wait `interval` seconds (or until `wake` is set), repeat until cancelled.

    - `failure`: the log message when a step raises. An `expected` exception is a warning with the error
      text; anything else is logged with its traceback (a bug, not an outage). Either way the loop goes on.
    - `wake`: set it to run the next step early; it is cleared just before each step, so a wake-up that
      arrives while the step runs is not lost. A step may set it itself to run again at once (a backlog).
    - `wait_first`: wait one interval before the first step (the caller has just done the work itself).
    - `error_pause`: an extra pause after a failed step, so wake-ups arriving during an outage cannot
      spin the loop.
    - `on_error`: told about every failure (an error counter).
    """
    if wait_first:
        await _wait(interval, wake)
    while True:
        if wake is not None:
            wake.clear()
        failed = False
        try:
            await step()
        except expected as exc:
            failed = True
            log.warning(failure, error=f"{type(exc).__name__}: {exc}")
            if on_error is not None:
                on_error(exc)
        except Exception as exc:
            failed = True
            log.exception(failure)
            if on_error is not None:
                on_error(exc)
        if failed and error_pause > 0:
            await asyncio.sleep(error_pause)
        await _wait(interval, wake)


async def _wait(interval: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(interval)
        return
    await wait_event(wake, interval)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` seconds pass; True if it was set. Never swallows a
    cancellation: Python 3.11's `asyncio.wait_for` returns the inner result when the event is set in the
    same instant the waiter is cancelled, and a loop around it then runs on for ever after a shutdown
    asked it to stop (seen: `pulse up` not stopping on SIGTERM). `asyncio.timeout` has no such race."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()
