"""Rows for integration tests, one factory per thing, written as the operator (no RLS in the way).

Every factory takes the pool first and the tenant second; the rest are keyword columns with defaults
that give a valid row, so a test names only what it checks:

- `make_tenant` a tenant with a MAIN subscription (`device_limit` devices),
- `make_device` a provisioned device with a token (`Device`, which also builds its MQTT payloads),
- `make_alert_rule` an `alert_rules` row (the evaluator's rules),
- `make_alert` an OPEN alert,
- `make_integration` an integration with one route (the notification engine's targets),
- `make_channel` a notification channel, `make_routing_rule` a routing rule sending alerts to it,
- `make_person` a tenant user, `make_schedule` an on-call schedule with one layer, `make_policy` an
  escalation policy with its levels.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from pulse.db.tx import operator_tx
from pulse.provisioning.devices import register_device

_names = itertools.count()


async def make_tenant(
    pool, tenant_id: str = "acme", *, device_limit: int = 100, name: str | None = None
) -> str:
    """A tenant with a year-long MAIN subscription; returns the tenant id."""
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)", tenant_id, name or f"Tenant {tenant_id}"
        )
        await conn.execute(
            """INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_end)
               VALUES ($1, 'MAIN', $2, now() + interval '1 year')""",
            tenant_id,
            device_limit,
        )
    return tenant_id


@dataclass
class Device:
    tenant_id: str
    device_id: str
    site_id: str
    token: str

    @property
    def topic(self) -> str:
        return f"tenant/{self.tenant_id}/device/{self.device_id}/telemetry"

    def payload(self, **extra) -> bytes:
        body = {"site_id": self.site_id, "provision_token": self.token, "metrics": {"temp_c": 21.5}}
        body.update(extra)
        return orjson.dumps(body)


async def make_device(
    pool, tenant_id: str = "acme", device_id: str = "dev-1", site_id: str = "site-1"
) -> Device:
    """A device registered with a provisioning token (the tenant must exist)."""
    async with operator_tx(pool, "test") as conn:
        created = await register_device(conn, tenant_id, device_id, site_id, credential="token")
    return Device(tenant_id, device_id, site_id, created.provision_token)


async def make_alert_rule(pool, tenant_id: str = "acme", **fields: Any) -> str:
    """An alert_rules row (default: a threshold rule of severity 3); `conditions` is given as a dict."""
    values = {"name": "rule", "rule_type": "threshold", "severity": 3} | fields
    cols = list(values)
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            f"INSERT INTO alert_rules (tenant_id, {', '.join(cols)}) "
            f"VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(cols)))}) RETURNING rule_id",
            tenant_id,
            *values.values(),
        )


async def make_alert(
    pool, tenant_id: str, *, severity: int = 5, alert_type: str = "THRESHOLD", device_id: str = "dev-1"
) -> int:
    """An OPEN alert with a fingerprint of its own; returns its id."""
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary) "
            "VALUES ($1, 'site-1', $2, $3, $4, $5, 'temp_c above 30') RETURNING id",
            tenant_id,
            device_id,
            alert_type,
            f"fp-{next(_names)}",
            severity,
        )


async def make_integration(
    pool, tenant_id: str, config: dict, *, kind: str = "webhook", **route: Any
) -> tuple[str, str]:
    """An enabled integration with one route; `route` sets integration_routes columns. Returns
    (integration_id, route_id)."""
    async with operator_tx(pool, "test") as conn:
        integration_id = await conn.fetchval(
            "INSERT INTO integrations (tenant_id, name, type, config_json) VALUES ($1, $2, $3, $4::jsonb) "
            "RETURNING integration_id::text",
            tenant_id,
            f"{kind}-{next(_names)}",
            kind,
            config,
        )
        columns = ["tenant_id", "integration_id", *route]
        values = [tenant_id, integration_id, *route.values()]
        placeholders = ", ".join(f"${i + 1}" for i in range(len(values)))
        route_id = await conn.fetchval(
            f"INSERT INTO integration_routes ({', '.join(columns)}) VALUES ({placeholders}) "
            "RETURNING route_id::text",
            *values,
        )
    return integration_id, route_id


async def make_channel(
    pool, tenant_id: str, config: dict, *, kind: str = "webhook", enabled: bool = True
) -> int:
    """A notification channel; returns its id."""
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "INSERT INTO notification_channels (tenant_id, name, channel_type, config, is_enabled)"
            " VALUES ($1, 'ch', $2, $3::jsonb, $4) RETURNING channel_id",
            tenant_id,
            kind,
            config,
            enabled,
        )


async def make_routing_rule(pool, tenant_id: str, channel_id: int, **fields: Any) -> int:
    """A notification routing rule to `channel_id`; `fields` sets its columns. Returns its id."""
    columns = ["tenant_id", "channel_id", *fields]
    values = [tenant_id, channel_id, *fields.values()]
    placeholders = ", ".join(f"${i + 1}" for i in range(len(values)))
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            f"INSERT INTO notification_routing_rules ({', '.join(columns)}) VALUES ({placeholders})"
            " RETURNING rule_id",
            *values,
        )


async def make_person(
    pool, tenant_id: str, *, email: str | None = None, username: str | None = None
) -> uuid.UUID:
    """An active tenant user (a person) with an account e-mail; returns the user id."""
    name = username or f"person-{next(_names)}"
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "INSERT INTO users (tenant_id, username, email, password_hash, roles)"
            " VALUES ($1, $2, $3, 'h', '{customer}') RETURNING user_id",
            tenant_id,
            name,
            email if email is not None else f"{name}@example.com",
        )


async def make_schedule(
    pool,
    tenant_id: str,
    participants: list[uuid.UUID],
    *,
    timezone: str = "UTC",
    rotation: str = "daily",
    start_date: date | None = None,
) -> int:
    """An on-call schedule with one layer rotating `participants` from `start_date` (default: a week
    ago, so the first participant's shift has begun); returns the schedule id."""
    async with operator_tx(pool, "test") as conn:
        schedule_id = await conn.fetchval(
            "INSERT INTO oncall_schedules (tenant_id, name, timezone) VALUES ($1, $2, $3) RETURNING schedule_id",
            tenant_id,
            f"schedule-{next(_names)}",
            timezone,
        )
        await conn.execute(
            """INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, handoff_weekday,
                                          start_date, participants)
               VALUES ($1, $2, 'Layer 1', 1, $3, CASE WHEN $3 = 'weekly' THEN 0 END,
                       COALESCE($4, current_date - 7), $5)""",
            tenant_id,
            schedule_id,
            rotation,
            start_date,
            participants,
        )
    return schedule_id


async def make_policy(
    pool,
    tenant_id: str,
    levels: list[tuple[int, list[dict]]],
    *,
    is_default: bool = False,
    repeat_count: int = 0,
) -> int:
    """An escalation policy; `levels` are (delay_minutes, targets) in order. Returns its id."""
    async with operator_tx(pool, "test") as conn:
        policy_id = await conn.fetchval(
            "INSERT INTO escalation_policies (tenant_id, name, is_default, repeat_count)"
            " VALUES ($1, $2, $3, $4) RETURNING policy_id",
            tenant_id,
            f"policy-{next(_names)}",
            is_default,
            repeat_count,
        )
        await conn.executemany(
            "INSERT INTO escalation_levels (tenant_id, policy_id, level_number, delay_minutes, targets)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(tenant_id, policy_id, n, delay, targets) for n, (delay, targets) in enumerate(levels, 1)],
        )
    return policy_id
