"""Escalation fixtures: a notify worker (as the notification engine runs it) for person jobs."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest

from pulse.notify import ssrf
from pulse.notify.worker import RetryPolicy, Worker


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
def make_worker(pool, http):
    def make(**kwargs) -> Worker:
        kwargs.setdefault("retry", RetryPolicy(max_attempts=5, base_seconds=10, max_seconds=3600))
        kwargs.setdefault("stuck_after", timedelta(seconds=300))
        kwargs.setdefault("rng", random.Random(7))
        return Worker(pool, http, kwargs.pop("policy", ssrf.Policy(allow_loopback=True)), **kwargs)

    return make
