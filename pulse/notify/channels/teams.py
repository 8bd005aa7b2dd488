"""Microsoft Teams incoming webhook: a legacy MessageCard. The webhook URL is the secret.

Provider limits: about 4 requests/s per webhook; payload at most 28 KB; any non-2xx is a failure
(429 and 5xx retryable, other statuses permanent).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, SecretStr

from pulse.notify import ssrf
from pulse.notify.channels.base import SendContext, SendResult, post_json
from pulse.notify.events import AlertEvent

kind = "teams"
DESTINATION_FIELDS = ("url",)  # the webhook URL is itself the secret

COLOURS = {"CRITICAL": "d32f2f", "WARNING": "f9a825", "INFO": "1976d2"}
RESOLVED_COLOUR = "2e7d32"
MAX_TEXT = 3000


class Config(BaseModel):
    """`integrations.config_json` of a teams integration."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr  # https://….webhook.office.com/… (configurable: tests use a local receiver)


def render(event: AlertEvent, config: Config) -> dict[str, Any]:
    title = event.headline[:MAX_TEXT]
    colour = RESOLVED_COLOUR if event.event == "CLOSED" else COLOURS[event.severity_label]
    card = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "themeColor": colour,
        "title": title,
        "sections": [
            {
                "activityTitle": event.summary[:MAX_TEXT],
                "facts": [
                    {"name": "Device", "value": event.device_id},
                    {"name": "Site", "value": event.site_id},
                    {"name": "Severity", "value": f"{event.severity} ({event.severity_label})"},
                    {"name": "Status", "value": event.status},
                    {"name": "Alert type", "value": event.alert_type},
                ],
                "text": f"Pulse alert {event.alert_id}",
            }
        ],
    }
    if event.ack_url:  # a message to a person: one click acknowledges, as them
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": "Acknowledge", "targets": [{"os": "default", "uri": event.ack_url}]}
        ]
    return card


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_url(config.url.get_secret_value(), policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    url = config.url.get_secret_value()
    body = orjson.dumps(render(event, config))
    result = await post_json(http, url, body, {}, ctx.policy)
    return replace(result, detail=scrub_path(result.detail, url)) if result.detail else result


def scrub_path(text: str, url: str) -> str:
    """Mask each credential-like segment of the webhook URL's path (Teams URLs carry ids and a
    signature as separate segments, any of which an error body may echo on its own)."""
    for segment in sorted(urlsplit(url).path.split("/"), key=len, reverse=True):
        if len(segment) >= 8:
            text = text.replace(segment, "***")
    return text
