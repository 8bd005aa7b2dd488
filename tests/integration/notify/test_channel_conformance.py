"""The channel contract, checked for every channel in the registry (`CHANNELS`).

Each kind needs an entry in `SPECS`: a sample config carrying every kind of secret the channel has, and
how to deliver to a local receiver. A channel added to the registry without one fails
`test_every_registered_channel_has_a_spec` (and every test below for that kind), so nobody can add a
channel without these checks:

- `Config` rejects unknown keys; the sample config validates, also again as stored;
- secrets never appear in the config's repr, its JSON dump, or the config as the API shows it;
- `render` of a sample event carries the event and is deterministic;
- `send` delivers to a local receiver (HTTP server, aiosmtpd, pysnmp trap receiver, the test broker);
- HTTP channels classify a table of statuses (ok / retryable / reason / Retry-After);
- no secret appears in `SendResult.detail` when the receiver fails or refuses the connection, and none
  survives the scrub the worker applies when a provider's error body echoes the secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from pydantic import BaseModel, ValidationError

from pulse.embedded import free_port
from pulse.notify import configs, ssrf
from pulse.notify.channels import CHANNELS, conforming
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.deliver import scrub, secrets_of
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event
from tests.integration.notify.helpers import Answer, Receiver
from tests.integration.notify.snmp_receiver import TrapReceiver

LOOPBACK = ssrf.Policy(allow_loopback=True)
WEBHOOK_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
HEADER_VALUE = "Bearer hdr-t0ken-s3cret-value"
# The receiver serves under /hook: the Slack URL path (the secret part) is hook/services/….
SLACK_PATH = "hook/services/T0000/B0000/sl4ck-t0ken-s3cret"
TEAMS_TOKEN = "t3ams-t0ken-s3cret"
TEAMS_PATH = f"webhookb2/abc-123@def/IncomingWebhook/{TEAMS_TOKEN}/456"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
SMTP_PASSWORD = "smtp-Passw0rd-s3cret"
SNMP_AUTH, SNMP_PRIV = "snmp-auth-s3cret", "snmp-priv-s3cret"
SNMP_COMMUNITY = "c0mmunity-s3cret"
MQTT_PASSWORD = "mqtt-Passw0rd-s3cret"


def event(**overrides) -> AlertEvent:
    return make_event(**({"device_id": "pump-conformance", "details": {"temp_c": 31.5}} | overrides))


def context(mqtt_url: str | None = None) -> SendContext:
    return SendContext(LOOPBACK, "msg-conformance-1", 1_767_225_600, mqtt_url=mqtt_url, timeout=5.0)


async def send(kind: str, raw: dict, mqtt_url: str | None = None) -> SendResult:
    module = CHANNELS[kind]
    config = module.Config.model_validate(raw)
    async with httpx.AsyncClient(timeout=5.0) as http:
        return await module.send(event(), config, http, context(mqtt_url))


# --- delivery to a local receiver, per kind of transport --------------------------------------------

Deliver = Callable[["Spec", str], Awaitable[None]]


async def deliver_http(spec: Spec, mqtt_url: str) -> None:
    async with Receiver() as receiver, httpx.AsyncClient(timeout=5.0) as http:
        raw = spec.config(urlsplit(receiver.url).port)
        module = CHANNELS[spec.kind]
        config = module.Config.model_validate(raw)
        result = await module.send(event(), config, http, context())
    assert result.ok, result
    (request,) = receiver.requests
    assert request.method == "POST" and request.path.startswith("/hook")
    assert request.json() == orjson.loads(orjson.dumps(module.render(event(), config)))


@dataclass
class _Mailbox:
    received: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK queued"


async def deliver_email(spec: Spec, mqtt_url: str) -> None:
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        raw = spec.config(controller.port) | {"smtp_tls": "none"}  # aiosmtpd here speaks no TLS
        del raw["smtp_user"], raw["smtp_password"]  # so no credentials (never in clear)
        result = await send("email", raw, mqtt_url)
    finally:
        controller.stop()
    assert result.ok, result
    (envelope,) = mailbox.received
    assert envelope.rcpt_tos == raw["to"] and b"pump-conformance" in envelope.content


async def deliver_snmp(spec: Spec, mqtt_url: str) -> None:
    async with TrapReceiver(community=SNMP_COMMUNITY) as receiver:
        raw = {"host": "127.0.0.1", "port": receiver.port, "community": SNMP_COMMUNITY}
        result = await send("snmp", raw, mqtt_url)
        assert result.ok, result
        (trap,) = await receiver.wait_for(1)
    assert ("OctetString", "pump-conformance") in [(t, v) for _, t, v in trap.varbinds]


async def deliver_mqtt(spec: Spec, mqtt_url: str) -> None:
    port = urlsplit(mqtt_url).port
    raw = spec.config(port)
    del raw["username"], raw["password"]  # the test broker takes anonymous clients
    topic = f"alerts/conformance/{event().tenant_id}/pump-conformance"
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311) as client:
        await client.subscribe(topic, qos=1)
        result = await send("mqtt", raw, mqtt_url)
        assert result.ok, result
        async with asyncio.timeout(5):
            message = await anext(aiter(client.messages))
    assert json.loads(message.payload) == event().to_json()


@dataclass(frozen=True)
class Spec:
    kind: str
    config: Callable[[int], dict]  # a valid config aimed at 127.0.0.1:port, every secret set
    secrets: tuple[str, ...]  # strings of that config that must never be shown
    deliver: Deliver
    http: bool = False
    # Secrets the model itself holds as plain values (header values are a dict): its repr and JSON
    # dump show them, only `configs.masked` (what the API shows) hides them.
    plain_in_model: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {
    spec.kind: spec
    for spec in (
        Spec(
            "webhook",
            lambda port: {
                "url": f"http://127.0.0.1:{port}/hook",
                "secret": WEBHOOK_SECRET,
                "headers": {"Authorization": HEADER_VALUE},
            },
            (WEBHOOK_SECRET, HEADER_VALUE),
            deliver_http,
            http=True,
            plain_in_model=(HEADER_VALUE,),
        ),
        Spec(
            "slack",
            lambda port: {"url": f"http://127.0.0.1:{port}/{SLACK_PATH}"},
            (SLACK_PATH,),
            deliver_http,
            http=True,
        ),
        Spec(
            "pagerduty",
            lambda port: {"routing_key": ROUTING_KEY, "url": f"http://127.0.0.1:{port}/hook"},
            (ROUTING_KEY,),
            deliver_http,
            http=True,
        ),
        Spec(
            "teams",
            lambda port: {"url": f"http://127.0.0.1:{port}/hook/{TEAMS_PATH}"},
            (TEAMS_TOKEN,),
            deliver_http,
            http=True,
        ),
        Spec(
            "email",
            lambda port: {
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_tls": "starttls",
                "smtp_user": "alerts@example.com",
                "smtp_password": SMTP_PASSWORD,
                "from_address": "pulse@example.com",
                "to": ["ops@example.com"],
            },
            (SMTP_PASSWORD,),
            deliver_email,
        ),
        Spec(
            "snmp",
            lambda port: {
                "host": "127.0.0.1",
                "port": port,
                "version": "3",
                "username": "alice",
                "auth_password": SNMP_AUTH,
                "priv_password": SNMP_PRIV,
            },
            (SNMP_AUTH, SNMP_PRIV),
            deliver_snmp,
        ),
        Spec(
            "mqtt",
            lambda port: {
                "broker_url": f"mqtt://127.0.0.1:{port}",
                "topic": "alerts/conformance/{tenant_id}/{device_id}",
                "username": "pulse",
                "password": MQTT_PASSWORD,
            },
            (MQTT_PASSWORD,),
            deliver_mqtt,
        ),
    )
}

KINDS = sorted(CHANNELS)
HTTP_KINDS = [kind for kind in KINDS if kind in SPECS and SPECS[kind].http]


def spec_for(kind: str) -> Spec:
    if kind not in SPECS:
        pytest.fail(f"channel {kind!r} is registered but has no Spec in {__name__}: add its sample config")
    return SPECS[kind]


def sample(kind: str) -> BaseModel:
    return CHANNELS[kind].Config.model_validate(spec_for(kind).config(9))


def test_every_registered_channel_has_a_spec():
    assert set(SPECS) == set(CHANNELS)


@pytest.mark.parametrize("kind", KINDS)
def test_registry_entry_keeps_the_contract(kind):
    module = CHANNELS[kind]
    assert module.kind == kind and conforming(module) is module
    assert callable(module.render) and callable(module.send) and callable(module.check)


# --- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_config_rejects_unknown_keys(kind):
    raw = spec_for(kind).config(9) | {"surprise": 1}
    with pytest.raises(ValidationError) as caught:
        CHANNELS[kind].Config.model_validate(raw)
    assert [error["loc"] for error in caught.value.errors()] == [("surprise",)]


@pytest.mark.parametrize("kind", KINDS)
def test_sample_config_validates_and_validates_again_as_stored(kind):
    config = sample(kind)
    stored = configs.stored(config)
    assert configs.parse(kind, stored) == config
    for secret in spec_for(kind).secrets:  # stored means the real values: the secrets are in there
        assert secret in json.dumps(stored)


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_never_shown(kind):
    config = sample(kind)
    spec = spec_for(kind)
    masked = json.dumps(configs.masked(kind, configs.stored(config)))
    model = {"repr": repr(config), "str": str(config), "model_dump_json": config.model_dump_json()}
    for secret in spec.secrets:
        assert secret not in masked, f"{kind}: a secret in the masked config"
        if secret not in spec.plain_in_model:
            for where, text in model.items():
                assert secret not in text, f"{kind}: a secret in {where}"


# --- render ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_render_carries_the_event_and_is_deterministic(kind):
    module, config = CHANNELS[kind], sample(kind)
    first = orjson.dumps(module.render(event(), config))
    assert orjson.dumps(module.render(event(), config)) == first
    assert orjson.dumps(module.render(event(), sample(kind))) == first  # an equal config, rebuilt
    assert b"pump-conformance" in first
    assert orjson.dumps(module.render(event(device_id="pump-other"), config)) != first


# --- send --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_send_delivers_to_a_local_receiver(kind, mqtt_url):
    spec = spec_for(kind)
    await spec.deliver(spec, mqtt_url)


@pytest.mark.parametrize("kind", KINDS)
async def test_refused_connection_detail_has_no_secret(kind, mqtt_url):
    spec = spec_for(kind)
    result = await send(kind, spec.config(free_port()), mqtt_url)  # nothing listens there
    if kind != "snmp":  # UDP: a trap to a closed port may well leave without a local error
        assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    for secret in spec.secrets:
        assert secret not in result.detail


# Status → (ok, retryable, reason). Per-kind differences go into OVERRIDES.
STATUSES: dict[int, tuple[bool, bool, Reason]] = {
    200: (True, False, Reason.OK),
    202: (True, False, Reason.OK),
    400: (False, False, Reason.CLIENT_ERROR),
    401: (False, False, Reason.AUTH_ERROR),
    403: (False, False, Reason.AUTH_ERROR),
    404: (False, False, Reason.CLIENT_ERROR),
    408: (False, False, Reason.CLIENT_ERROR),
    429: (False, True, Reason.RATE_LIMITED),
    500: (False, True, Reason.SERVER_ERROR),
    502: (False, True, Reason.SERVER_ERROR),
    503: (False, True, Reason.SERVER_ERROR),
}
OVERRIDES: dict[tuple[str, int], tuple[bool, bool, Reason]] = {}


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def send_http(kind: str, answer: Answer, http) -> tuple[SendResult, BaseModel]:
    module = CHANNELS[kind]
    async with Receiver(answer) as receiver:
        config = module.Config.model_validate(spec_for(kind).config(urlsplit(receiver.url).port))
        result = await module.send(event(), config, http, context())
    assert len(receiver.requests) == 1
    return result, config


@pytest.mark.parametrize("status", sorted(STATUSES))
@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_http_status_classification(kind, status, http):
    headers = {"Retry-After": "7"} if status in (429, 503) else {}
    result, _ = await send_http(kind, Answer(status, headers=headers, body="upstream says no"), http)
    expected = OVERRIDES.get((kind, status), STATUSES[status])
    assert (result.ok, result.retryable, result.reason, result.http_status) == (*expected, status)
    assert result.retry_after == (7.0 if status in (429, 503) else None)
    for secret in spec_for(kind).secrets:
        assert secret not in result.detail


@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_echoed_secrets_never_survive_the_scrub(kind, http):
    """A provider's error body may echo what it was sent: whatever the channel keeps of it, nothing
    secret is left once the worker (and the API's test send) scrub the detail with `secrets_of`."""
    secrets = spec_for(kind).secrets
    echo = f"bad request {' '.join(secrets)} {json.dumps(spec_for(kind).config(9))}"
    result, config = await send_http(kind, Answer(400, body=echo), http)
    assert (result.ok, result.retryable) == (False, False)
    shown = scrub(f"{result.reason}: {result.detail}", secrets_of(config))
    for secret in secrets:
        assert secret not in shown


@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_unanswered_request_detail_has_no_secret(kind, http):
    """The receiver accepts the connection and closes it without a reply."""

    async def hang_up(reader, writer):
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        module = CHANNELS[kind]
        config = module.Config.model_validate(spec_for(kind).config(port))
        result = await module.send(event(), config, http, context())
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    for secret in spec_for(kind).secrets:
        assert secret not in result.detail
