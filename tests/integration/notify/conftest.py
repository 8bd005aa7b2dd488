"""Notification engine fixtures: a tenant, a shared HTTP client, a worker that may reach loopback."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

import httpx
import pytest

from pulse.notify import service, ssrf
from pulse.notify.worker import RetryPolicy, Worker
from tests.factories import make_tenant


@pytest.fixture
async def tenant(pool) -> str:
    return await make_tenant(pool)


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
def loopback() -> ssrf.Policy:
    return ssrf.Policy(allow_loopback=True)


@pytest.fixture
def make_worker(pool, http, loopback):
    def make(**kwargs) -> Worker:
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, base_seconds=10, max_seconds=3600))
        kwargs.setdefault("stuck_after", timedelta(seconds=300))
        kwargs.setdefault("rng", random.Random(7))
        return Worker(pool, http, kwargs.pop("policy", loopback), **kwargs)

    return make


@pytest.fixture
async def running(pool, settings):
    """The service with loopback allowed and a fallback timer too long to matter: NOTIFY drives it."""
    tuned = settings.model_copy(update={"notify_allow_loopback": True, "notify_poll_seconds": 60.0})
    async with httpx.AsyncClient(timeout=30.0) as http:
        notify = service.build(tuned, pool, http)
        task = asyncio.create_task(notify.run())
        await asyncio.wait_for(notify.listening.wait(), 15)
        yield notify
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
