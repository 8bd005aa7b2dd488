"""Both embedded brokers carry a message end to end and release their port when stopped."""

import asyncio
import shutil
from pathlib import Path

import aiomqtt
import pytest

from pulse.embedded import EmbeddedBroker, port_is_free

KINDS = ["amqtt"] + (
    ["mosquitto"] if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists() else []
)


@pytest.mark.parametrize("kind", KINDS)
async def test_publish_subscribe_roundtrip(tmp_path: Path, kind: str) -> None:
    broker = EmbeddedBroker(tmp_path, port=0, prefer_mosquitto=kind == "mosquitto")
    await broker.start()
    try:
        assert broker.kind == kind
        assert broker.supports_shared_subscriptions == (kind == "mosquitto")
        async with (
            aiomqtt.Client("127.0.0.1", broker.port) as sub,
            aiomqtt.Client("127.0.0.1", broker.port) as pub,
        ):
            await sub.subscribe("tenant/+/device/+/telemetry", qos=1)
            await pub.publish("tenant/acme/device/d1/telemetry", b'{"metrics": {"t": 1}}', qos=1)
            async with asyncio.timeout(10):
                message = await anext(aiter(sub.messages))
        assert str(message.topic) == "tenant/acme/device/d1/telemetry"
        assert message.payload == b'{"metrics": {"t": 1}}'
    finally:
        await broker.stop()
    assert port_is_free(broker.port)
