"""What the integration and notification-channel routes share: the kind and config field types, config
validation as API errors, masked configs, and the synchronous, rate-limited test send."""

from __future__ import annotations

import json
import math
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
)

from pulse.api.deps import _tenant_db
from pulse.api.errors import ErrorBody
from pulse.config import Settings
from pulse.errors import PulseError
from pulse.notify import configs, deliver, ssrf
from pulse.notify.channels import CHANNELS
from pulse.notify.events import AlertEvent

MAX_CONFIG_BYTES = 16 * 1024
TEST_SENDS, TEST_WINDOW_SECONDS = 5, 60
TEST_LOCK_CLASS = 0x7E57  # advisory-lock class of the test-send rate limit (second key: the action)

# Alert types the evaluator produces for a tenant (SYSTEM_HEALTH exists only in the synthetic
# `__system__` tenant, so no customer route or rule could ever match it).
AlertTypeName = Literal["THRESHOLD", "ANOMALY", "NO_HEARTBEAT", "NO_TELEMETRY"]
DeliveryEvent = Literal["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"]
SeverityLabel = Literal["CRITICAL", "WARNING", "INFO"]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


KindText = Annotated[str, StringConstraints(min_length=1, max_length=32)]


def _bounded_config(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_CONFIG_BYTES:
        raise ValueError(f"config larger than {MAX_CONFIG_BYTES} bytes")
    return value


ChannelConfig = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_config),
    Field(
        description="The channel's settings: webhook {url, headers?, secret?}; slack {url}; "
        "pagerduty {routing_key, url?}; teams {url}; other kinds as their channel defines. Secrets come "
        "back as `********`; sending `********` back keeps the stored value."
    ),
]


def show_config(kind: str, data: Any) -> dict[str, Any]:
    """A stored config as responses show it. A kind no channel handles (any more) shows no values."""
    data = data if isinstance(data, dict) else {}
    if kind not in CHANNELS:
        return dict.fromkeys(data, configs.MASK)
    return configs.masked(kind, data)


async def checked_config(kind: str, raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Validate with the channel and check its targets; the JSON to store, or a 422."""
    if kind not in CHANNELS:
        raise PulseError(422, "unsupported_type", f"no channel handles type {kind!r}")
    try:
        config = await configs.validate(kind, raw, ssrf.Policy.from_settings(settings))
    except configs.TargetRefused as exc:
        raise PulseError(422, "target_refused", str(exc)) from None
    except configs.ConfigInvalid as exc:
        raise PulseError(422, "invalid_config", {"message": str(exc), "fields": exc.fields}) from None
    except (ValueError, ssrf.Blocked) as exc:  # a channel's own check refusing something else
        raise PulseError(
            422, "invalid_config", {"message": f"invalid {kind} config", "fields": ["config"]}
        ) from exc
    return configs.stored(config)


async def new_config(kind: str, raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """`checked_config` for a new target: a secret that is the mask itself is refused (a form that copied
    a masked config would otherwise store `********` as the secret, or silently drop an optional one)."""
    if kind in CHANNELS:
        headers = raw.get("headers")
        masked = [name for name in sorted(configs.secret_fields(kind)) if raw.get(name) == configs.MASK]
        if isinstance(headers, dict):
            masked += [f"headers.{key}" for key, value in headers.items() if value == configs.MASK]
        if masked:
            raise PulseError(
                422,
                "invalid_config",
                {
                    "message": f"{configs.MASK} stands for a stored secret; send the real value",
                    "fields": masked,
                },
            )
    return await checked_config(kind, raw, settings)


def not_null(body: BaseModel, names: set[str]) -> set[str]:
    """The fields an update sets; 400 when none, or when one that cannot be null is null."""
    fields = set(body.model_fields_set)
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    nulls = sorted(f for f in fields & names if getattr(body, f) is None)
    if nulls:
        raise PulseError(400, "bad_request", f"{', '.join(nulls)} cannot be null")
    return fields


def unique(values: list[Any] | None) -> list[Any] | None:
    """A list without repeats, in the given order."""
    return None if values is None else list(dict.fromkeys(values))


# A short transaction of its own: `TenantDb` stays open until the response, and a test send must not
# hold a pooled connection (or the rate-limit lock) while it waits for a remote target.
tenant_conn = asynccontextmanager(_tenant_db)


class DeliveryTestResult(BaseModel):
    """The outcome of one synchronous test send (no job is created, nothing is retried)."""

    ok: bool
    reason: str = Field(
        description="The channel's classification: ok, client_error, timeout, ssrf_blocked, …"
    )
    http_status: int | None = Field(description="The target's HTTP status, for HTTP channels.")
    latency_ms: int
    error: str | None = Field(description="What went wrong; secrets and URLs are redacted.")
    message_id: str = Field(description="The `webhook-id` / message id the target received.")


async def take_test_slot(conn: asyncpg.Connection, tenant_id: str, action: str) -> None:
    """Count one test send of `action` in `rate_limits`: at most TEST_SENDS per TEST_WINDOW_SECONDS,
    else 429 with Retry-After. Concurrent requests serialise on a transaction advisory lock, so they
    cannot both see room for one; the action's expired rows are pruned on the way."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2 || ':' || $3))", TEST_LOCK_CLASS, tenant_id, action
    )
    now = await conn.fetchval("SELECT clock_timestamp()")
    await conn.execute(
        "DELETE FROM rate_limits WHERE tenant_id = $1 AND action = $2 AND created_at <= $3::timestamptz - make_interval(secs => $4::int)",
        tenant_id,
        action,
        now,
        TEST_WINDOW_SECONDS,
    )
    used, oldest = await conn.fetchrow(
        "SELECT count(*), min(created_at) FROM rate_limits WHERE tenant_id = $1 AND action = $2",
        tenant_id,
        action,
    )
    if used >= TEST_SENDS:
        wait = TEST_WINDOW_SECONDS - (now - oldest).total_seconds()
        raise PulseError(
            429,
            "rate_limited",
            f"at most {TEST_SENDS} test sends per {TEST_WINDOW_SECONDS} s for one target",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )
    await conn.execute(
        "INSERT INTO rate_limits (tenant_id, action, created_at) VALUES ($1, $2, $3)", tenant_id, action, now
    )


def test_event(tenant_id: str, actor: str | None) -> AlertEvent:
    return AlertEvent(
        event_id=0,
        tenant_id=tenant_id,
        alert_id=0,
        event="OPEN",
        status="OPEN",
        site_id="test-site",
        device_id="test-device",
        alert_type="TEST",
        severity=3,
        summary="Test notification from Pulse",
        created_at=datetime.now(UTC),
        actor=actor,
        details={"test": True},
    )


async def send_test(settings: Settings, kind: str, raw: Any, event: AlertEvent) -> DeliveryTestResult:
    """One send through the channel, as the worker makes it (`deliver.test_once`), answered now."""
    message_id, outcome = await deliver.test_once(settings, kind, raw, event)
    return DeliveryTestResult(
        ok=outcome.result.ok,
        reason=str(outcome.result.reason),
        http_status=outcome.result.http_status,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        message_id=message_id,
    )


TEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "More than 5 test sends within 60 s (see Retry-After)."}
}
