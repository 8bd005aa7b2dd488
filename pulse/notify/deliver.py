"""Deliver once: the one send path from a stored target (kind + config JSON) to a classified,
redacted outcome. The worker calls it for every attempt of a job; the APIs' test send calls
`test_once`, which is the same send plus the channel's `after_test` clean-up (PagerDuty resolves the
incident a test opened). Neither loops: retries and dead letters stay with the worker.

What happens here, in order: the channel is looked up in the registry, the stored config validated
with its `Config` (an unknown kind or a config that no longer validates is a permanent
`config_invalid`), an optional gate may hold the send back (the worker's provider rate limit), then
the channel sends — outbound-safety check and connection pinned to the checked address are inside
`base.post_json` and the non-HTTP channels — bounded in time, and a channel bug is a failed attempt,
never an exception. The error text is scrubbed of every secret of the config.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
from pydantic import BaseModel, SecretStr, ValidationError

from pulse import crypto
from pulse.config import Settings
from pulse.notify import configs, ssrf
from pulse.notify.channels import CHANNELS
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent
from pulse.notify.mailer import Mailer

# Called with (kind, channel, config) after validation, before sending: a SendResult holds the send
# back (the worker's provider rate limit answers THROTTLED), None lets it go.
Gate = Callable[[str, ModuleType, BaseModel], Awaitable[SendResult | None]]


@dataclass(frozen=True)
class Outcome:
    result: SendResult
    error: str | None  # `reason: detail` with every secret of the config replaced; None when ok
    latency_ms: int


def config_error(exc: ValidationError) -> str:
    """Field names and error types only: pydantic's message would echo input values (secrets)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['type']}" for e in exc.errors())


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


def secrets_of(config: object) -> list[str]:
    """Secret values of a channel config (and header values); for a secret URL (Slack) also its path,
    the credential part, which a provider's error body may echo without the host."""
    found = []
    for value in vars(config).values():
        if isinstance(value, dict):  # custom headers often carry tokens
            found += [v for v in value.values() if isinstance(v, str) and len(v) >= 8]
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            parts = urlsplit(secret)
            if parts.scheme and parts.path.strip("/"):
                found.append(parts.path.strip("/"))
    return sorted(found, key=len, reverse=True)


def send_deadline(ctx: SendContext) -> float:
    """Seconds one delivery may take in all: a channel may make two exchanges (a test's clean-up), each
    bounded by the outbound timeout; past this a channel that hangs anyway is a timeout."""
    return 2 * ctx.timeout + 5


def _outcome(result: SendResult, secrets: list[str], started: float) -> Outcome:
    error = None if result.ok else scrub(f"{result.reason}: {result.detail}".rstrip(": "), secrets)
    return Outcome(result, error, int((time.monotonic() - started) * 1000))


def refused(detail: str) -> Outcome:
    """A target that cannot be sent to as stored (unknown kind, invalid config, gone, disabled):
    permanent, nothing was sent."""
    return _outcome(SendResult(False, False, Reason.CONFIG_INVALID, detail=detail), [], time.monotonic())


async def deliver_once(
    kind: str,
    raw_config: Any,
    event: AlertEvent,
    http: httpx.AsyncClient,
    ctx: SendContext,
    *,
    gate: Gate | None = None,
    after_send: Callable[[ModuleType, BaseModel, SendResult], Awaitable[None]] | None = None,
) -> Outcome:
    """One send of `event` to the target (`raw_config` as stored, JSON text or a dict)."""
    started = time.monotonic()
    channel = CHANNELS.get(kind)
    if channel is None:
        return refused("channel_unsupported")
    raw = orjson.loads(raw_config) if isinstance(raw_config, str | bytes) else raw_config
    try:
        raw = configs.unseal(kind, raw, ctx.keyring) if isinstance(raw, dict) else raw
        config = channel.Config.model_validate(raw)
    except ValidationError as exc:
        return refused(config_error(exc))
    except crypto.SecretsKeyError as exc:
        return refused(f"secrets_key: {exc}")
    if gate is not None and (held := await gate(kind, channel, config)) is not None:
        return _outcome(held, [], started)
    try:
        async with asyncio.timeout(send_deadline(ctx)):
            result = await channel.send(event, config, http, ctx)
            if after_send is not None:
                await after_send(channel, config, result)
    except TimeoutError:
        result = SendResult(False, True, Reason.TIMEOUT, detail="send timed out")
    except Exception as exc:  # a channel bug is a failed attempt, never a lost job or a 500
        result = SendResult(False, True, Reason.NETWORK, detail=type(exc).__name__)
    return _outcome(result, secrets_of(config), started)


async def deliver_mail(
    mailer: Mailer,
    pool: asyncpg.Pool,
    job_id: int,
    event: AlertEvent,
    to: str,
    http: httpx.AsyncClient,
    ctx: SendContext,
) -> Outcome:
    """One send of a person's mail (`mailer`: the installation's SMTP server or the local outbox),
    bounded and guarded like `deliver_once`."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(send_deadline(ctx)):
            result = await mailer.send(pool, job_id, event, to, http, ctx)
    except TimeoutError:
        result = SendResult(False, True, Reason.TIMEOUT, detail="send timed out")
    except Exception as exc:  # a mailer bug is a failed attempt, never a lost job
        result = SendResult(False, True, Reason.NETWORK, detail=type(exc).__name__)
    secrets = [mailer.settings.smtp_password.get_secret_value()] if mailer.settings.smtp_password else []
    return _outcome(result, secrets, started)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One shared client per process: pooled connections, bounded timeouts, no redirects."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.notify_http_timeout, connect=min(5.0, settings.notify_http_timeout)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max(10, settings.notify_concurrency * 2)),
        headers={"User-Agent": "Pulse-Notify/1"},
    )


def send_context(settings: Settings, message_id: str) -> SendContext:
    return SendContext(
        ssrf.Policy.from_settings(settings),
        message_id,
        int(time.time()),
        mqtt_url=settings.mqtt_url,
        ca_file=settings.notify_ca_file,
        timeout=settings.notify_http_timeout,
        keyring=crypto.Keyring.from_settings(settings),
    )


async def test_once(
    settings: Settings, kind: str, raw_config: Any, event: AlertEvent, http: httpx.AsyncClient | None = None
) -> tuple[str, Outcome]:
    """A test send, answered synchronously: `deliver_once` with a fresh message id, then — when it
    worked — the channel's optional `after_test(event, config, http, ctx)`, which undoes what a test
    left at the provider. Its own outcome is not reported: the test is the first send. Returns the
    message id the target received and the outcome."""
    message_id = f"pulse-test-{uuid.uuid4()}"
    ctx = send_context(settings, message_id)
    async with contextlib.AsyncExitStack() as stack:
        client = http or await stack.enter_async_context(http_client(settings))

        async def clean_up(channel: ModuleType, config: BaseModel, result: SendResult) -> None:
            after_test = getattr(channel, "after_test", None)
            if result.ok and after_test is not None:
                await after_test(event, config, client, ctx)

        return message_id, await deliver_once(kind, raw_config, event, client, ctx, after_send=clean_up)
