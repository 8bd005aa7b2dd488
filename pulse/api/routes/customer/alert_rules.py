"""/customer/alert-rules: what opens alerts. Reads need `customer`, changes `tenant-admin`.

Types: `threshold` (one metric/operator/threshold, or `conditions` combining up to ten with AND/OR),
`anomaly` (z-score over a window), `telemetry_gap` (no data for some minutes), `no_heartbeat`. The
JSON settings are validated with the schema the evaluator reads them with (pulse.alerts.rules).
"""

from __future__ import annotations

import math
import uuid
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
from pulse.api.audit import AuditChange
from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import alert_rules as queries
from pulse.api.queries.alert_rules import RulePublic
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


def stored_conditions(rule_type: str, values: dict[str, Any]) -> dict[str, Any] | None:
    """The `conditions` column for a rule of this type, from the request's fields."""
    field = queries.CONDITIONS_FIELD.get(rule_type)
    return values.get(field) if field else None


@router.get("", response_model=RuleList)
async def list_rules(
    tenant: TenantId, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> RuleList:
    rules, total = await queries.list_rules(conn, tenant, page)
    return RuleList(
        tenant_id=tenant, rules=rules, count=len(rules), total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=RulePublic)
async def create_rule(tenant: AdminTenantId, conn: TenantDb, body: RuleCreate) -> RulePublic:
    values = body.model_dump()
    if body.escalation_policy_id is not None:
        await queries.require_policy(conn, tenant, body.escalation_policy_id)
    rule_id = await queries.insert_rule(
        conn, tenant, values | {"conditions": stored_conditions(body.rule_type, values)}
    )
    return await queries.require_rule(conn, tenant, rule_id)


@router.get("/{rule_id}", response_model=RulePublic)
async def get_rule(tenant: TenantId, conn: TenantDb, rule_id: RuleId) -> RulePublic:
    return await queries.require_rule(conn, tenant, str(rule_id))


_NOT_NULL = {"name", "enabled", "severity", "duration_seconds"}
_CONDITION_FIELDS = {"conditions", "anomaly_conditions", "gap_conditions"}


@router.patch("/{rule_id}", response_model=RulePublic, responses={400: {"model": ErrorBody}})
async def update_rule(
    tenant: AdminTenantId, conn: TenantDb, rule_id: RuleId, body: RuleFields, audit: AuditChange
) -> RulePublic:
    """Change some fields; the result must still be a complete rule of its type."""
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    if any(getattr(body, f) is None for f in fields & _NOT_NULL):
        raise PulseError(400, "bad_request", f"{sorted(fields & _NOT_NULL)} cannot be null")
    current = await queries.require_rule(conn, tenant, str(rule_id))
    sent = body.model_dump(include=fields)
    problem = rule_problem(current.rule_type, current.model_dump() | sent)
    if problem:
        raise PulseError(400, "bad_request", problem)
    if body.escalation_policy_id is not None:
        await queries.require_policy(conn, tenant, body.escalation_policy_id)
    values = {f: v for f, v in sent.items() if f not in _CONDITION_FIELDS}
    if fields & _CONDITION_FIELDS:
        values["conditions"] = stored_conditions(current.rule_type, sent)
    await queries.update_rule(conn, tenant, str(rule_id), values)
    updated = await queries.require_rule(conn, tenant, str(rule_id))
    audit.change(before=current, after=updated)
    return updated


@router.delete("/{rule_id}", status_code=204)
async def delete_rule(tenant: AdminTenantId, conn: TenantDb, rule_id: RuleId) -> None:
    await queries.delete_rule(conn, tenant, str(rule_id))
