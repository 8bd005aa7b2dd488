"""The notify service end to end: an alert insert wakes it through NOTIFY and a delivery arrives."""

from __future__ import annotations

import asyncio
import contextlib

from pulse.notify import service
from tests.factories import make_alert, make_integration
from tests.integration.ingest.helpers import wait_for
from tests.integration.notify.helpers import Answer, Receiver, fetch


def received(receiver: Receiver):
    async def any_request() -> bool:
        return bool(receiver.requests)

    return any_request


async def test_alert_to_signed_delivery(pool, tenant, running):
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url, "secret": "s3cret-key"})
        alert = await make_alert(pool, tenant)
        await wait_for(received(receiver))
        (request,) = receiver.requests
        assert request.json()["alert_id"] == alert
        assert request.headers["webhook-signature"].startswith("v1,")

        async def completed():
            rows = await fetch(pool, "SELECT status FROM delivery_jobs")
            return [r["status"] for r in rows] == ["COMPLETED"]

        await wait_for(completed)


async def test_slow_target_does_not_hold_up_another(pool, tenant, running):
    async with Receiver(Answer(200, delay=3600)) as slow, Receiver() as fast:
        await make_integration(pool, tenant, {"url": slow.url})
        await make_integration(pool, tenant, {"url": fast.url})
        await make_alert(pool, tenant)
        await wait_for(received(slow))  # the slow one is hanging
        await wait_for(received(fast))

        async def fast_done():
            rows = await fetch(pool, "SELECT status FROM delivery_jobs ORDER BY status")
            return [r["status"] for r in rows] == ["COMPLETED", "PROCESSING"]

        await wait_for(fast_done)


async def test_service_run_entry_point(pool, tenant, settings):
    """`pulse run notify` as `pulse up` starts it: its own pool and HTTP client."""
    tuned = settings.model_copy(update={"notify_allow_loopback": True})
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url})
        task = asyncio.create_task(service.run(tuned))
        try:
            await make_alert(pool, tenant)
            await wait_for(received(receiver))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
