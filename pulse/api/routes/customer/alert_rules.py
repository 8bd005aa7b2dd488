"""/customer/alert-rules: what opens alerts. Reads need `customer`, changes `tenant-admin`.

Types: `threshold` (one metric/operator/threshold, or `conditions` combining up to ten with AND/OR),
`anomaly` (z-score over a window), `telemetry_gap` (no data for some minutes), `no_heartbeat`. The
JSON settings are validated with the schema the evaluator reads them with (pulse.alerts.rules).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pulse.alerts.rules import (
    AnomalyConditionsWrite,
    GapConditionsWrite,
    MetricName,
    Operator,
    RuleType,
    ThresholdConditionsWrite,
)
from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.models import IdList, Name, ShortText, Text
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/alert-rules",
    tags=["customer-alert-rules"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

RuleId = Annotated[uuid.UUID, Path(description="The rule's id (a UUID).")]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Text | None = None
    enabled: bool | None = None
    metric_name: MetricName | None = None
    operator: Operator | None = None
    threshold: float | None = None
    clear_threshold: float | None = None
    clear_after_seconds: Annotated[int, Field(ge=0, le=86400)] | None = None
    severity: Annotated[int, Field(ge=1, le=5)] | None = None
    duration_seconds: Annotated[int, Field(ge=0, le=86400)] | None = None
    site_ids: IdList | None = None
    group_ids: IdList | None = None
    device_type: ShortText | None = None
    conditions: ThresholdConditionsWrite | None = None
    anomaly_conditions: AnomalyConditionsWrite | None = None
    gap_conditions: GapConditionsWrite | None = None
    escalation_policy_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    check_thresholds = field_validator("threshold", "clear_threshold")(_finite)


class RuleCreate(RuleFields):
    name: Name
    rule_type: RuleType = "threshold"

    @model_validator(mode="after")
    def _type_needs(self) -> RuleCreate:
        problem = rule_problem(self.rule_type, self.model_dump())
        if problem:
            raise ValueError(problem)
        return self


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


class RuleList(BaseModel):
    tenant_id: str
    rules: list[RulePublic]
    count: int
    total: int
    limit: int
    offset: int


def rule_problem(rule_type: str, values: dict[str, Any]) -> str | None:
    """What a rule of this type is missing, or None."""
    if rule_type == "threshold":
        simple = all(values.get(k) is not None for k in ("metric_name", "operator", "threshold"))
        if not simple and not values.get("conditions"):
            return "a threshold rule needs metric_name, operator and threshold, or conditions"
    elif rule_type == "anomaly" and not values.get("anomaly_conditions"):
        return "an anomaly rule needs anomaly_conditions"
    elif rule_type == "telemetry_gap" and not values.get("gap_conditions"):
        return "a telemetry_gap rule needs gap_conditions"
    return None


# `conditions` holds the multi-condition of a threshold rule, or the anomaly / gap settings: one
# column, read according to rule_type.
_COLUMNS = """tenant_id, rule_id, name, description, enabled, rule_type, metric_name, operator, threshold,
              clear_threshold, clear_after_seconds, severity, duration_seconds, site_ids, group_ids, device_type,
              conditions, escalation_policy_id, created_at, updated_at"""


def _public(row) -> RulePublic:
    data = dict(row)
    stored = data.pop("conditions")
    kind = data["rule_type"]
    data["conditions"] = stored if kind == "threshold" and stored else None
    data["anomaly_conditions"] = stored if kind == "anomaly" else None
    data["gap_conditions"] = stored if kind == "telemetry_gap" else None
    return RulePublic(**data)


def _stored_conditions(rule_type: str, values: dict[str, Any]) -> dict[str, Any] | None:
    key = {"threshold": "conditions", "anomaly": "anomaly_conditions", "telemetry_gap": "gap_conditions"}.get(
        rule_type
    )
    return values.get(key) if key else None


async def _rule(conn, tenant: str, rule_id: uuid.UUID) -> RulePublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM alert_rules WHERE tenant_id = $1 AND rule_id = $2", tenant, str(rule_id)
    )
    if row is None:
        raise PulseError(404, "not_found", f"no alert rule {rule_id}")
    return _public(row)


async def _check_policy(conn, tenant: str, policy_id: int | None) -> None:
    if policy_id is not None and not await conn.fetchval(
        "SELECT 1 FROM escalation_policies WHERE tenant_id = $1 AND policy_id = $2", tenant, policy_id
    ):
        raise PulseError(422, "invalid_reference", f"no escalation policy {policy_id}")


@router.get("", response_model=RuleList)
async def list_rules(
    principal: CustomerPrincipal, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> RuleList:
    assert principal.tenant_id
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM alert_rules WHERE tenant_id = $1 ORDER BY name, rule_id LIMIT $2 OFFSET $3",
        principal.tenant_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM alert_rules WHERE tenant_id = $1", principal.tenant_id)
    rules = [_public(r) for r in rows]
    return RuleList(
        tenant_id=principal.tenant_id,
        rules=rules,
        count=len(rules),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=201, response_model=RulePublic)
async def create_rule(principal: TenantAdmin, conn: TenantDb, body: RuleCreate) -> RulePublic:
    tenant = principal.tenant_id
    assert tenant
    values = body.model_dump()
    await _check_policy(conn, tenant, body.escalation_policy_id)
    rule_id = await conn.fetchval(
        """INSERT INTO alert_rules (tenant_id, name, description, enabled, rule_type, metric_name, operator, threshold,
                                    clear_threshold, clear_after_seconds, severity, duration_seconds, site_ids,
                                    group_ids, device_type, conditions, escalation_policy_id)
           VALUES ($1, $2, $3, COALESCE($4, true), $5, $6, $7, $8, $9, $10, COALESCE($11, 3), COALESCE($12, 0),
                   $13, $14, $15, $16, $17)
           RETURNING rule_id""",
        tenant,
        body.name,
        body.description,
        body.enabled,
        body.rule_type,
        body.metric_name,
        body.operator,
        body.threshold,
        body.clear_threshold,
        body.clear_after_seconds,
        body.severity,
        body.duration_seconds,
        body.site_ids,
        body.group_ids,
        body.device_type,
        _stored_conditions(body.rule_type, values),
        body.escalation_policy_id,
    )
    return await _rule(conn, tenant, uuid.UUID(rule_id))


@router.get("/{rule_id}", response_model=RulePublic)
async def get_rule(principal: CustomerPrincipal, conn: TenantDb, rule_id: RuleId) -> RulePublic:
    assert principal.tenant_id
    return await _rule(conn, principal.tenant_id, rule_id)


_NOT_NULL = {"name", "enabled", "severity", "duration_seconds"}


@router.patch("/{rule_id}", response_model=RulePublic, responses={400: {"model": ErrorBody}})
async def update_rule(
    principal: TenantAdmin, conn: TenantDb, rule_id: RuleId, body: RuleFields
) -> RulePublic:
    """Change some fields; the result must still be a complete rule of its type."""
    tenant = principal.tenant_id
    assert tenant
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    if any(getattr(body, f) is None for f in fields & _NOT_NULL):
        raise PulseError(400, "bad_request", f"{sorted(fields & _NOT_NULL)} cannot be null")
    current = await _rule(conn, tenant, rule_id)
    merged = current.model_dump() | body.model_dump(include=fields)
    problem = rule_problem(current.rule_type, merged)
    if problem:
        raise PulseError(400, "bad_request", problem)
    await _check_policy(conn, tenant, body.escalation_policy_id if "escalation_policy_id" in fields else None)
    values = {
        f: getattr(body, f) for f in fields if f not in ("conditions", "anomaly_conditions", "gap_conditions")
    }
    for name in ("site_ids", "group_ids"):
        if name in values and values[name] is not None:
            values[name] = list(values[name])
    if fields & {"conditions", "anomaly_conditions", "gap_conditions"}:
        values["conditions"] = _stored_conditions(current.rule_type, body.model_dump(include=fields))
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    await conn.execute(
        f"UPDATE alert_rules SET {assignments} WHERE tenant_id = $1 AND rule_id = $2",
        tenant,
        str(rule_id),
        *values.values(),
    )
    return await _rule(conn, tenant, rule_id)


@router.delete("/{rule_id}", status_code=204)
async def delete_rule(principal: TenantAdmin, conn: TenantDb, rule_id: RuleId) -> None:
    if not await conn.fetchval(
        "DELETE FROM alert_rules WHERE tenant_id = $1 AND rule_id = $2 RETURNING 1",
        principal.tenant_id,
        str(rule_id),
    ):
        raise PulseError(404, "not_found", f"no alert rule {rule_id}")
