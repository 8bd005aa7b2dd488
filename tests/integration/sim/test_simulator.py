"""The simulator provisions through the real admin API and its messages are ingested, over MQTT and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from pulse.api.app import create_admin_app
from pulse.api.service import bind_socket, serve_app
from pulse.db.tx import operator_tx
from pulse.embedded import free_port
from pulse.sim.profiles import PROFILES, SensorState
from pulse.sim.simulator import SimConfig, Simulator
from tests.factories import make_tenant

KEY = "sim-test-admin-key-0123456789"


@contextlib.asynccontextmanager
async def serving(app):
    port = free_port()
    task = asyncio.create_task(serve_app(app, bind_socket("127.0.0.1", port)))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("transport", ["mqtt", "http"])
async def test_simulated_devices_reach_the_database(ingest, ingest_settings, pool, transport: str) -> None:
    from pulse.api.app import create_app
    from pulse.api.routes import ingest as ingest_routes
    from pulse.ingest.pipeline import build_ingestor, wait_for_limits

    await make_tenant(pool, "demo")
    ingestor = build_ingestor(ingest_settings, pool, "mqtt")
    await wait_for_limits(ingestor)
    writer = asyncio.create_task(ingestor.writer.run())
    api = create_app(ingest_settings, pool)
    ingest_routes.mount(api, ingestor)
    try:
        async with (
            serving(create_admin_app(ingest_settings, pool, KEY)) as admin_url,
            serving(api) as api_url,
        ):
            config = SimConfig(
                devices=4,
                sites=2,
                admin_url=admin_url,
                admin_key=KEY,
                mqtt_url=ingest_settings.mqtt_url,
                api_url=api_url,
                http=transport == "http",
                telemetry_interval=0.2,
                heartbeat_interval=0.3,
                duration=2.0,
            )
            await Simulator(config).run()
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    await asyncio.sleep(0.5)  # last MQTT messages
    async with operator_tx(pool, "test") as conn:
        devices = await conn.fetchval(
            "SELECT count(DISTINCT device_id) FROM telemetry WHERE tenant_id = 'demo'"
        )
        types = {r["msg_type"] for r in await conn.fetch("SELECT DISTINCT msg_type FROM telemetry")}
        online = await conn.fetchval(
            "SELECT count(*) FROM device_state WHERE tenant_id = 'demo' AND status = 'ONLINE'"
        )
        rejected = await conn.fetchval("SELECT count(*) FROM quarantine_events WHERE tenant_id = 'demo'")
    assert devices == 4 and online == 4
    assert types == {"telemetry", "heartbeat"}
    assert rejected == 0


def test_profiles_drift_and_cross_thresholds_now_and_then() -> None:
    rng = random.Random(7)
    for profile in PROFILES:
        sensor = SensorState.create(profile, rng)
        readings = [sensor.reading(rng, excursion_probability=0.05) for _ in range(2000)]
        for metric in sensor.metrics:
            values = [r[metric.name] for r in readings]
            assert metric.low <= min(values) and max(values) <= metric.high
            assert len(set(values)) > 100, "values should drift"
            # Excursions push some readings most of the way to the excursion target.
            threshold = metric.normal + 0.6 * (metric.excursion - metric.normal)
            crossed = [v for v in values if (v - threshold) * (metric.excursion - metric.normal) > 0]
            assert 0 < len(crossed) < len(values) / 2, f"{profile}.{metric.name}"
