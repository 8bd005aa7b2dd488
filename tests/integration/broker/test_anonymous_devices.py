"""PULSE_MQTT_ANONYMOUS_DEVICES: clients without credentials (the token travels in the payload) may
publish to device topics and nothing else; off, they cannot connect (issue 11, part 1)."""

from __future__ import annotations

import aiomqtt
import pytest

from pulse.broker.access import ingest_subscription, service_login
from tests.factories import make_device, make_tenant
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
async def anonymous_broker(settings, pool, tmp_path):
    await make_tenant(pool, "acme")
    device = await make_device(pool, "acme", "dev-a")
    s = dynsec_settings(settings, mqtt_anonymous_devices=True)
    async with dynsec_broker(s, tmp_path / "broker", allow_anonymous=True) as s:
        yield s, device


async def test_anonymous_publish_to_a_device_topic_reaches_ingest(anonymous_broker):
    s, _ = anonymous_broker
    async with service_client(s, "ingest", "pulse-ingest-test") as ingest:
        assert not refused(await ingest.subscribe(ingest_subscription(s), qos=1))
        async with client(s) as anon:
            await anon.publish("tenant/acme/device/dev-a/telemetry", b'{"token": "t"}', qos=1)
        got = await received(ingest)
    assert [(str(m.topic), m.payload) for m in got] == [
        ("tenant/acme/device/dev-a/telemetry", b'{"token": "t"}')
    ]


async def test_anonymous_clients_never_subscribe(anonymous_broker):
    s, _ = anonymous_broker
    async with client(s) as anon:
        for topic in ("#", "tenant/acme/device/dev-a/commands/#", "alerts/#", ingest_subscription(s),
                      "$share/x/tenant/+/device/+/+", "$CONTROL/dynamic-security/#"):  # fmt: skip
            assert refused(await anon.subscribe(topic)), topic


async def test_anonymous_publish_elsewhere_is_not_delivered(anonymous_broker):
    s, _ = anonymous_broker
    async with service_client(s, "ingest", "pulse-ingest-test") as ingest:
        await ingest.subscribe(ingest_subscription(s), qos=1)
        async with service_client(s, "admin", "pulse-admin-test") as admin:
            await admin.subscribe("$CONTROL/dynamic-security/#", qos=1)
            async with client(s) as anon:
                for topic in ("alerts/acme/site/dev", "tenant/acme/device/dev-a/x/y", "tenant/acme/other",
                              "$CONTROL/dynamic-security/v1"):  # fmt: skip
                    await anon.publish(topic, b"{}", qos=1)
            assert await received(admin, 0.5) == []
        assert await received(ingest) == []


def persistent(settings, username=None, password=None, identifier=None):
    """A client resuming a persistent MQTT 5 session, the way ingest connects."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    host, port = settings.mqtt_host_port
    return aiomqtt.Client(
        host, port, username=username, password=password, identifier=identifier, clean_start=False,
        properties=properties, protocol=aiomqtt.ProtocolVersion.V5, timeout=5,
    )  # fmt: skip


async def test_anonymous_takeover_of_ingest_client_id_reads_nothing(anonymous_broker):
    """Mosquitto lets any client take over a client id, and anonymous clients have none of their own.
    Receiving is therefore granted only to the subscribing roles (default deny): a taken-over ingest
    session delivers nothing to the anonymous client."""
    s, device = anonymous_broker
    login = service_login(s, "ingest")
    async with persistent(s, *login, "pulse-ingest-test") as ingest:
        assert not refused(await ingest.subscribe(ingest_subscription(s), qos=1))
    async with persistent(s, identifier="pulse-ingest-test") as thief:
        async with client(s, "acme/dev-a", device.token, "acme/dev-a") as dev:
            await dev.publish("tenant/acme/device/dev-a/telemetry", b"secret", qos=1)
        assert await received(thief) == []


async def test_receiving_is_granted_to_the_subscribing_roles(anonymous_broker):
    s, device = anonymous_broker
    async with service_client(s, "ingest", "pulse-ingest-test") as ingest:
        await ingest.subscribe(ingest_subscription(s), qos=1)
        async with client(s, "acme/dev-a", device.token, "acme/dev-a") as dev:
            assert not refused(await dev.subscribe("tenant/acme/device/dev-a/commands/#", qos=1))
            await dev.publish("tenant/acme/device/dev-a/telemetry", b"mine", qos=1)
        assert [m.payload for m in await received(ingest)] == [b"mine"]


async def test_with_the_setting_off_anonymous_connect_is_refused(settings, pool, tmp_path):
    s = dynsec_settings(settings)
    assert s.mqtt_anonymous_devices is False
    async with dynsec_broker(s, tmp_path / "broker", allow_anonymous=s.mqtt_anonymous_devices) as s:
        assert await connect_refused(s)
        assert await connect_refused(s, identifier="anything")
