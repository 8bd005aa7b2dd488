"""The MQTT channel against the test broker (Mosquitto, or the embedded amqtt fallback: MQTT 3.1.1),
scripted MQTT peers (CONNACK refusals, silence, the PUBLISH packet on the wire) and a TLS Mosquitto
for mqtts://."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from pulse.embedded import free_port
from pulse.notify import configs, ssrf
from pulse.notify.channels import mqtt
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event

LOOPBACK = ssrf.Policy(allow_loopback=True)
OK = SendResult(True, False, Reason.OK)


def alert(**changes) -> AlertEvent:
    return make_event(
        **dict(
            event_id=11,
            tenant_id=f"t-{uuid.uuid4().hex[:12]}",  # a topic of its own per test
            alert_id=4242,
            site_id="site-9",
            device_id="pump-3",
            summary="temp_c above 30",
            created_at=dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
            details={"metric": "temp_c", "value": 31.5},
        )
        | changes
    )


def context(
    mqtt_url: str | None, policy: ssrf.Policy = LOOPBACK, timeout: float = 5.0, ca_file=None
) -> SendContext:
    return SendContext(policy, "msg-1", 0, mqtt_url=mqtt_url, ca_file=ca_file, timeout=timeout)


@contextlib.asynccontextmanager
async def subscriber(url: str, topic_filter: str, qos: int = 1):
    parts = urlsplit(url)
    client = aiomqtt.Client(
        parts.hostname,
        parts.port,
        identifier=f"t{uuid.uuid4().hex[:16]}",
        protocol=aiomqtt.ProtocolVersion.V311,
    )
    async with client:
        await client.subscribe(topic_filter, qos=qos)
        yield client


async def next_message(client: aiomqtt.Client, timeout: float = 5.0) -> aiomqtt.Message:
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            return message


async def nothing_within(client: aiomqtt.Client, seconds: float = 0.5) -> bool:
    try:
        await next_message(client, seconds)
    except TimeoutError:
        return True
    return False


def open_descriptors() -> int:
    """Open files of this process. A broker in this process (amqtt, the scripted peers) may close its
    side of a connection a moment after the channel, so counts are compared with <=."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_gc():
    """Only what is closed explicitly or freed by reference counting closes: a socket kept by a
    reference cycle stays open and is counted."""
    gc.disable()
    yield
    gc.enable()


async def test_publishes_event_json_on_the_resolved_topic(mqtt_url):
    event = alert()
    template = (
        "alerts/{tenant_id}/{severity_label}/{severity}/{site_id}/{device_id}/{alert_type}/{event}/{alert_id}"
    )
    config = mqtt.Config(topic=template)
    async with subscriber(mqtt_url, f"alerts/{event.tenant_id}/#") as client:
        assert await mqtt.send(event, config, None, context(mqtt_url)) == OK
        message = await next_message(client)
    assert str(message.topic) == f"alerts/{event.tenant_id}/CRITICAL/5/site-9/pump-3/THRESHOLD/OPEN/4242"
    assert json.loads(message.payload) == event.to_json()
    assert json.loads(message.payload)["tenant_id"] == event.tenant_id  # the reference's payload lacked it
    assert (message.qos, message.retain) == (1, False)


async def test_placeholder_values_fill_exactly_one_level(mqtt_url):
    event = alert(device_id="a/b+c#d\x00e", site_id="")
    config = mqtt.Config(topic="alerts/{tenant_id}/{device_id}/{site_id}")
    async with subscriber(mqtt_url, f"alerts/{event.tenant_id}/+/+") as client:  # exactly two levels
        assert await mqtt.send(event, config, None, context(mqtt_url)) == OK
        message = await next_message(client)
    assert str(message.topic) == f"alerts/{event.tenant_id}/a_b_c_d_e/"
    assert mqtt.render(event, config)["topic"] == str(message.topic)


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_qos_is_honoured(mqtt_url, qos):
    event = alert()
    # Delivered at the lower of the two QoS (amqtt: at the subscription's), so the subscription uses
    # the same; test_publish_packet checks the QoS on the wire.
    async with subscriber(mqtt_url, f"alerts/{event.tenant_id}/#", qos=qos) as client:
        assert await mqtt.send(event, mqtt.Config(qos=qos), None, context(mqtt_url)) == OK
        message = await next_message(client)
    assert message.qos == qos


async def test_retained_message_reaches_a_late_subscriber(mqtt_url):
    retained, plain = alert(), alert()
    assert await mqtt.send(retained, mqtt.Config(retain=True), None, context(mqtt_url)) == OK
    assert await mqtt.send(plain, mqtt.Config(), None, context(mqtt_url)) == OK
    topic = mqtt.render(retained, mqtt.Config())["topic"]
    try:
        # The plain message first: amqtt hands the retained one to the next subscriber of anything.
        async with subscriber(mqtt_url, f"alerts/{plain.tenant_id}/#") as client:
            assert await nothing_within(client)
        async with subscriber(mqtt_url, topic) as client:
            message = await next_message(client)
        assert (message.retain, json.loads(message.payload)["tenant_id"]) == (True, retained.tenant_id)
    finally:  # an empty retained message clears it from the broker
        async with subscriber(mqtt_url, "alerts/unused") as client:
            await client.publish(topic, b"", qos=1, retain=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_tenant_broker_is_checked_and_reached(mqtt_url, host):
    """A tenant's broker: its address is checked and connected to (for `localhost` each checked address
    in turn, as the broker listens on 127.0.0.1 only)."""
    event = alert()
    config = mqtt.Config(
        topic="alerts/custom/{tenant_id}", broker_url=f"mqtt://{host}:{urlsplit(mqtt_url).port}"
    )
    await mqtt.check(config, LOOPBACK)
    async with subscriber(mqtt_url, f"alerts/custom/{event.tenant_id}") as client:
        assert await mqtt.send(event, config, None, context(None)) == OK
        assert json.loads((await next_message(client)).payload)["alert_id"] == 4242


async def test_allow_listed_tenant_broker_is_reached_by_name(mqtt_url):
    policy = ssrf.Policy.build(False, ["localhost"])  # approved by the operator, loopback or not
    config = mqtt.Config(topic="alerts/x", broker_url=f"mqtt://localhost:{urlsplit(mqtt_url).port}")
    await mqtt.check(config, policy)
    assert await mqtt.send(alert(), config, None, context(None, policy)) == OK


async def test_tenant_broker_refused_by_policy_is_permanent(mqtt_url):
    config = mqtt.Config(broker_url=mqtt_url)
    with pytest.raises(ssrf.Blocked):
        await mqtt.check(config, ssrf.Policy())
    result = await mqtt.send(alert(), config, None, context(mqtt_url, ssrf.Policy()))
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.SSRF_BLOCKED)


async def test_own_broker_is_trusted(mqtt_url):
    await mqtt.check(mqtt.Config(), ssrf.Policy())
    assert await mqtt.send(alert(), mqtt.Config(), None, context(mqtt_url, ssrf.Policy())) == OK


async def test_no_broker_is_a_permanent_config_error():
    result = await mqtt.send(alert(), mqtt.Config(), None, context(None))
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.CONFIG_INVALID)


async def test_broker_down_is_retryable_within_the_timeout():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = await mqtt.send(alert(), mqtt.Config(), None, context(f"mqtt://127.0.0.1:{port}", timeout=2))
    assert time.monotonic() - started < 2
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
async def test_failed_connections_leave_nothing_open(no_gc):
    """`localhost` may resolve to ::1 and 127.0.0.1: both addresses are tried and refused."""
    config = mqtt.Config(broker_url=f"mqtt://localhost:{free_port()}", topic="alerts/x")
    await mqtt.send(alert(), config, None, context(None))  # the pool's first thread
    descriptors = open_descriptors()
    for _ in range(5):
        result = await mqtt.send(alert(), config, None, context(None))
        assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert open_descriptors() <= descriptors


@contextlib.asynccontextmanager
async def scripted_broker(answer: bytes | None):
    """Reads CONNECT, then answers `answer` (a CONNACK) or nothing at all; records what it read."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            received.append(await reader.read(4096))
            if answer is not None:
                writer.write(answer)
                await writer.drain()
            await reader.read()  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"mqtt://127.0.0.1:{server.sockets[0].getsockname()[1]}", received
    finally:
        server.close()


@pytest.mark.parametrize(
    ("return_code", "retryable", "reason"),
    [
        (4, False, Reason.AUTH_ERROR),  # bad user name or password
        (5, False, Reason.AUTH_ERROR),  # not authorized
        (3, True, Reason.SERVER_ERROR),  # server unavailable
        (1, False, Reason.PROVIDER_REJECTED),  # protocol version refused
    ],
)
async def test_connack_refusal(return_code, retryable, reason):
    async with scripted_broker(bytes([0x20, 0x02, 0x00, return_code])) as (url, received):
        config = mqtt.Config(broker_url=url, username="alice", password="pa55word")
        result = await mqtt.send(alert(), config, None, context(None))
    assert (result.ok, result.retryable, result.reason) == (False, retryable, reason)
    assert b"alice" in received[0] and b"pa55word" in received[0]  # the credentials were offered
    assert "pa55word" not in result.detail


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One MQTT control packet: (first byte, the rest after the remaining-length field)."""
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return first, await reader.readexactly(length)


@contextlib.asynccontextmanager
async def publish_peer(*, acknowledge: bool):
    """Accepts the connection, records the PUBLISH packet and acknowledges it (PUBACK; PUBREC, then
    PUBCOMP after PUBREL) or never does. Leaving waits until the client has hung up."""
    publishes: list[tuple[int, bytes]] = []
    handlers: set[asyncio.Task] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await read_packet(reader)  # CONNECT
            writer.write(bytes([0x20, 0x02, 0x00, 0x00]))
            first, body = await read_packet(reader)
            publishes.append((first, body))
            qos, packet_id = (first >> 1) & 3, body[2 + int.from_bytes(body[:2]) :][:2]
            if acknowledge and qos == 1:
                writer.write(bytes([0x40, 0x02]) + packet_id)
            if acknowledge and qos == 2:
                writer.write(bytes([0x50, 0x02]) + packet_id)
                await read_packet(reader)  # PUBREL
                writer.write(bytes([0x70, 0x02]) + packet_id)
            await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"mqtt://127.0.0.1:{server.sockets[0].getsockname()[1]}", publishes
    finally:
        server.close()
        if handlers:
            await asyncio.wait(handlers, timeout=5)


@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_publish_packet(qos, retain):
    event = alert()
    async with publish_peer(acknowledge=True) as (url, publishes):
        config = mqtt.Config(topic="alerts/{tenant_id}", broker_url=url, qos=qos, retain=retain)
        assert await mqtt.send(event, config, None, context(None)) == OK
    ((first, body),) = publishes
    assert (first >> 4, (first >> 1) & 3, first & 1) == (3, qos, int(retain))  # PUBLISH, QoS, RETAIN
    topic_length = int.from_bytes(body[:2])
    assert body[2 : 2 + topic_length].decode() == f"alerts/{event.tenant_id}"
    assert json.loads(body[2 + topic_length + (2 if qos else 0) :]) == event.to_json()


@pytest.mark.parametrize("qos", [1, 2])
async def test_unacknowledged_publish_times_out(qos):
    """Success at QoS 1 and 2 means the broker acknowledged; a broker that never does is a timeout."""
    async with publish_peer(acknowledge=False) as (url, publishes):
        config = mqtt.Config(topic="alerts/x", broker_url=url, qos=qos)
        result = await mqtt.send(alert(), config, None, context(None, timeout=0.5))
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.TIMEOUT)
    assert len(publishes) == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
async def test_silent_broker_times_out_and_leaves_nothing_open(no_gc):
    async with scripted_broker(None) as (url, _):
        config = mqtt.Config(broker_url=url)
        await mqtt.send(alert(), config, None, context(None, timeout=0.3))  # the pool's first thread
        await asyncio.sleep(0.1)  # the scripted broker sees the hang-up
        descriptors = open_descriptors()
        started = time.monotonic()
        result = await mqtt.send(alert(), config, None, context(None, timeout=0.5))
        assert time.monotonic() - started < 1.5
        assert (result.ok, result.retryable, result.reason) == (False, True, Reason.TIMEOUT)
        await asyncio.sleep(0.1)
        assert open_descriptors() <= descriptors


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
async def test_repeated_and_concurrent_sends_leave_nothing_open(mqtt_url, no_gc):
    event = alert()
    async with subscriber(mqtt_url, f"alerts/{event.tenant_id}/#") as client:
        assert await mqtt.send(event, mqtt.Config(), None, context(mqtt_url)) == OK
        await next_message(client)
        descriptors = open_descriptors()
        results = await asyncio.gather(
            *(
                mqtt.send(replace(event, alert_id=n), mqtt.Config(), None, context(mqtt_url))
                for n in range(20)
            )
        )
        assert results == [OK] * 20
        alert_ids = {json.loads((await next_message(client)).payload)["alert_id"] for _ in range(20)}
        assert open_descriptors() <= descriptors
    assert alert_ids == set(range(20))


# mqtts:// against a Mosquitto with a certificate for "localhost" only.


def _certificates(directory: Path) -> Path:
    """A CA and a server certificate for DNS:localhost (no IP address); returns the CA file."""
    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pulse test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(server.public_bytes(pem))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.pem"


@pytest.fixture
async def tls_broker():
    """(port, CA file) of a Mosquitto serving MQTT over TLS on 127.0.0.1."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(binary, os.X_OK):
        pytest.skip("needs the mosquitto binary")
    # Not under pytest's private tmp_path: Mosquitto started as root reads its files as user mosquitto.
    with tempfile.TemporaryDirectory(prefix="pulse-mqtts-") as name:
        directory = Path(name)
        directory.chmod(0o755)
        ca_file, port = _certificates(directory), free_port()
        (directory / "server.key").chmod(0o644)
        conf = directory / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"cafile {ca_file}\ncertfile {directory / 'server.pem'}\nkeyfile {directory / 'server.key'}\n"
        )
        process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            async with asyncio.timeout(10):
                while True:
                    assert process.poll() is None, "mosquitto exited"
                    with (
                        contextlib.suppress(OSError),
                        socket.create_connection(("127.0.0.1", port), timeout=0.2),
                    ):
                        break
                    await asyncio.sleep(0.05)
            yield port, str(ca_file)
        finally:
            process.terminate()
            process.wait(10)


async def test_mqtts_verifies_the_broker_name_while_connecting_to_the_checked_address(tls_broker):
    port, ca_file = tls_broker
    config = mqtt.Config(topic="alerts/tls/{tenant_id}", broker_url=f"mqtts://localhost:{port}")
    assert await mqtt.send(alert(), config, None, context(None, ca_file=ca_file)) == OK


@pytest.mark.parametrize(
    ("host", "trust"),
    [("localhost", False), ("127.0.0.1", True)],  # unknown CA; a certificate not naming the address
)
async def test_mqtts_refuses_an_unverified_broker(tls_broker, host, trust):
    port, ca_file = tls_broker
    config = mqtt.Config(topic="alerts/tls/{tenant_id}", broker_url=f"mqtts://{host}:{port}")
    result = await mqtt.send(alert(), config, None, context(None, ca_file=ca_file if trust else None))
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert "SSL" in result.detail


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"topic": "devices/{tenant_id}/x"}, "topic"),
        ({"topic": "alerts/{tenant_id}/+"}, "topic"),
        ({"topic": "alerts/{tenant_id}/#"}, "topic"),
        ({"topic": "alerts/{tenant_id}/a\x00b"}, "topic"),
        ({"topic": "alerts/{tenant_id}/{message}"}, "topic"),
        ({"topic": "alerts/{tenant_id}/{device_id:>8}"}, "topic"),
        ({"topic": "alerts/{tenant_id}/{device_id"}, "topic"),
        ({"topic": "alerts/{tenant_id}/device_id}"}, "topic"),
        ({"topic": "alerts/{tenant_id}/" + "x" * 512}, "topic"),
        ({"topic": "alerts/{site_id}/{tenant_id}"}, "topic"),  # another tenant's space on Pulse's broker
        ({"qos": 3}, "qos"),
        ({"qos": -1}, "qos"),
        ({"broker_url": "http://broker:1883"}, "broker_url"),
        ({"broker_url": "mqtt://"}, "broker_url"),
        ({"broker_url": "mqtt://u:p@broker:1883"}, "broker_url"),
        ({"broker_url": "mqtt://broker:1883/path"}, "broker_url"),
        ({"broker_url": "mqtt://broker:99999"}, "broker_url"),
        ({"username": "alice", "password": "x"}, "username"),  # credentials need a broker of the tenant's
        ({"broker_url": "mqtt://broker", "password": "x"}, "password"),
        ({"retain": "sometimes"}, "retain"),
        ({"url": "mqtt://broker"}, "url"),
    ],
)
def test_invalid_config_names_the_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        mqtt.Config.model_validate(raw)
    assert field in {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}


@pytest.mark.parametrize(
    "config",
    [
        mqtt.Config(),
        mqtt.Config(topic="alerts/x", qos=2, retain=True, broker_url="mqtt://b", username="u", password="p"),
    ],
)
def test_stored_config_validates_again(config):
    """The API stores every field, defaults included; the worker validates that again."""
    assert mqtt.Config.model_validate(configs.stored(config)) == config


def test_valid_configs():
    assert mqtt.Config().topic == "alerts/{tenant_id}/{site_id}/{device_id}"
    config = mqtt.Config(topic="alerts/x", broker_url="mqtts://broker.example", username="u", password="p")
    assert "'p'" not in repr(config)
    assert mqtt._port(urlsplit(config.broker_url)) == 8883
