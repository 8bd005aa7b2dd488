"""WebSocket /api/v2/ws: authentication, per-tenant fan-out from LISTEN/NOTIFY, filters, and
telemetry published over MQTT arriving at the right tenant's socket only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import aiomqtt
import pytest
import websockets

from pulse.db.tx import operator_tx
from pulse.ingest import service as ingest_service
from pulse.provisioning.devices import register_device
from tests.integration.api.helpers import bearer
from tests.integration.api.live_server import serve


@pytest.fixture
async def server(app):
    async with serve(app) as address:
        yield address
    await app.state.live_hub.close()


async def _connect(address: str, headers: dict | None, *, via_query: bool = False):
    token = headers["Authorization"].removeprefix("Bearer ") if headers else None
    url = f"ws://{address}/api/v2/ws" + (f"?token={token}" if via_query and token else "")
    ws = await websockets.connect(url)
    if token and not via_query:
        await ws.send(json.dumps({"action": "auth", "token": token}))
    return ws


async def _receive(ws, kind: str, timeout: float = 10.0, predicate=lambda m: True) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind and predicate(message):
                return message


async def _drain(ws, seconds: float = 0.5) -> list[dict]:
    messages = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                messages.append(json.loads(await ws.recv()))
    return messages


async def _close_code(ws) -> int:
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    return ws.close_code


async def test_authentication(app, server, tenants) -> None:
    silent = await _connect(server, None)
    await silent.send(json.dumps({"action": "subscribe", "type": "alerts"}))  # not an auth message
    assert await _close_code(silent) == 4001
    assert await _close_code(await _connect(server, {"Authorization": "Bearer junk"})) == 4001
    expired = await bearer(app, ["customer"], tenants[0], exp=1)
    assert await _close_code(await _connect(server, expired)) == 4001
    operator = await bearer(app, ["operator"], None)
    assert await _close_code(await _connect(server, operator)) == 4003
    ws = await _connect(server, await bearer(app, ["customer"], tenants[0]), via_query=True)
    hello = await _receive(ws, "hello")
    assert hello["tenant_id"] == tenants[0]
    await ws.close()


async def _state_change(pool, tenant: str, device: str, temp: float) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at, last_telemetry_at, state)
               VALUES ($1, $2, 's', 'ONLINE', now(), now(), jsonb_build_object('temp_c', $3::float8))
               ON CONFLICT (tenant_id, device_id) DO UPDATE
                  SET last_seen_at = now(), last_telemetry_at = now(), state = EXCLUDED.state""",
            tenant,
            device,
            temp,
        )


async def test_each_tenant_gets_only_its_own_events(app, server, pool, tenants) -> None:
    a, b = tenants
    async with operator_tx(pool, "test") as conn:
        for tenant, device in ((a, "dev-a"), (b, "dev-b")):
            await register_device(conn, tenant, device, "s", credential="none")
    ws_a = await _connect(server, await bearer(app, ["customer"], a))
    ws_b = await _connect(server, await bearer(app, ["customer"], b))
    await _receive(ws_a, "hello")
    await _receive(ws_b, "hello")
    await asyncio.wait_for(app.state.live_hub.listening.wait(), 10)

    await _state_change(pool, a, "dev-a", 30.0)
    await _state_change(pool, b, "dev-b", 99.0)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, summary) VALUES ($1, 's', 'dev-a', 'THRESHOLD', 'f', 'hot')",
            a,
        )
    telemetry = await _receive(ws_a, "telemetry")
    assert telemetry["device_id"] == "dev-a" and telemetry["data"]["metrics"] == {"temp_c": 30.0}
    alerts = await _receive(ws_a, "alerts")
    assert [(x["device_id"], x["event"]) for x in alerts["alerts"]] == [("dev-a", "OPENED")]
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE alerts SET status = 'CLOSED', closed_at = now() WHERE tenant_id = $1", a)
    closed = await _receive(ws_a, "alerts")  # every event streams, not only new alerts
    assert [(x["event"], x["status"]) for x in closed["alerts"]][-1] == ("CLOSED", "CLOSED")
    seen_by_b = [await _receive(ws_b, "telemetry")] + await _drain(ws_b)
    assert all(m.get("device_id", "dev-b") == "dev-b" for m in seen_by_b)
    assert not [m for m in seen_by_b if m["type"] == "alerts"]
    seen_by_a = await _drain(ws_a)
    assert not [m for m in seen_by_a if "dev-b" in json.dumps(m)]
    await ws_a.close()
    await ws_b.close()


async def test_filters(app, server, pool, tenants) -> None:
    a = tenants[0]
    async with operator_tx(pool, "test") as conn:
        for device in ("d1", "d2"):
            await register_device(conn, a, device, "s", credential="none")
    ws = await _connect(server, await bearer(app, ["customer"], a))
    await _receive(ws, "hello")
    await ws.send(json.dumps({"action": "subscribe", "type": "device", "device_id": "d2"}))
    assert await _receive(ws, "subscribed") == {"type": "subscribed", "channel": "device", "device_id": "d2"}
    await ws.send(json.dumps({"action": "unsubscribe", "type": "device_state"}))
    await _receive(ws, "unsubscribed")
    await ws.send("not json")
    assert (await _receive(ws, "error"))["message"].startswith("send JSON")
    await ws.send(json.dumps({"action": "subscribe", "type": "device"}))
    assert (await _receive(ws, "error"))["message"] == "device_id required for device subscription"
    await asyncio.wait_for(app.state.live_hub.listening.wait(), 10)
    await _state_change(pool, a, "d1", 1.0)
    await _state_change(pool, a, "d2", 2.0)
    got = await _receive(ws, "telemetry")
    assert got["device_id"] == "d2"
    rest = await _drain(ws)
    assert not [m for m in rest if m["type"] == "device_state" or m.get("device_id") == "d1"]
    await ws.close()


async def test_mqtt_telemetry_reaches_the_tenants_socket_only(app, server, pool, tenants, settings) -> None:
    a, b = tenants
    async with operator_tx(pool, "test") as conn:
        dev_a = await register_device(conn, a, "sensor-a", "s", credential="token")
        dev_b = await register_device(conn, b, "sensor-b", "s", credential="token")
    suffix = uuid.uuid4().hex[:8]
    ingest_settings = settings.model_copy(
        update={
            "ingest_client_id": f"live-{suffix}",
            "ingest_shared_group": f"g{suffix}" if settings.ingest_shared_group else "",
            "ingest_flush_ms": 20,
        }
    )
    ingest = asyncio.create_task(ingest_service.run(ingest_settings))
    ws_a = await _connect(server, await bearer(app, ["customer"], a))
    ws_b = await _connect(server, await bearer(app, ["customer"], b))
    await _receive(ws_a, "hello")
    await _receive(ws_b, "hello")
    await asyncio.wait_for(app.state.live_hub.listening.wait(), 10)
    host, port = settings.mqtt_host_port
    try:
        async with aiomqtt.Client(host, port, identifier=f"pub-{suffix}") as mqtt:

            async def publish(device, value: float) -> None:
                body = {
                    "site_id": "s",
                    "provision_token": device.provision_token,
                    "metrics": {"temp_c": value},
                }
                await mqtt.publish(
                    f"tenant/{device.tenant_id}/device/{device.device_id}/telemetry", json.dumps(body), qos=1
                )

            received = None
            async with asyncio.timeout(30):
                while received is None:  # the ingest service may still be subscribing: publish until it lands
                    if ingest.done():
                        ingest.result()
                    await publish(dev_a, 42.5)
                    await publish(dev_b, 7.0)
                    with contextlib.suppress(TimeoutError):
                        received = await _receive(ws_a, "telemetry", timeout=1.0)
        assert received["device_id"] == "sensor-a" and received["data"]["metrics"]["temp_c"] == 42.5
        from_a = [m for m in await _drain(ws_a) if m["type"] == "telemetry"]
        assert all(m["device_id"] == "sensor-a" for m in from_a)
        from_b = [
            m
            for m in [await _receive(ws_b, "telemetry", timeout=10)] + await _drain(ws_b)
            if m["type"] == "telemetry"
        ]
        assert from_b and all(m["device_id"] == "sensor-b" for m in from_b)
    finally:
        ingest.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ingest
        await ws_a.close()
        await ws_b.close()


async def test_connections_are_capped_per_user_and_per_address(app, server, tenants) -> None:
    app.state.ws_counts = None  # re-read the caps below
    app.state.settings = app.state.settings.model_copy(
        update={"ws_max_connections_per_user": 2, "ws_max_connections_per_ip": 3}
    )
    alice = await bearer(app, ["customer"], tenants[0], sub="ws-alice")
    bob = await bearer(app, ["customer"], tenants[0], sub="ws-bob")
    first, second = await _connect(server, alice), await _connect(server, alice)
    for ws in (first, second):
        await _receive(ws, "hello")
    assert await _close_code(await _connect(server, alice)) == 4029  # third for one user
    third = await _connect(server, bob)
    await _receive(third, "hello")
    # The fourth from one address is refused at the handshake, before any auth message.
    assert await _close_code(await _connect(server, bob, via_query=True)) == 4029
    await first.close()
    for _ in range(50):  # a closed socket frees its place once the server has unwound it
        again = await _connect(server, bob, via_query=True)
        with contextlib.suppress(websockets.ConnectionClosed):
            if json.loads(await again.recv())["type"] == "hello":
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the closed socket's place was never freed")
