"""The broker's session with ingest: retained messages re-sent on subscribe, subscriptions left over
from another share group. Each test restarts ingest against the same broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import aiomqtt
import pytest

from pulse.db.tx import operator_tx
from pulse.ingest import service as ingest_service
from tests.factories import Device
from tests.integration.ingest.helpers import publish, wait_consuming, wait_for


@contextlib.asynccontextmanager
async def running(settings, pool):
    task = asyncio.create_task(ingest_service.run(settings))
    try:
        await wait_consuming(settings, pool, task)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _rows(pool) -> dict[int, int]:
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            "SELECT seq, count(*) AS n FROM telemetry WHERE tenant_id = 'acme' GROUP BY seq"
        )
    return {r["seq"]: r["n"] for r in rows}


async def _has(pool, seq: int) -> bool:
    return seq in await _rows(pool)


async def _publish_retained(settings, topic: str, payload: bytes) -> None:
    host, port = settings.mqtt_host_port
    async with aiomqtt.Client(host, port) as client:
        await client.publish(topic, payload, qos=1, retain=True)


async def test_retained_telemetry_is_stored_once_across_reconnects(
    ingest_settings, pool, device: Device
) -> None:
    # No share group: the broker sends retained messages to plain subscriptions.
    settings = ingest_settings.model_copy(update={"ingest_shared_group": ""})
    ts = datetime.now(UTC).isoformat()
    try:
        async with running(settings, pool):
            await _publish_retained(settings, device.topic, device.payload(seq=1, ts=ts))
            await wait_for(lambda: _has(pool, 1))
        async with running(settings, pool):  # same session: reconnect and subscribe again
            await publish(settings, [(device.topic, device.payload(seq=2))])
            await wait_for(lambda: _has(pool, 2))
        fresh = settings.model_copy(update={"ingest_client_id": f"{settings.ingest_client_id}-new"})
        async with running(fresh, pool):  # a new session: the retained message comes again
            await publish(fresh, [(device.topic, device.payload(seq=3))])
            await wait_for(lambda: _has(pool, 3))
    finally:
        await _publish_retained(settings, device.topic, b"")  # clear it for the tests that follow
    assert await _rows(pool) == {1: 1, 2: 1, 3: 1}


async def test_retained_message_published_while_nobody_listened_is_stored(
    ingest_settings, pool, device: Device
) -> None:
    settings = ingest_settings.model_copy(update={"ingest_shared_group": ""})
    ts = datetime.now(UTC).isoformat()
    try:
        await _publish_retained(settings, device.topic, device.payload(seq=1, ts=ts))
        async with running(settings, pool):
            await wait_for(lambda: _has(pool, 1))
    finally:
        await _publish_retained(settings, device.topic, b"")
    assert await _rows(pool) == {1: 1}


async def test_changing_the_share_group_stores_each_message_once(
    ingest_settings, pool, device: Device
) -> None:
    if not ingest_settings.ingest_shared_group:
        pytest.skip("the broker has no shared subscriptions")
    async with running(ingest_settings, pool):
        pass
    moved = ingest_settings.model_copy(update={"ingest_shared_group": f"g{uuid.uuid4().hex[:8]}"})
    async with running(moved, pool):
        await publish(moved, [(device.topic, device.payload(seq=s)) for s in range(5)])
        await wait_for(lambda: _has(pool, 4))
        await publish(moved, [(device.topic, device.payload(seq=99))])
        await wait_for(lambda: _has(pool, 99))
    async with operator_tx(pool, "test") as conn:
        recorded = await conn.fetchval(
            "SELECT filters FROM ingest_subscriptions WHERE client_id = $1", moved.ingest_client_id
        )
    assert await _rows(pool) == dict.fromkeys([0, 1, 2, 3, 4, 99], 1)
    assert recorded == [f"$share/{moved.ingest_shared_group}/{moved.ingest_topic}"]
