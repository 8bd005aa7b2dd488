"""A notify process killed (SIGKILL) in the middle of a delivery: its job is reclaimed by another worker
once the claim is stale and delivered exactly once more, under the same message id."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

import pytest

from pulse.notify.dispatch import Dispatcher
from tests.factories import make_alert, make_integration
from tests.integration.ingest.helpers import wait_for
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch

pytestmark = pytest.mark.slow  # starts a notify process and kills it


async def test_killed_mid_job_is_reclaimed_and_delivered_once(pool, tenant, settings, make_worker):
    # the first request hangs (the process dies while waiting for it), the next one is answered
    async with Receiver(Answer(200, delay=3600), Answer(200)) as receiver:
        await make_integration(pool, tenant, {"url": receiver.url})
        env = os.environ | {
            "PULSE_DATABASE_URL": settings.database_url,
            "PULSE_MQTT_URL": settings.mqtt_url,
            "PULSE_NOTIFY_ALLOW_LOOPBACK": "true",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse",
            "run",
            "notify",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await make_alert(pool, tenant)

            async def hanging() -> bool:
                return len(receiver.requests) == 1

            await wait_for(hanging, timeout=60)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        (job,) = await fetch(pool, "SELECT status, attempts FROM delivery_jobs")
        assert (job["status"], job["attempts"]) == ("PROCESSING", 0)  # the dead worker's claim

        survivor = make_worker(stuck_after=timedelta(seconds=0))
        assert await survivor.reclaim() == 1
        assert await dispatch(pool, Dispatcher()) == 0  # no second job for the same event
        (claimed,) = await survivor.claim(10)
        assert (await survivor.process(claimed)).ok
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # receivers can deduplicate
    (done,) = await fetch(pool, "SELECT status, attempts FROM delivery_jobs")
    assert (done["status"], done["attempts"]) == ("COMPLETED", 1)
    attempts = await fetch(pool, "SELECT ok FROM delivery_attempts")
    assert [a["ok"] for a in attempts] == [True]
