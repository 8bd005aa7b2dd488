"""Helpers for ingest tests: tenants and devices, publishing, waiting for rows."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import aiomqtt
import orjson

from pulse.db.tx import operator_tx
from pulse.provisioning.devices import register_device


@dataclass
class Device:
    tenant_id: str
    device_id: str
    site_id: str
    token: str

    @property
    def topic(self) -> str:
        return f"tenant/{self.tenant_id}/device/{self.device_id}/telemetry"

    def payload(self, **extra) -> bytes:
        body = {"site_id": self.site_id, "provision_token": self.token, "metrics": {"temp_c": 21.5}}
        body.update(extra)
        return orjson.dumps(body)


async def make_tenant(pool, tenant_id: str = "acme", device_limit: int = 100) -> str:
    async with operator_tx(pool, "test") as conn:
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, $1)", tenant_id)
        await conn.execute(
            "INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_end) "
            "VALUES ($1, 'MAIN', $2, now() + interval '1 year')",
            tenant_id,
            device_limit,
        )
    return tenant_id


async def make_device(
    pool, tenant_id: str = "acme", device_id: str = "dev-1", site_id: str = "site-1"
) -> Device:
    async with operator_tx(pool, "test") as conn:
        created = await register_device(conn, tenant_id, device_id, site_id, credential="token")
    return Device(tenant_id, device_id, site_id, created.provision_token)


async def wait_consuming(settings, pool, task, timeout: float = 15) -> None:
    """Publish probes (quarantined as INVALID_JSON under tenant 'probe') until one is committed."""
    async with asyncio.timeout(timeout):
        for n in itertools.count():
            if task.done():
                task.result()
            topic = f"tenant/probe/device/probe-{n}/telemetry"
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
