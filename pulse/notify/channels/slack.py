"""Slack incoming webhook: a text line plus one coloured attachment. The URL is the secret."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, SecretStr

from pulse.notify import ssrf
from pulse.notify.channels.base import SendContext, SendResult, post_json
from pulse.notify.events import AlertEvent

kind = "slack"
DESTINATION_FIELDS = ("url",)  # the webhook URL is itself the secret

COLOURS = {"CRITICAL": "#d32f2f", "WARNING": "#f9a825", "INFO": "#1976d2"}
RESOLVED_COLOUR = "#2e7d32"
MAX_TEXT = 3000


class Config(BaseModel):
    """`integrations.config_json` of a slack integration."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr  # https://hooks.slack.com/services/… (configurable: tests use a local receiver)


def render(event: AlertEvent, config: Config) -> dict[str, Any]:
    text = event.headline[:MAX_TEXT]
    if event.ack_url:  # a message to a person: one click acknowledges, as them
        text += f"\n<{event.ack_url}|Acknowledge>"
    colour = RESOLVED_COLOUR if event.event == "CLOSED" else COLOURS[event.severity_label]
    return {
        "text": text,
        "attachments": [
            {
                "color": colour,
                "title": event.summary[:MAX_TEXT],
                "fields": [
                    {
                        "title": "Severity",
                        "value": f"{event.severity} ({event.severity_label})",
                        "short": True,
                    },
                    {"title": "Status", "value": event.status, "short": True},
                    {"title": "Device", "value": event.device_id, "short": True},
                    {"title": "Site", "value": event.site_id, "short": True},
                ],
                "footer": f"Pulse alert {event.alert_id}",
                "ts": int(event.created_at.timestamp()),
            }
        ],
    }


def rate_limit(config: Config) -> tuple[str, float, float]:
    """Slack allows about one message per second per incoming webhook: (target, per second, burst)."""
    return config.url.get_secret_value(), 1.0, 1.0


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_url(config.url.get_secret_value(), policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    body = orjson.dumps(render(event, config))
    return await post_json(http, config.url.get_secret_value(), body, {}, ctx.policy)
