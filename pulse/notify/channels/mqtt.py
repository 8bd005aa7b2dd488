"""MQTT: the alert event as JSON (`AlertEvent.to_json`, tenant_id included) on a topic built from a
template, published to Pulse's own broker or to the tenant's.

Topic templates start with `alerts/` and may use {tenant_id} {severity} {severity_label} {site_id}
{device_id} {alert_id} {alert_type} {event}. A placeholder's value fills exactly one topic level: `/`,
`+`, `#`, NUL and control characters in it become `_`, so a device named `a/b` or `#` cannot move the
message to another level or publish to a wildcard (which brokers reject). Replacing beats escaping here:
subscribers filter by level (`alerts/t1/+/CRITICAL/#`) and an escape character would need escaping too.
On Pulse's own broker, which all tenants share, the topic must start with `alerts/{tenant_id}/`.

Each message gets its own connection (MQTT 3.1.1, clean session): connect, publish, wait for the
broker's PUBACK (QoS 1) or PUBCOMP (QoS 2) — for QoS 0, until the message is written — and
disconnect, all within the send timeout. A refused or unreachable broker is retryable; a CONNACK
refusing the credentials is permanent.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import orjson
import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from pulse.broker.access import process_login
from pulse.notify import ssrf
from pulse.notify.channels.base import Reason, SendContext, SendResult, field_errors
from pulse.notify.events import AlertEvent

kind = "mqtt"
DESTINATION_FIELDS = ("broker_url",)  # where the password is sent (None: Pulse's own broker)

PLACEHOLDERS = frozenset(
    {"tenant_id", "severity", "severity_label", "site_id", "device_id", "alert_id", "alert_type", "event"}
)
DEFAULT_TOPIC = "alerts/{tenant_id}/{site_id}/{device_id}"
OWN_BROKER_PREFIX = "alerts/{tenant_id}/"
PORTS = {"mqtt": 1883, "mqtts": 8883, "tcp": 1883}
KEEPALIVE = 60
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LEVEL_BREAKERS = re.compile(r"[/+#\x00-\x1f\x7f-\x9f]")
# CONNACK reason codes (MQTT 3.1.1 return codes as paho maps them to MQTT 5 reasons).
AUTH_REFUSALS = frozenset({0x86, 0x87, 0x8C})  # bad user name or password, not authorized, bad auth method
BUSY_REFUSALS = frozenset({0x88, 0x89, 0x97, 0x9F})  # unavailable, busy, quota exceeded, rate exceeded

# paho's connect blocks (TCP, TLS handshake) and each send waits for its broker: these threads do that,
# not the default executor whose threads every channel's DNS look-ups need.
_EXECUTOR = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pulse-mqtt")


class Config(BaseModel):
    """`integrations.config_json` of an mqtt integration."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(DEFAULT_TOPIC, max_length=512)
    qos: int = Field(1, ge=0, le=2)
    retain: bool = False
    broker_url: str | None = Field(None, max_length=300)  # None: Pulse's own broker
    username: str | None = Field(None, min_length=1, max_length=256)
    password: SecretStr | None = Field(None, min_length=1, max_length=256)

    @field_validator("topic")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        if not value.startswith("alerts/"):
            raise ValueError("must start with alerts/")
        if any(char in value for char in "+#\x00"):
            raise ValueError("must not contain +, # or NUL")
        unknown = sorted(set(_PLACEHOLDER.findall(value)) - PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0][:40]}}}; allowed: {', '.join(sorted(PLACEHOLDERS))}"
            )
        if set("{}") & set(_PLACEHOLDER.sub("", value)):
            raise ValueError("a { or } outside a placeholder")
        return value

    @field_validator("broker_url")
    @classmethod
    def _valid_broker_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must look like mqtt://host:port or mqtts://host:port")
        if "@" in parts.netloc:
            raise ValueError("credentials belong in username and password")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must have no path, query or fragment")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
        except ValueError:
            raise ValueError("bad port") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        problems = []
        if self.broker_url is None:
            if not self.topic.startswith(OWN_BROKER_PREFIX):
                problems.append(("topic", f"on Pulse's broker it must start with {OWN_BROKER_PREFIX}"))
            problems += [
                (name, "only with broker_url")
                for name in ("username", "password")
                if getattr(self, name) is not None
            ]
        elif self.password is not None and self.username is None:
            problems.append(("password", "needs a username"))
        if problems:
            raise field_errors(problems)
        return self


def topic(template: str, event: AlertEvent) -> str:
    values = {
        "tenant_id": event.tenant_id,
        "severity": str(event.severity),
        "severity_label": event.severity_label,
        "site_id": event.site_id,
        "device_id": event.device_id,
        "alert_id": str(event.alert_id),
        "alert_type": event.alert_type,
        "event": event.event,
    }
    return _PLACEHOLDER.sub(lambda match: _LEVEL_BREAKERS.sub("_", values[match[1]]), template)


def render(event: AlertEvent, config: Config) -> dict[str, Any]:
    return {
        "topic": topic(config.topic, event),
        "payload": event.to_json(),
        "qos": config.qos,
        "retain": config.retain,
    }


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: a tenant's broker must pass the outbound-safety check (raises ssrf.Blocked).
    Pulse's own broker is trusted."""
    if config.broker_url is not None:
        parts = urlsplit(config.broker_url)
        await ssrf.check_host(parts.hostname, _port(parts), policy)


@dataclass(frozen=True)
class _Broker:
    addresses: list[str]  # tried in order
    port: int
    tls_name: str | None  # mqtts: the name the certificate must carry
    ca_file: str | None
    username: str | None
    password: str | None = field(repr=False)
    label: str  # for details: never credentials


class _NoBroker(Exception):
    pass


class _Refused(Exception):
    def __init__(self, reason: ReasonCode):
        super().__init__(str(reason))
        self.reason = reason


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    message = render(event, config)
    try:
        broker = await _broker(config, ctx)
    except _NoBroker:
        return SendResult(False, False, Reason.CONFIG_INVALID, detail="no broker_url and Pulse has no broker")
    except ssrf.Unresolvable as exc:
        return SendResult(False, True, Reason.NETWORK, detail=str(exc))
    except ssrf.Blocked as exc:
        return SendResult(False, False, Reason.SSRF_BLOCKED, detail=str(exc))
    deadline = time.monotonic() + ctx.timeout  # counts the wait for a free thread too
    try:
        await asyncio.get_running_loop().run_in_executor(_EXECUTOR, _publish, broker, message, deadline)
    except _Refused as exc:
        return _refused(exc.reason, broker.label)
    except TimeoutError:
        return SendResult(
            False,
            True,
            Reason.TIMEOUT,
            detail=f"no acknowledgement within {ctx.timeout}s from {broker.label}",
        )
    except (OSError, ValueError) as exc:  # socket and TLS errors; paho raises ValueError for a bad address
        return SendResult(False, True, Reason.NETWORK, detail=f"{type(exc).__name__} from {broker.label}")
    return SendResult(True, False, Reason.OK)


def _refused(reason: ReasonCode, label: str) -> SendResult:
    detail = f"connack {reason} from {label}"
    if reason.value in AUTH_REFUSALS:
        return SendResult(False, False, Reason.AUTH_ERROR, detail=detail)
    if reason.value in BUSY_REFUSALS:
        return SendResult(False, True, Reason.SERVER_ERROR, detail=detail)
    return SendResult(False, False, Reason.PROVIDER_REJECTED, detail=detail)


async def _broker(config: Config, ctx: SendContext) -> _Broker:
    """Where to connect: Pulse's broker by name (trusted), a tenant's at the addresses its check passed
    (a DNS answer that changed since cannot redirect the connection; TLS still verifies the name)."""
    if config.broker_url is None:
        if not ctx.mqtt_url:
            raise _NoBroker
        parts = urlsplit(ctx.mqtt_url)
        username, password = process_login("notify") or (
            None,
            None,
        )  # its own account on an authenticated broker
        return _Broker([parts.hostname], _port(parts), None, None, username, password, "Pulse's broker")
    parts = urlsplit(config.broker_url)
    port = _port(parts)
    addresses = [str(ip) for ip in await ssrf.check_host(parts.hostname, port, ctx.policy)]
    return _Broker(
        addresses or [parts.hostname],  # an allow-listed host: as it is
        port,
        parts.hostname if parts.scheme == "mqtts" else None,
        ctx.ca_file,
        config.username,
        None if config.password is None else config.password.get_secret_value(),
        f"{parts.scheme}://{parts.hostname}:{port}",
    )


def _port(parts: SplitResult) -> int:
    return parts.port or PORTS[parts.scheme]


def _publish(broker: _Broker, message: dict[str, Any], deadline: float) -> None:
    """In a worker thread: connect, publish, wait until the broker has the message, disconnect."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=f"pulse{secrets.token_hex(8)}", protocol=paho.MQTTv311
    )
    connack: list[ReasonCode] = []
    client.on_connect = lambda _client, _userdata, _flags, reason, _properties: connack.append(reason)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls_name is not None:
        client.tls_set_context(_tls(broker.tls_name, broker.ca_file))
    try:
        _connect(client, broker, deadline)
        _run_until(client, lambda: bool(connack), deadline)
        if connack[0].is_failure:
            raise _Refused(connack[0])
        payload = orjson.dumps(message["payload"])
        info = client.publish(message["topic"], payload, message["qos"], message["retain"])
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise ConnectionError(paho.error_string(info.rc))
        _run_until(client, info.is_published, deadline)
        client.disconnect()
    finally:
        # disconnect() closes the socket once DISCONNECT is written; this covers every other way out
        # (paho's wake-up socket pair goes with the client object).
        sock = client.socket()
        if sock is not None:
            sock.close()


def _connect(client: paho.Client, broker: _Broker, deadline: float) -> None:
    """Connect to the first address that accepts, as socket.create_connection does with a name's."""
    last = len(broker.addresses) - 1
    for index, address in enumerate(broker.addresses):
        client.connect_timeout = _remaining(deadline)
        try:
            client.connect(address, broker.port, keepalive=KEEPALIVE)
        except OSError:
            if index == last:
                raise
        else:
            return


def _run_until(client: paho.Client, done: Callable[[], bool], deadline: float) -> None:
    """Drive paho's network loop until `done()` (its callbacks run in here), the deadline or a failure."""
    while not done():
        rc = client.loop(timeout=min(_remaining(deadline), 1.0))
        if rc != paho.MQTT_ERR_SUCCESS and not done():
            raise ConnectionError(paho.error_string(rc))


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the broker did not answer in time")
    return remaining


def _tls(server_name: str, ca_file: str | None) -> ssl.SSLContext:
    context = _NamedTLSContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the name
    context.server_name = server_name
    context.load_default_certs()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


class _NamedTLSContext(ssl.SSLContext):
    """paho connects to the checked address and would use it for SNI and the certificate check; this
    context uses the broker's name instead."""

    server_name: str

    def wrap_socket(
        self, sock: socket.socket, *args: Any, server_hostname: str | None = None, **kwargs: Any
    ) -> ssl.SSLSocket:
        return super().wrap_socket(sock, *args, server_hostname=self.server_name, **kwargs)
