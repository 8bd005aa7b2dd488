"""Generic webhook: POST the event as JSON, signed (Standard Webhooks + legacy X-Signature-SHA256)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from pulse.notify import signing, ssrf
from pulse.notify.channels.base import SendContext, SendResult, post_json
from pulse.notify.events import AlertEvent

kind = "webhook"

RESERVED_HEADERS = {
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-signature-sha256",
}


class Config(BaseModel):
    """`integrations.config_json` of a webhook integration."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    secret: SecretStr | None = None


def render(event: AlertEvent, config: Config) -> dict[str, Any]:
    return event.to_json()


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_url(str(config.url), policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    body = orjson.dumps(render(event, config))
    headers = {k: v for k, v in config.headers.items() if k.lower() not in RESERVED_HEADERS}
    if config.secret is not None:
        headers |= signing.sign_headers(config.secret.get_secret_value(), ctx.message_id, ctx.timestamp, body)
    else:
        headers |= {"webhook-id": ctx.message_id, "webhook-timestamp": str(ctx.timestamp)}
    return await post_json(http, str(config.url), body, headers, ctx.policy)
