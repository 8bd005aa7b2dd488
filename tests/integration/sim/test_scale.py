"""The simulator at scale: hundreds of devices provisioned in bulk, each publishing over its own account on
a dynamic-security broker; and it waits out a 429 instead of failing (issue 11, part 8)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx

from pulse.api.app import create_admin_app
from pulse.broker.access import ingest_subscription
from pulse.sim.simulator import SimConfig, Simulator
from tests.factories import make_tenant
from tests.integration.broker.helpers import dynsec_broker, dynsec_settings, service_client
from tests.integration.sim.test_simulator import KEY, serving

DEVICES = 600  # more than one bulk chunk, far more than 30 activations a minute


async def test_hundreds_of_devices_each_publish_with_their_own_account(settings, pool, tmp_path) -> None:
    await make_tenant(pool, "demo", device_limit=DEVICES)
    async with (
        dynsec_broker(dynsec_settings(settings), tmp_path / "broker") as s,
        serving(create_admin_app(s, pool, KEY)) as admin_url,
        service_client(s, "ingest", "pulse-ingest-test") as ingest,
    ):
        await ingest.subscribe(ingest_subscription(s), qos=0)
        config = SimConfig(
            devices=DEVICES, sites=5, admin_url=admin_url, admin_key=KEY, mqtt_url=s.mqtt_url,
            device_logins=True, qos=0, telemetry_interval=2.0, heartbeat_interval=5.0,
        )  # fmt: skip
        seen: set[str] = set()

        async def collect() -> None:
            async for message in ingest.messages:
                seen.add(str(message.topic).split("/")[3])
                if len(seen) == DEVICES:
                    return

        sim = asyncio.create_task(Simulator(config).run())
        collector = asyncio.create_task(collect())
        # Generous (the machine may be busy); a simulator that stops early ends the wait.
        await asyncio.wait({sim, collector}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
        for task in (collector, sim):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # a simulator failure is raised here
    assert len(seen) == DEVICES


async def test_provisioning_waits_for_retry_after() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            status = 429 if len(calls) == 1 else 503
            return httpx.Response(status, headers={"Retry-After": "0.1"}, json={"error": "rate_limited"})
        devices = [{"device_id": d["device_id"], "provision_token": "t-" + d["device_id"]}
                   for d in json.loads(request.content)["devices"]]  # fmt: skip
        return httpx.Response(201, json={"devices": devices})

    sim = Simulator(SimConfig(devices=3, admin_key=KEY))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://admin") as client:
        tokens = await sim._provision_chunk(client, [("a", "s"), ("b", "s")], attempts=5)
    assert tokens == {"a": "t-a", "b": "t-b"}
    assert calls == ["/api/admin/devices/bulk"] * 3
