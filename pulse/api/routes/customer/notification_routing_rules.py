"""/customer/notification-routing-rules: which alert events go to which notification channel — filters
on severity, alert type and device tags, the events to deliver, and a per-channel throttle. The engine
turns every matching event into one delivery job per channel (pulse/notify/dispatch.py). The reference
§6 contract over the one filter store (`pulse/api/queries/notify_targets.py`, `ROUTING_RULES`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import notify_targets as store
from pulse.api.routes.customer.notify_targets import (
    AlertTypeName,
    DeliveryEvent,
    unique,
)

router = APIRouter(
    prefix="/customer/notification-routing-rules",
    tags=["customer-notification-routing-rules"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

BigId = Annotated[int, Field(ge=1, le=2**62)]
RoutingRuleId = Annotated[int, Path(ge=1, le=2**62, description="The routing rule's id.")]

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f,:=]+$")]
TagValue = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f,]+$")]


class RuleBody(BaseModel):
    """A rule matches an event when every filter it sets holds; a channel with several matching rules
    still gets one delivery per event."""

    model_config = ConfigDict(extra="forbid")
    channel_id: BigId
    min_severity: Annotated[
        int | None, Field(ge=1, le=5, description="Only alerts at least this severe (1-5); null: any.")
    ] = None
    alert_type: AlertTypeName | None = Field(default=None, description="Only this alert type; null: any.")
    device_tag_key: TagKey | None = Field(
        default=None,
        description="Only devices with this tag key. Device tags are strings; `key:value` and `key=value` "
        "are the two spellings of a keyed tag. With a key only, the rule matches the bare tag `key` and "
        "the key with any value (`key:…`, `key=…`).",
    )
    device_tag_val: TagValue | None = Field(
        default=None,
        description="With device_tag_key: only the tag `key:value` or `key=value` (needs device_tag_key).",
    )
    deliver_on: Annotated[list[DeliveryEvent], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: ["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"],
        description="Which alert events this rule sends.",
    )
    throttle_minutes: Annotated[int, Field(ge=0, le=1440)] = Field(
        default=0,
        description="After a delivery for an alert, stay quiet about the same alert on this channel for "
        "this long (0: never throttle); the smallest throttle of the matching rules applies and a "
        "resolution (CLOSED) is never throttled.",
    )
    is_enabled: bool = True

    _dedupe = field_validator("deliver_on")(unique)

    @model_validator(mode="after")
    def _value_needs_key(self) -> RuleBody:
        if self.device_tag_val is not None and self.device_tag_key is None:
            raise ValueError("device_tag_val needs device_tag_key")
        return self


class RulePublic(BaseModel):
    tenant_id: str
    rule_id: int
    channel_id: int
    channel_name: str
    channel_type: str
    min_severity: int | None
    alert_type: str | None
    device_tag_key: str | None
    device_tag_val: str | None
    deliver_on: list[str]
    throttle_minutes: int
    is_enabled: bool
    created_at: datetime


class RuleList(BaseModel):
    rules: list[RulePublic]
    total: int
    limit: int
    offset: int


RULES = store.ROUTING_RULES


async def _rule_for_update(tenant: TenantId, conn: TenantDb, routing_rule_id: RoutingRuleId) -> int:
    return await store.lock_filter(conn, RULES, tenant, routing_rule_id)


@router.get("", response_model=RuleList, summary="List notification routing rules")
async def list_rules(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    channel_id: Annotated[int | None, Query(ge=1, le=2**62, description="Only this channel's rules.")] = None,
) -> RuleList:
    query = store.FilterQuery(tenant, target_id=channel_id)
    rows = await store.list_filters(conn, RULES, query, page.limit, page.offset)
    return RuleList(
        rules=[RulePublic(**dict(r)) for r in rows],
        total=await store.count_filters(conn, RULES, query),
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=201, response_model=RulePublic, summary="Create a notification routing rule")
async def create_rule(tenant: AdminTenantId, conn: TenantDb, body: RuleBody) -> RulePublic:
    """Route matching alert events to one of the tenant's channels (404 for a channel that is not the
    tenant's)."""
    row = await store.create_filter(conn, RULES, tenant, body.model_dump(include=set(RULES.columns)))
    return RulePublic(**dict(row))


@router.get("/{routing_rule_id}", response_model=RulePublic, summary="Get a notification routing rule")
async def get_rule(tenant: TenantId, conn: TenantDb, routing_rule_id: RoutingRuleId) -> RulePublic:
    return RulePublic(**dict(await store.find_filter(conn, RULES, tenant, routing_rule_id)))


@router.put("/{routing_rule_id}", response_model=RulePublic, summary="Replace a notification routing rule")
async def replace_rule(
    tenant: AdminTenantId,
    rule_id: Annotated[int, Depends(_rule_for_update)],
    conn: TenantDb,
    body: RuleBody,
) -> RulePublic:
    """The whole rule: omitted fields take their defaults."""
    row = await store.update_filter(conn, RULES, tenant, rule_id, body.model_dump(include=set(RULES.columns)))
    return RulePublic(**dict(row))


@router.delete("/{routing_rule_id}", status_code=204, summary="Delete a notification routing rule")
async def delete_rule(tenant: AdminTenantId, conn: TenantDb, routing_rule_id: RoutingRuleId) -> None:
    await store.delete_filter(conn, RULES, tenant, routing_rule_id)
