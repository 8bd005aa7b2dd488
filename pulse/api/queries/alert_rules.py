"""Alert rules as the API shows them, and their writes.

One `conditions` column holds a threshold rule's multi-condition, or the anomaly or gap settings, read
according to `rule_type` (schema: pulse.alerts.rules); the API shows it as `conditions`,
`anomaly_conditions` or `gap_conditions`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page
from pulse.db.patch import update_row
from pulse.errors import PulseError


class RulePublic(BaseModel):
    tenant_id: str
    rule_id: str
    name: str
    description: str | None
    enabled: bool
    rule_type: str
    metric_name: str | None
    operator: str | None
    threshold: float | None
    clear_threshold: float | None
    clear_after_seconds: int | None
    severity: int
    duration_seconds: int
    site_ids: list[str] | None
    group_ids: list[str] | None
    device_type: str | None
    conditions: dict[str, Any] | None
    anomaly_conditions: dict[str, Any] | None
    gap_conditions: dict[str, Any] | None
    escalation_policy_id: int | None
    created_at: datetime
    updated_at: datetime


# Which request/response field holds the `conditions` column for each rule type.
CONDITIONS_FIELD = {
    "threshold": "conditions",
    "anomaly": "anomaly_conditions",
    "telemetry_gap": "gap_conditions",
}

_COLUMNS = """tenant_id, rule_id, name, description, enabled, rule_type, metric_name, operator, threshold,
              clear_threshold, clear_after_seconds, severity, duration_seconds, site_ids, group_ids, device_type,
              conditions, escalation_policy_id, created_at, updated_at"""


def _public(row: asyncpg.Record) -> RulePublic:
    data = dict(row)
    stored = data.pop("conditions")
    kind = data["rule_type"]
    # A threshold rule's `{}` means "no multi-condition" (reference §17.3), shown as null.
    data["conditions"] = stored if kind == "threshold" and stored else None
    data["anomaly_conditions"] = stored if kind == "anomaly" else None
    data["gap_conditions"] = stored if kind == "telemetry_gap" else None
    return RulePublic(**data)


async def require_rule(conn: asyncpg.Connection, tenant: str, rule_id: str) -> RulePublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM alert_rules WHERE tenant_id = $1 AND rule_id = $2", tenant, rule_id
    )
    if row is None:
        raise PulseError(404, "not_found", f"no alert rule {rule_id}")
    return _public(row)


async def list_rules(conn: asyncpg.Connection, tenant: str, page: Page) -> tuple[list[RulePublic], int]:
    """One page of rules by name, and the total."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM alert_rules WHERE tenant_id = $1 ORDER BY name, rule_id LIMIT $2 OFFSET $3",
        tenant,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM alert_rules WHERE tenant_id = $1", tenant)
    return [_public(r) for r in rows], total


async def require_policy(conn: asyncpg.Connection, tenant: str, policy_id: int) -> None:
    """A rule may only name an escalation policy of its tenant (422, the body's mistake)."""
    if not await conn.fetchval(
        "SELECT 1 FROM escalation_policies WHERE tenant_id = $1 AND policy_id = $2", tenant, policy_id
    ):
        raise PulseError(422, "invalid_reference", f"no escalation policy {policy_id}")


async def insert_rule(conn: asyncpg.Connection, tenant: str, values: Mapping[str, Any]) -> str:
    """`values`: the create body's columns, `conditions` already chosen for the rule type; the new
    rule's id. Unset enabled/severity/duration take the defaults true/3/0."""
    return await conn.fetchval(
        """INSERT INTO alert_rules (tenant_id, name, description, enabled, rule_type, metric_name, operator, threshold,
                                    clear_threshold, clear_after_seconds, severity, duration_seconds, site_ids,
                                    group_ids, device_type, conditions, escalation_policy_id)
           VALUES ($1, $2, $3, COALESCE($4, true), $5, $6, $7, $8, $9, $10, COALESCE($11, 3), COALESCE($12, 0),
                   $13, $14, $15, $16, $17)
           RETURNING rule_id""",
        tenant,
        *(
            values.get(name)
            for name in (
                "name",
                "description",
                "enabled",
                "rule_type",
                "metric_name",
                "operator",
                "threshold",
                "clear_threshold",
                "clear_after_seconds",
                "severity",
                "duration_seconds",
                "site_ids",
                "group_ids",
                "device_type",
                "conditions",
                "escalation_policy_id",
            )
        ),
    )


async def update_rule(conn: asyncpg.Connection, tenant: str, rule_id: str, values: Mapping[str, Any]) -> None:
    if await update_row(conn, "alert_rules", {"tenant_id": tenant, "rule_id": rule_id}, values) is None:
        raise PulseError(404, "not_found", f"no alert rule {rule_id}")


async def delete_rule(conn: asyncpg.Connection, tenant: str, rule_id: str) -> None:
    if not await conn.fetchval(
        "DELETE FROM alert_rules WHERE tenant_id = $1 AND rule_id = $2 RETURNING 1", tenant, rule_id
    ):
        raise PulseError(404, "not_found", f"no alert rule {rule_id}")
