"""/customer/escalation-policies: who is called, in which order, while an alert stays open.

A policy is an ordered list of levels; each level waits `delay_minutes` (level 1 from the alert
opening, the others from the previous level) and then notifies its targets — on-call schedules,
people and notification channels of this tenant. With `repeat_count` the levels run again that many
times while nobody acknowledges. An alert is governed by its rule's policy (`escalation_policy_id` on
/customer/alert-rules), else by the tenant's default policy.

Each alert keeps a snapshot of the policy taken when it opened, so editing or deleting a policy changes
only alerts opened afterwards. Reads need `customer`, writes `tenant-admin`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pulse.api.audit import AuditChange
from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import escalation_policies as queries
from pulse.api.queries.escalation_policies import PolicyPublic
from pulse.api.routes.customer.models import Text

router = APIRouter(
    prefix="/customer/escalation-policies",
    tags=["customer-escalation-policies"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
PolicyId = Annotated[int, Path(ge=1, le=2**62, description="The policy's id.")]
RowId = Annotated[int, Field(ge=1, le=2**62)]
WRITE_RESPONSES: dict[int | str, dict] = {409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


class ScheduleTarget(BaseModel):
    """Whoever is on call in this schedule when the level fires."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["schedule"]
    id: RowId


class UserTarget(BaseModel):
    """A person of this tenant, reached through their contact methods."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["user"]
    id: uuid.UUID


class ChannelTarget(BaseModel):
    """A notification channel of this tenant (a team's Slack channel, a PagerDuty service …)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["channel"]
    id: RowId


Target = Annotated[ScheduleTarget | UserTarget | ChannelTarget, Field(discriminator="type")]


class LevelWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_minutes: Annotated[int, Field(ge=0, le=10080)] = Field(
        description="Minutes to wait before this level fires: level 1 from the alert opening, the "
        "others from the previous level (at most a week)."
    )
    targets: Annotated[list[Target], Field(min_length=1, max_length=20)]

    @field_validator("targets")
    @classmethod
    def _distinct(cls, targets: list[Target]) -> list[Target]:
        seen = [(t.type, str(t.id)) for t in targets]
        if len(set(seen)) != len(seen):
            raise ValueError("a target appears twice in this level")
        return targets


class PolicyWrite(BaseModel):
    """The whole policy; level numbers are the list order, from 1."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Text | None = None
    is_default: bool = Field(
        False, description="Make this the tenant's default policy (the previous default stops being one)."
    )
    repeat_count: Annotated[int, Field(ge=0, le=10)] = Field(
        0, description="Run all levels again this many times while the alert stays unacknowledged."
    )
    levels: Annotated[list[LevelWrite], Field(min_length=1, max_length=20)]


class PolicyList(BaseModel):
    policies: list[PolicyPublic]


@router.get("", response_model=PolicyList, summary="List escalation policies")
async def list_policies(tenant: TenantId, conn: TenantDb) -> PolicyList:
    """Every policy of the tenant with its levels, oldest first (a tenant has at most 100)."""
    return PolicyList(policies=await queries.list_policies(conn, tenant))


@router.post(
    "",
    status_code=201,
    response_model=PolicyPublic,
    responses=WRITE_RESPONSES,
    summary="Create an escalation policy",
)
async def create_policy(tenant: AdminTenantId, conn: TenantDb, body: PolicyWrite) -> PolicyPublic:
    """Every target must be a schedule, person or channel of this tenant (422 `invalid_reference`
    naming the level and target). A policy created while the tenant has no default becomes the
    default, unless the body says `"is_default": false` explicitly. 409 `limit_reached` at 100."""
    policy_id = await queries.create_policy(
        conn,
        tenant,
        body.model_dump(mode="json"),
        default_if_none="is_default" not in body.model_fields_set,
    )
    return await queries.require_policy(conn, tenant, policy_id)


@router.get("/{policy_id}", response_model=PolicyPublic, summary="Get an escalation policy")
async def get_policy(tenant: TenantId, conn: TenantDb, policy_id: PolicyId) -> PolicyPublic:
    return await queries.require_policy(conn, tenant, policy_id)


@router.put(
    "/{policy_id}",
    response_model=PolicyPublic,
    responses=WRITE_RESPONSES,
    summary="Replace an escalation policy",
)
async def replace_policy(
    tenant: AdminTenantId, conn: TenantDb, policy_id: PolicyId, body: PolicyWrite, audit: AuditChange
) -> PolicyPublic:
    """Replaces name, description, `is_default`, `repeat_count` and all levels. `is_default: false` on
    the default policy leaves the tenant without one. Alerts already open keep the policy they opened
    with."""
    before = await queries.require_policy(conn, tenant, policy_id)
    await queries.replace_policy(conn, tenant, policy_id, body.model_dump(mode="json"))
    after = await queries.require_policy(conn, tenant, policy_id)
    audit.change(before=before, after=after)
    return after


@router.delete("/{policy_id}", status_code=204, summary="Delete an escalation policy")
async def delete_policy(tenant: AdminTenantId, conn: TenantDb, policy_id: PolicyId) -> None:
    """Deleting the default policy leaves the tenant without a default: new alerts whose rule names no
    policy then do not escalate until another policy is made the default. Rules that named this
    policy fall back to the default. Alerts already open keep the policy they opened with."""
    await queries.delete_policy(conn, tenant, policy_id)
