"""The one send path (`deliver.deliver_once` / `test_once`) and the channel contract's optional hooks,
with a stand-in channel registered for the test (no network)."""

from __future__ import annotations

import asyncio
import types

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from pulse.config import Settings
from pulse.notify import channels, deliver, ssrf
from pulse.notify.channels import CHANNELS, conforming, pagerduty
from pulse.notify.channels.base import Reason, SendContext, SendResult
from tests.alert_events import make_event

SECRET = "s3cr3t-token-value"
CTX = SendContext(ssrf.Policy(), "m-1", 0, timeout=0.05)


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr


def fake_channel(send, **hooks) -> types.ModuleType:
    module = types.ModuleType("fake")

    async def check(config, policy):
        return None

    module.__dict__.update(
        kind="fake", Config=FakeConfig, DESTINATION_FIELDS=(), check=check, render=lambda e, c: {}, send=send
    )
    module.__dict__.update(hooks)
    return module


@pytest.fixture
def register(monkeypatch):
    def add(module: types.ModuleType) -> None:
        monkeypatch.setitem(CHANNELS, module.kind, conforming(module))

    return add


async def test_unknown_kind_and_invalid_config_are_permanent() -> None:
    async with httpx.AsyncClient() as http:
        unknown = await deliver.deliver_once("pager", {}, make_event(), http, CTX)
        invalid = await deliver.deliver_once("pagerduty", {"routing_key": ""}, make_event(), http, CTX)
    assert (unknown.result.retryable, unknown.error) == (False, "config_invalid: channel_unsupported")
    assert invalid.result.reason is Reason.CONFIG_INVALID and not invalid.result.retryable
    assert invalid.error == "config_invalid: routing_key: too_short"


async def test_secrets_are_scrubbed_and_a_channel_bug_is_a_retryable_failure(register) -> None:
    async def echoing(event, config, http, ctx):
        return SendResult(False, False, Reason.CLIENT_ERROR, 400, detail=f"bad {SECRET}")

    async def crashing(event, config, http, ctx):
        raise KeyError(SECRET)

    async with httpx.AsyncClient() as http:
        register(fake_channel(echoing))
        echoed = await deliver.deliver_once("fake", {"token": SECRET}, make_event(), http, CTX)
        register(fake_channel(crashing))
        crashed = await deliver.deliver_once("fake", f'{{"token": "{SECRET}"}}', make_event(), http, CTX)
    assert echoed.error == "client_error: bad ***"
    assert (crashed.result.reason, crashed.result.retryable, crashed.error) == (
        Reason.NETWORK,
        True,
        "network: KeyError",
    )


async def test_a_gate_holds_the_send_back_and_a_hung_channel_times_out(register, monkeypatch) -> None:
    sent: list[str] = []

    async def hanging(event, config, http, ctx):
        sent.append(event.event)
        await asyncio.sleep(60)

    async def hold(kind, channel, config):
        return SendResult(False, True, Reason.THROTTLED, retry_after=3.0)

    register(fake_channel(hanging))
    async with httpx.AsyncClient() as http:
        held = await deliver.deliver_once("fake", {"token": SECRET}, make_event(), http, CTX, gate=hold)
        assert held.result.reason is Reason.THROTTLED and sent == []
        monkeypatch.setattr(deliver, "send_deadline", lambda ctx: 0.05)  # 2 x timeout + 5 s in service
        hung = await deliver.deliver_once("fake", {"token": SECRET}, make_event(), http, CTX)
    assert (hung.result.reason, hung.result.retryable, sent) == (Reason.TIMEOUT, True, ["OPEN"])


async def test_after_test_runs_only_after_a_successful_test_send(register) -> None:
    calls: list[str] = []

    async def send(event, config, http, ctx):
        calls.append(event.event)
        return SendResult(
            event.summary == "ok", False, Reason.OK if event.summary == "ok" else Reason.CLIENT_ERROR
        )

    async def after_test(event, config, http, ctx):
        calls.append("after_test")

    register(fake_channel(send, after_test=after_test))
    settings = Settings(database_url=None)
    message_id, worked = await deliver.test_once(
        settings, "fake", {"token": SECRET}, make_event(summary="ok")
    )
    _, failed = await deliver.test_once(settings, "fake", {"token": SECRET}, make_event(summary="no"))
    assert worked.result.ok and not failed.result.ok and message_id.startswith("pulse-test-")
    assert calls == ["OPEN", "after_test", "OPEN"]


def test_only_pagerduty_cleans_up_after_a_test() -> None:
    assert [kind for kind, module in CHANNELS.items() if hasattr(module, "after_test")] == ["pagerduty"]
    assert pagerduty.after_test is CHANNELS["pagerduty"].after_test


@pytest.mark.parametrize("hook", ["send", "check", "after_test"])
def test_the_registry_refuses_a_synchronous_hook(hook) -> None:
    async def send(event, config, http, ctx):
        return SendResult(True, False, Reason.OK)

    module = fake_channel(send)
    setattr(module, hook, lambda *args: None)
    with pytest.raises(TypeError, match=f"{hook} must be an async function"):
        channels.conforming(module)
