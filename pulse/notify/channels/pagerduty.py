"""PagerDuty Events API v2: trigger/acknowledge/resolve keyed by a stable `alert-{alert_id}` dedup_key.

Provider limits: 120 events/min per routing key; `payload.summary` at most 1024 characters; 202 on
success, 400 for an invalid event (permanent), 429 and 5xx retryable. The routing key is the secret.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from pulse.notify import ssrf
from pulse.notify.channels.base import SendContext, SendResult, post_json
from pulse.notify.events import AlertEvent

kind = "pagerduty"
DESTINATION_FIELDS = ("url",)  # where the routing key is sent (the Events API, or a test receiver)

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_SUMMARY = 1024
# An escalation re-triggers the same dedup_key: PagerDuty folds it into the open incident.
EVENT_ACTIONS = {
    "OPEN": "trigger",
    "ESCALATED": "trigger",
    "ACKNOWLEDGED": "acknowledge",
    "CLOSED": "resolve",
}


class Config(BaseModel):
    """`integrations.config_json` of a pagerduty integration."""

    model_config = ConfigDict(extra="forbid")

    routing_key: SecretStr = Field(min_length=1)
    url: HttpUrl = HttpUrl(DEFAULT_URL)  # configurable: tests use a local receiver


def pd_severity(severity: int) -> str:
    """Pulse's integer severity → PagerDuty's: 5 critical, 4 error, 3 warning, ≤2 info."""
    if severity >= 5:
        return "critical"
    if severity == 4:
        return "error"
    if severity == 3:
        return "warning"
    return "info"


def render(event: AlertEvent, config: Config) -> dict[str, Any]:
    summary = f"[{event.severity_label}] {event.alert_type} on {event.device_id}: {event.summary}"
    return {
        "routing_key": config.routing_key.get_secret_value(),
        "event_action": EVENT_ACTIONS[event.event],
        "dedup_key": f"alert-{event.alert_id}",
        "payload": {
            "summary": summary[:MAX_SUMMARY],
            "source": event.device_id or "unknown-device",
            "severity": pd_severity(event.severity),
            "timestamp": event.created_at.isoformat(),
            "component": event.alert_type,
            "group": event.site_id,
            "custom_details": {
                "tenant_id": event.tenant_id,
                "alert_id": event.alert_id,
                "site_id": event.site_id,
                "device_id": event.device_id,
                "alert_type": event.alert_type,
                "severity": event.severity,
                "status": event.status,
                "summary": event.summary,
                "actor": event.actor,
                "details": event.details,
            },
        },
    }


def rate_limit(config: Config) -> tuple[str, float, float]:
    """PagerDuty accepts 120 events a minute per routing key. A burst of 20 plus 100 a minute never
    puts more than 120 into any one minute: (target, per second, burst)."""
    return config.routing_key.get_secret_value(), 100 / 60, 20.0


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_url(str(config.url), policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    body = orjson.dumps(render(event, config))
    result = await post_json(http, str(config.url), body, {}, ctx.policy)
    key = config.routing_key.get_secret_value()
    if key and key in result.detail:  # PagerDuty's 400 body may echo the event
        result = replace(result, detail=result.detail.replace(key, "***"))
    return result


async def after_test(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> None:
    """A test send's trigger opened an incident on the customer's PagerDuty: resolve it again (same
    dedup_key), so testing a target leaves nothing behind. A failure here is not the test's outcome."""
    await send(replace(event, event="CLOSED", status="CLOSED"), config, http, ctx)
