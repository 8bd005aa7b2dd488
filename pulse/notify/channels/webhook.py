"""Generic webhook: POST the event as JSON, signed (Standard Webhooks + legacy X-Signature-SHA256).

With a `body_template` (a sandboxed Jinja2 template, `pulse.notify.templates`) the body is the rendered
text when it is a JSON object or array, else `{"message": <rendered text>}`.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from pulse.notify import signing, ssrf, templates
from pulse.notify.channels.base import Reason, SendContext, SendResult, post_json
from pulse.notify.events import AlertEvent

kind = "webhook"
DESTINATION_FIELDS = ("url",)  # where the signing secret and header values are sent

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
    body_template: str | None = Field(default=None, max_length=templates.MAX_SOURCE)

    @field_validator("body_template")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            templates.validate(value)  # its TemplateError is a ValueError: a 422 naming the field
        return value


def render(event: AlertEvent, config: Config) -> dict[str, Any] | list[Any]:
    """The JSON that is sent (also the preview). Raises templates.TemplateError."""
    if config.body_template is None:
        return event.to_json()
    text = templates.render(config.body_template, templates.variables(event))
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict | list) else {"message": text}


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_url(str(config.url), policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    try:
        # A template may use its whole time budget: in the render pool, so other work keeps going.
        payload = await templates.off_loop(render, event, config)
    except templates.TemplateError as exc:
        return SendResult(False, False, Reason.CONFIG_INVALID, detail=f"template_error: {exc}")
    body = orjson.dumps(payload)  # signed below: the signatures cover exactly these bytes
    headers = {k: v for k, v in config.headers.items() if k.lower() not in RESERVED_HEADERS}
    if config.secret is not None:
        headers |= signing.sign_headers(config.secret.get_secret_value(), ctx.message_id, ctx.timestamp, body)
    else:
        headers |= {"webhook-id": ctx.message_id, "webhook-timestamp": str(ctx.timestamp)}
    return await post_json(http, str(config.url), body, headers, ctx.policy)
