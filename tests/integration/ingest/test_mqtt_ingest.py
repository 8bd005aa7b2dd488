"""MQTT ingest against the real broker and database."""

from __future__ import annotations

import orjson

from pulse.db.tx import operator_tx
from tests.factories import Device
from tests.integration.ingest.helpers import publish, wait_for


async def _telemetry(pool, tenant_id: str = "acme") -> list:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch("SELECT * FROM telemetry WHERE tenant_id = $1 ORDER BY seq", tenant_id)


async def _quarantine(pool, tenant_id: str = "acme") -> list:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch("SELECT * FROM quarantine_events WHERE tenant_id = $1 ORDER BY id", tenant_id)


async def test_accepted_message_becomes_row_and_updates_device_state(
    ingest, ingest_settings, pool, device: Device
) -> None:
    await publish(
        ingest_settings,
        [
            (device.topic, device.payload(seq=1, metrics={"temp_c": 21.5, "humidity": 40})),
            (device.topic.replace("telemetry", "heartbeat"), device.payload(seq=2, metrics={})),
            (device.topic, device.payload(seq=3, metrics={"temp_c": 22.0}, lat=52.5, lng=13.4)),
        ],
    )
    rows = await wait_for(lambda: _rows_if(pool, 3))
    assert [r["msg_type"] for r in rows] == ["telemetry", "heartbeat", "telemetry"]
    assert rows[0]["metrics"] == {"temp_c": 21.5, "humidity": 40}
    assert rows[0]["site_id"] == "site-1"
    async with operator_tx(pool, "test") as conn:
        state = await conn.fetchrow("SELECT * FROM device_state WHERE device_id = $1", device.device_id)
        location = await conn.fetchrow(
            "SELECT latitude, longitude FROM device_registry WHERE device_id = $1", device.device_id
        )
    assert state["status"] == "ONLINE"
    assert state["state"] == {"temp_c": 22.0, "humidity": 40}
    assert state["last_heartbeat_at"] is not None and state["last_telemetry_at"] is not None
    assert (location["latitude"], location["longitude"]) == (52.5, 13.4)
    assert await _quarantine(pool) == []


async def _rows_if(pool, count: int):
    rows = await _telemetry(pool)
    return rows if len(rows) >= count else None


async def test_token_is_never_stored_in_quarantine(ingest, ingest_settings, pool, device: Device) -> None:
    await publish(ingest_settings, [(device.topic, device.payload(site_id="elsewhere"))])
    rows = await wait_for(lambda: _quarantine(pool))
    assert rows[0]["reason"] == "SITE_MISMATCH_REGISTRY_VS_PAYLOAD"
    assert device.token not in orjson.dumps(rows[0]["payload"]).decode()
