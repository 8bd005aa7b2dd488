"""What the two notification contracts' routes share besides the store
(`pulse/api/queries/notify_targets.py`): field types, the update rule for nulls, and the synchronous,
rate-limited test send."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
)

from pulse import crypto
from pulse.api.deps import tenant_db, tenant_of
from pulse.api.errors import ErrorBody
from pulse.api.queries import notify_targets as store
from pulse.config import Settings
from pulse.db import locks
from pulse.errors import PulseError
from pulse.identity.principal import Principal
from pulse.notify import configs, deliver
from pulse.notify.events import AlertEvent
from pulse.notify.targets import TargetTable

MAX_CONFIG_BYTES = 16 * 1024
TEST_SENDS, TENANT_TEST_SENDS, TEST_WINDOW_SECONDS = 5, 20, 60

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


def _slot_key(settings: Settings, target: store.Target) -> str:
    """The rate-limit key of a target's destination (`DESTINATION_FIELDS`): two targets that send to the
    same place share it. Hashed, so a secret URL (Slack, Teams) is not stored in `rate_limits`; a
    config that cannot be read is keyed by its target."""
    try:
        raw = configs.unseal(target.kind, target.config, crypto.Keyring.from_settings(settings))
        where: Any = configs.destination(target.kind, configs.parse(target.kind, raw))
    except (configs.ConfigInvalid, crypto.SecretsKeyError, KeyError):
        where = {"target": str(target.id)}
    digest = hashlib.sha256(orjson.dumps([target.kind, where], option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"test_send:{digest[:32]}"


async def take_test_slots(
    conn: asyncpg.Connection, tenant_id: str, limits: list[tuple[str, int, str]]
) -> None:
    """Count one test send under every `(action, limit, what)` in `rate_limits`: at most `limit` per
    TEST_WINDOW_SECONDS each, else 429 with Retry-After naming `what` and nothing counted. Concurrent
    requests serialise on transaction advisory locks (taken in one order), so they cannot both see room
    for one; the actions' expired rows are pruned on the way."""
    for action in sorted(a for a, _, _ in limits):
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2 || ':' || $3))",
            locks.NOTIFY_TEST_SEND_CLASS,
            tenant_id,
            action,
        )
    now = await conn.fetchval("SELECT clock_timestamp()")
    for action, limit, what in limits:
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
        if used >= limit:
            wait = TEST_WINDOW_SECONDS - (now - oldest).total_seconds()
            raise PulseError(
                429,
                "rate_limited",
                f"at most {limit} test sends per {TEST_WINDOW_SECONDS} s {what}",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
    await conn.executemany(
        "INSERT INTO rate_limits (tenant_id, action, created_at) VALUES ($1, $2, $3)",
        [(tenant_id, action, now) for action, _, _ in limits],
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


async def test_target(
    principal: Principal, pool: asyncpg.Pool, settings: Settings, t: TargetTable, target_id: Any
) -> DeliveryTestResult:
    """Test-send to one of the tenant's targets: find it and take a test slot for its destination and
    for the tenant in a short transaction, then send (404 for another tenant's target, 429 past a
    limit: a second target with the same URL shares the destination's)."""
    tenant = tenant_of(principal)
    async with tenant_db(principal, pool, write=True) as conn:
        target = await store.find_target(conn, t, tenant, target_id)
        await take_test_slots(
            conn,
            tenant,
            [
                (_slot_key(settings, target), TEST_SENDS, "to one destination"),
                ("test_send", TENANT_TEST_SENDS, "for one tenant"),
            ],
        )
    event = test_event(tenant, principal.display)
    return await send_test(settings, target.kind, target.config, event)


TEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "More than 5 test sends to one destination, or 20 by the tenant, within 60 s "
        "(see Retry-After).",
    }
}
