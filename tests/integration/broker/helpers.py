"""A private Mosquitto with the dynamic-security plugin, built from the test's database the way
`pulse up` builds its own (never the machine's shared anonymous broker)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest
from pydantic import SecretStr

from pulse.broker.access import dynsec_plugin, mosquitto_auth_conf, rebuild_file, service_login
from pulse.embedded import EmbeddedBroker, find_mosquitto

SERVICE_SECRET = SecretStr("test-service-secret-0123456789abcdef")


def dynsec_settings(settings, **extra):
    return settings.model_copy(
        update={"mqtt_auth": "dynsec", "mqtt_service_secret": SERVICE_SECRET, "mqtt_version": "5",
                "ingest_shared_group": "pulse-ingest", **extra}
    )  # fmt: skip


@contextlib.asynccontextmanager
async def dynsec_broker(settings, data_dir: Path, *, allow_anonymous: bool = False):
    """Start a Mosquitto whose dynsec file was rebuilt from the database; yields the settings with its
    URL. Skipped where Mosquitto and its plugin are not installed (`.ci/run` installs Debian's package)."""
    if find_mosquitto() is None or dynsec_plugin() is None:
        pytest.skip("needs Mosquitto with its dynamic-security plugin (Debian: apt-get install mosquitto)")
    path = data_dir / "dynamic-security.json"
    await rebuild_file(settings, path)
    broker = EmbeddedBroker(
        data_dir, port=0, auth_conf=mosquitto_auth_conf(path, allow_anonymous=allow_anonymous)
    )
    await broker.start()
    try:
        yield settings.model_copy(update={"mqtt_url": broker.url})
    finally:
        await broker.stop()


def client(settings, username: str | None = None, password: str | None = None, identifier: str | None = None):
    host, port = settings.mqtt_host_port
    return aiomqtt.Client(
        host, port, username=username, password=password, identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5, timeout=5,
    )  # fmt: skip


def service_client(settings, name: str, identifier: str | None = None):
    username, password = service_login(settings, name)
    return client(settings, username, password, identifier)


def refused(codes) -> bool:
    return all((c.value if hasattr(c, "value") else c) >= 0x80 for c in codes)


async def connect_refused(settings, username=None, password=None, identifier=None) -> bool:
    try:
        async with client(settings, username, password, identifier):
            return False
    except aiomqtt.MqttError:
        return True


async def received(subscriber: aiomqtt.Client, within: float = 1.0) -> list[aiomqtt.Message]:
    messages = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            async for message in subscriber.messages:
                messages.append(message)
    return messages
