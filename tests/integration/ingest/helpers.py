"""Helpers for ingest tests: publishing, waiting for rows (tenants and devices: tests.factories)."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import aiomqtt

from pulse.db.tx import operator_tx


async def wait_consuming(settings, pool, task, timeout: float = 15) -> None:
    """Publish probes (quarantined as INVALID_JSON under tenant 'probe') until one is committed.
    Probe topics are new on every call, so a restarted ingest is not taken for a consuming one."""
    tag = uuid.uuid4().hex[:8]
    async with asyncio.timeout(timeout):
        for n in itertools.count():
            if task.done():
                task.result()
            topic = f"tenant/probe/device/probe-{tag}-{n}/telemetry"
            await publish(settings, [(topic, b"probe")])
            for _ in range(10):
                async with operator_tx(pool, "test") as conn:
                    if await conn.fetchval("SELECT 1 FROM quarantine_events WHERE topic = $1", topic):
                        return
                await asyncio.sleep(0.05)


async def publish(settings, messages: list[tuple[str, bytes]], qos: int = 1) -> None:
    host, port = settings.mqtt_host_port
    async with aiomqtt.Client(host, port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=qos)


async def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    async with asyncio.timeout(timeout):
        while True:
            result = await predicate()
            if result:
                return result
            await asyncio.sleep(interval)
