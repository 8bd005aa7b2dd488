"""An evaluator running against the test database: the telemetry-driven side runs as a task; sweeps
are called by the tests with an injected `now`, so nothing waits for real time to pass."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pulse.db.listen import listener
from pulse.evaluator.service import Evaluator


async def start_evaluator(pool, settings) -> tuple[Evaluator, asyncio.Task]:
    evaluator = Evaluator(pool, listener(settings.database_url))
    task = asyncio.create_task(evaluator.run(sweeps=False))
    async with asyncio.timeout(10):
        await evaluator.listening.wait()
    return evaluator, task


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def evaluator(pool, settings):
    evaluator, task = await start_evaluator(pool, settings)
    yield evaluator
    await stop(task)
