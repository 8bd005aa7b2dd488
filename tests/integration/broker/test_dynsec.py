"""The broker enforces per-device topic rules and Pulse's own service accounts (issue 11, part 1)."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from pulse.api.app import create_app
from pulse.broker import control as broker_control
from pulse.broker.access import device_username, ingest_subscription
from tests.factories import make_device, make_tenant
from tests.integration.api.helpers import bearer, client_for
from tests.integration.broker.helpers import (
    client,
    connect_refused,
    dynsec_broker,
    dynsec_settings,
    received,
    refused,
    service_client,
)


@pytest.fixture
async def broker(settings, pool, tmp_path):
    await make_tenant(pool, "acme")
    await make_tenant(pool, "other")
    devices = {
        "a": await make_device(pool, "acme", "dev-a"),
        "b": await make_device(pool, "acme", "dev-b"),
        "o": await make_device(pool, "other", "dev-o"),
    }
    async with dynsec_broker(dynsec_settings(settings), tmp_path / "broker") as s:
        yield s, devices


def login(device):
    name = device_username(device.tenant_id, device.device_id)
    return name, device.token, name


async def test_anonymous_and_wrong_password_refused(broker):
    s, devices = broker
    assert await connect_refused(s)
    name, _, cid = login(devices["a"])
    assert await connect_refused(s, name, "wrong", cid)
    assert not await connect_refused(s, *login(devices["a"]))


async def test_device_publishes_only_its_own_topics_and_cannot_read_others(broker):
    s, devices = broker
    async with service_client(s, "ingest", "pulse-ingest-test") as ingest:
        assert not refused(await ingest.subscribe(ingest_subscription(s), qos=1))
        async with client(s, *login(devices["a"])) as dev:
            await dev.publish("tenant/acme/device/dev-b/telemetry", b"forged", qos=1)
            await dev.publish("tenant/other/device/dev-o/telemetry", b"forged", qos=1)
            await dev.publish("tenant/acme/device/dev-a/telemetry", b"mine", qos=1)
            assert refused(await dev.subscribe("#"))
            assert refused(await dev.subscribe("tenant/acme/device/dev-b/commands/#"))
            assert not refused(await dev.subscribe("tenant/acme/device/dev-a/commands/#"))
        got = await received(ingest)
    assert [(str(m.topic), m.payload) for m in got] == [("tenant/acme/device/dev-a/telemetry", b"mine")]


async def test_only_ingest_joins_its_shared_group(broker):
    s, devices = broker
    subscription = ingest_subscription(s)
    async with client(s, *login(devices["a"])) as dev:
        assert refused(await dev.subscribe(subscription))
        assert refused(await dev.subscribe("$share/other/tenant/+/device/+/+"))
    async with service_client(s, "notify") as notify:
        assert refused(await notify.subscribe(subscription))
        assert refused(await notify.subscribe("alerts/#"))
    async with service_client(s, "ingest") as ingest:
        assert not refused(await ingest.subscribe(subscription))
        assert refused(await ingest.subscribe("#"))


async def test_service_client_ids_cannot_be_taken_over(broker):
    s, devices = broker
    name, token, _ = login(devices["a"])
    assert await connect_refused(s, name, token, "pulse-ingest-test")
    assert await connect_refused(s, name, token, "acme/dev-b")
    assert await connect_refused(s, "pulse-ingest", "guess", "pulse-ingest-test")


async def test_notify_publishes_alerts_only(broker):
    s, _ = broker
    async with service_client(s, "ingest") as ingest:
        await ingest.subscribe(ingest_subscription(s), qos=1)
        async with service_client(s, "notify") as notify:
            await notify.publish("alerts/acme/site/dev", b"{}", qos=1)
            await notify.publish("tenant/acme/device/dev-a/telemetry", b"forged", qos=1)
        assert await received(ingest) == []


async def test_rotation_and_revocation_reach_the_broker_within_seconds(broker):
    s, devices = broker
    a = devices["a"]
    name, old, cid = login(a)
    async with client(s, name, old, cid) as live:
        await broker_control.set_device_password(s, a.tenant_id, a.device_id, "new-password-0123456789")
        with pytest.raises(aiomqtt.MqttError):  # the old session is dropped at once
            async with asyncio.timeout(5):
                await live.publish("tenant/acme/device/dev-a/telemetry", b"x", qos=1)
                await asyncio.sleep(5)
    assert await connect_refused(s, name, old, cid)
    assert not await connect_refused(s, name, "new-password-0123456789", cid)
    async with client(s, name, "new-password-0123456789", cid) as live:
        await broker_control.remove_device(s, a.tenant_id, a.device_id)
        with pytest.raises(aiomqtt.MqttError):
            async with asyncio.timeout(5):
                await asyncio.sleep(0.5)
                await live.publish("tenant/acme/device/dev-a/telemetry", b"x", qos=1)
                await asyncio.sleep(5)
    assert await connect_refused(s, name, "new-password-0123456789", cid)


async def _logs_in(s, username: str, password: str, identifier: str) -> bool:
    """The account reaches the broker after the API's commit (a background task): wait a bounded while."""
    for _ in range(50):
        if not await connect_refused(s, username, password, identifier):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_devices_and_api_tokens_made_through_the_customer_api_log_in(broker, pool):
    s, _ = broker
    app = create_app(s, pool)
    async with client_for(app) as http:
        admin = await bearer(app, ["tenant-admin"], "acme")
        created = await http.post(
            "/customer/devices", headers=admin, json={"device_id": "dev-new", "site_id": "default-site"}
        )
        assert created.status_code == 201, created.text
        name = device_username("acme", "dev-new")
        assert await _logs_in(s, name, created.json()["provision_token"], name)

        first = (await http.post("/customer/devices/dev-new/tokens/rotate", headers=admin)).json()
        assert await _logs_in(s, first["client_id"], first["password"], first["client_id"])
        second = (await http.post("/customer/devices/dev-new/tokens/rotate", headers=admin)).json()
        assert await _logs_in(s, second["client_id"], second["password"], second["client_id"])
        assert await connect_refused(s, first["client_id"], first["password"], first["client_id"])

        (token,) = (await http.get("/customer/devices/dev-new/tokens", headers=admin)).json()["tokens"]
        gone = await http.delete(f"/customer/devices/dev-new/tokens/{token['id']}", headers=admin)
        assert gone.status_code == 204
    for _ in range(50):
        if await connect_refused(s, second["client_id"], second["password"], second["client_id"]):
            break
        await asyncio.sleep(0.1)
    assert await connect_refused(s, second["client_id"], second["password"], second["client_id"])
    async with client(s, name, created.json()["provision_token"], name) as dev:  # its own rights only
        assert refused(await dev.subscribe("tenant/acme/device/dev-a/commands/#"))


async def test_a_tenants_alert_readers_read_its_alerts_and_nothing_else(broker, pool):
    s, _ = broker
    app = create_app(s, pool)
    async with client_for(app) as http:
        admin = await bearer(app, ["tenant-admin"], "acme")
        made = await http.post("/customer/broker-accounts", headers=admin, json={"label": "scada"})
        assert made.status_code == 201, made.text
        reader = made.json()
        assert reader["topic_filter"] == "alerts/acme/#" and reader["client_id"] == reader["username"]
        listed = (await http.get("/customer/broker-accounts", headers=admin)).json()
        assert [a["username"] for a in listed["accounts"]] == [reader["username"]]
        assert "password" not in listed["accounts"][0]
        login = (reader["username"], reader["password"], reader["client_id"])
        assert await _logs_in(s, *login)
        async with client(s, *login) as sub:
            assert not refused(await sub.subscribe("alerts/acme/#", qos=1))
            assert refused(await sub.subscribe("alerts/other/#"))
            assert refused(await sub.subscribe("tenant/acme/device/+/+"))
            async with service_client(s, "notify") as notify:
                await notify.publish("alerts/acme/site/dev-a", b"{}", qos=1)
                await notify.publish("alerts/other/site/dev-o", b"{}", qos=1)
            await sub.publish("tenant/acme/device/dev-a/telemetry", b"forged", qos=1)
            got = await received(sub)
        assert [str(m.topic) for m in got] == ["alerts/acme/site/dev-a"]
        other = await bearer(app, ["tenant-admin"], "other")
        assert (
            await http.delete(f"/customer/broker-accounts/{reader['id']}", headers=other)
        ).status_code == 404
        assert (
            await http.delete(f"/customer/broker-accounts/{reader['id']}", headers=admin)
        ).status_code == 204
    for _ in range(50):
        if await connect_refused(s, *login):
            break
        await asyncio.sleep(0.1)
    assert await connect_refused(s, *login)
