"""/customer/notification-channels and /customer/notification-routing-rules: the other way to route
alert events — channels (a target of any registered kind) and rules (filters on severity, alert type
and device tags, with a per-channel throttle). The notification engine turns every matching event into
one delivery job per channel (pulse/notify/dispatch.py).

Configs are validated, checked, masked and unmasked exactly as for integrations (`integrations.py`).
Reads need `customer`, every change and every test send `tenant-admin`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from pulse.api.deps import CustomerPrincipal, Pool, TenantAdmin, TenantDb
from pulse.api.errors import ApiError, ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.notify_targets import (
    TEST_RESPONSES,
    AlertTypeName,
    ChannelConfig,
    DeliveryEvent,
    DeliveryTestResult,
    DisplayName,
    KindText,
    checked_config,
    new_config,
    not_null,
    send_test,
    show_config,
    take_test_slot,
    tenant_conn,
    test_event,
    unique,
)
from pulse.notify import configs
from pulse.notify.channels import CHANNELS
from pulse.notify.configs import ChannelKind

router = APIRouter(
    prefix="/customer/notification-channels",
    tags=["customer-notification-channels"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
rules_router = APIRouter(
    prefix="/customer/notification-routing-rules",
    tags=["customer-notification-routing-rules"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

BigId = Annotated[int, Field(ge=1, le=2**62)]
ChannelId = Annotated[int, Path(ge=1, le=2**62, description="The channel's id.")]
RoutingRuleId = Annotated[int, Path(ge=1, le=2**62, description="The routing rule's id.")]

# ---------------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------------


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName
    channel_type: ChannelKind
    config: ChannelConfig
    is_enabled: bool = True


class ChannelReplace(BaseModel):
    """The whole channel. `channel_type` must be the current one (create a new channel for another
    kind); a secret sent back as `********` keeps the stored value."""

    model_config = ConfigDict(extra="forbid")
    name: DisplayName
    channel_type: KindText
    config: ChannelConfig
    is_enabled: bool = True


class ChannelUpdate(BaseModel):
    """Any of name, config, is_enabled (`channel_type` only if unchanged)."""

    model_config = ConfigDict(extra="forbid")
    name: DisplayName | None = None
    channel_type: KindText | None = None
    config: ChannelConfig | None = None
    is_enabled: bool | None = None


class ChannelPublic(BaseModel):
    tenant_id: str
    channel_id: int
    name: str
    channel_type: str
    config: dict[str, Any] = Field(description="Secrets shown as `********`.")
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    channels: list[ChannelPublic]
    total: int
    limit: int
    offset: int


_CHANNEL_COLUMNS = "tenant_id, channel_id, name, channel_type, config, is_enabled, created_at, updated_at"


def _channel(row: asyncpg.Record) -> ChannelPublic:
    data = dict(row)
    data["config"] = show_config(data["channel_type"], data["config"])
    return ChannelPublic(**data)


async def find_channel(
    conn: asyncpg.Connection, tenant: str | None, channel_id: int, *, lock: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {_CHANNEL_COLUMNS} FROM notification_channels WHERE tenant_id = $1 AND channel_id = $2"
        + (" FOR UPDATE" if lock else ""),
        tenant,
        channel_id,
    )
    if row is None:
        raise ApiError(404, "not_found", f"no notification channel {channel_id}")
    return row


# Looked up in a dependency, before the body is validated: an unknown id is a 404 whatever the body.
async def _channel_for_update(
    principal: CustomerPrincipal, conn: TenantDb, channel_id: ChannelId
) -> asyncpg.Record:
    return await find_channel(conn, principal.tenant_id, channel_id, lock=True)


LockedChannel = Annotated[asyncpg.Record, Depends(_channel_for_update)]


async def _apply(
    conn: asyncpg.Connection,
    request: Request,
    current: asyncpg.Record,
    body: ChannelReplace | ChannelUpdate,
    fields: set[str],
) -> ChannelPublic:
    kind = current["channel_type"]
    if "channel_type" in fields and body.channel_type != kind:
        raise ApiError(422, "type_immutable", f"the type of a channel cannot change (it is {kind!r})")
    values: dict[str, Any] = {f: getattr(body, f) for f in fields & {"name", "is_enabled"}}
    if "config" in fields:
        incoming = body.config
        if kind in CHANNELS:
            incoming = configs.unmask(kind, incoming, current["config"])
        values["config"] = await checked_config(kind, incoming, request.app.state.settings)
    if not values:
        return _channel(current)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    row = await conn.fetchrow(
        f"""UPDATE notification_channels SET {assignments} WHERE tenant_id = $1 AND channel_id = $2
            RETURNING {_CHANNEL_COLUMNS}""",
        current["tenant_id"],
        current["channel_id"],
        *values.values(),
    )
    return _channel(row)


@router.get("", response_model=ChannelList, summary="List notification channels")
async def list_channels(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    channel_type: Annotated[str | None, Query(max_length=32, description="Only this kind.")] = None,
) -> ChannelList:
    where = "tenant_id = $1 AND ($2::text IS NULL OR channel_type = $2)"
    rows = await conn.fetch(
        f"SELECT {_CHANNEL_COLUMNS} FROM notification_channels WHERE {where} ORDER BY name, channel_id LIMIT $3 OFFSET $4",
        principal.tenant_id,
        channel_type,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM notification_channels WHERE {where}", principal.tenant_id, channel_type
    )
    return ChannelList(
        channels=[_channel(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=ChannelPublic, summary="Create a notification channel")
async def create_channel(
    principal: TenantAdmin, conn: TenantDb, request: Request, body: ChannelCreate
) -> ChannelPublic:
    """The config is validated by the channel and its target checked (422 `invalid_config` naming the
    fields, 422 `target_refused` for a private, loopback or metadata address)."""
    config = await new_config(body.channel_type, body.config, request.app.state.settings)
    row = await conn.fetchrow(
        f"""INSERT INTO notification_channels (tenant_id, name, channel_type, config, is_enabled)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_CHANNEL_COLUMNS}""",
        principal.tenant_id,
        body.name,
        body.channel_type,
        config,
        body.is_enabled,
    )
    return _channel(row)


@router.get("/{channel_id}", response_model=ChannelPublic, summary="Get a notification channel")
async def get_channel(principal: CustomerPrincipal, conn: TenantDb, channel_id: ChannelId) -> ChannelPublic:
    return _channel(await find_channel(conn, principal.tenant_id, channel_id))


@router.put("/{channel_id}", response_model=ChannelPublic, summary="Replace a notification channel")
async def replace_channel(
    principal: TenantAdmin, current: LockedChannel, conn: TenantDb, request: Request, body: ChannelReplace
) -> ChannelPublic:
    return await _apply(conn, request, current, body, {"name", "channel_type", "config", "is_enabled"})


@router.patch(
    "/{channel_id}",
    response_model=ChannelPublic,
    responses={400: {"model": ErrorBody}},
    summary="Change a notification channel",
)
async def update_channel(
    principal: TenantAdmin, current: LockedChannel, conn: TenantDb, request: Request, body: ChannelUpdate
) -> ChannelPublic:
    fields = not_null(body, {"name", "channel_type", "config", "is_enabled"})
    return await _apply(conn, request, current, body, fields)


@router.delete("/{channel_id}", status_code=204, summary="Delete a notification channel")
async def delete_channel(principal: TenantAdmin, conn: TenantDb, channel_id: ChannelId) -> None:
    """Its routing rules, delivery jobs and log go with it."""
    if not await conn.fetchval(
        "DELETE FROM notification_channels WHERE tenant_id = $1 AND channel_id = $2 RETURNING 1",
        principal.tenant_id,
        channel_id,
    ):
        raise ApiError(404, "not_found", f"no notification channel {channel_id}")


@router.post(
    "/{channel_id}/test",
    response_model=DeliveryTestResult,
    responses=TEST_RESPONSES,
    summary="Send a test notification",
)
async def test_channel(
    principal: TenantAdmin, pool: Pool, request: Request, channel_id: ChannelId
) -> DeliveryTestResult:
    """Send a test event (alert 0, `TEST` on `test-device`, severity 3) through this channel only, now,
    and answer what happened. No rule, job or log row is created and nothing is retried; at most 5 per
    60 s per channel (429 with Retry-After). Disabled channels can be tested too."""
    assert principal.tenant_id
    async with tenant_conn(principal, pool) as conn:
        row = await find_channel(conn, principal.tenant_id, channel_id)
        await take_test_slot(conn, principal.tenant_id, f"test_channel:{channel_id}")
    event = test_event(principal.tenant_id, principal.display)
    return await send_test(request.app.state.settings, row["channel_type"], row["config"], event)


# ---------------------------------------------------------------------------------------------------
# Routing rules
# ---------------------------------------------------------------------------------------------------

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


_RULE_SELECT = """SELECT r.tenant_id, r.rule_id, r.channel_id, c.name AS channel_name, c.channel_type,
                         r.min_severity, r.alert_type, r.device_tag_key, r.device_tag_val, r.deliver_on,
                         r.throttle_minutes, r.is_enabled, r.created_at
                    FROM notification_routing_rules r JOIN notification_channels c USING (tenant_id, channel_id)"""
_RULE_COLUMNS = (
    "channel_id",
    "min_severity",
    "alert_type",
    "device_tag_key",
    "device_tag_val",
    "deliver_on",
    "throttle_minutes",
    "is_enabled",
)


async def _rule(conn: asyncpg.Connection, tenant: str | None, rule_id: int) -> RulePublic:
    row = await conn.fetchrow(f"{_RULE_SELECT} WHERE r.tenant_id = $1 AND r.rule_id = $2", tenant, rule_id)
    if row is None:
        raise ApiError(404, "not_found", f"no notification routing rule {rule_id}")
    return RulePublic(**dict(row))


async def _rule_for_update(
    principal: CustomerPrincipal, conn: TenantDb, routing_rule_id: RoutingRuleId
) -> int:
    if not await conn.fetchval(
        "SELECT 1 FROM notification_routing_rules WHERE tenant_id = $1 AND rule_id = $2 FOR UPDATE",
        principal.tenant_id,
        routing_rule_id,
    ):
        raise ApiError(404, "not_found", f"no notification routing rule {routing_rule_id}")
    return routing_rule_id


@rules_router.get("", response_model=RuleList, summary="List notification routing rules")
async def list_rules(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    channel_id: Annotated[int | None, Query(ge=1, le=2**62, description="Only this channel's rules.")] = None,
) -> RuleList:
    where = "r.tenant_id = $1 AND ($2::bigint IS NULL OR r.channel_id = $2)"
    rows = await conn.fetch(
        f"{_RULE_SELECT} WHERE {where} ORDER BY r.rule_id LIMIT $3 OFFSET $4",
        principal.tenant_id,
        channel_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM notification_routing_rules r WHERE {where}", principal.tenant_id, channel_id
    )
    return RuleList(
        rules=[RulePublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@rules_router.post(
    "", status_code=201, response_model=RulePublic, summary="Create a notification routing rule"
)
async def create_rule(principal: TenantAdmin, conn: TenantDb, body: RuleBody) -> RulePublic:
    """Route matching alert events to one of the tenant's channels (404 for a channel that is not the
    tenant's)."""
    await find_channel(conn, principal.tenant_id, body.channel_id)
    values = [getattr(body, c) for c in _RULE_COLUMNS]
    rule_id = await conn.fetchval(
        f"""INSERT INTO notification_routing_rules (tenant_id, {", ".join(_RULE_COLUMNS)})
            VALUES ($1, {", ".join(f"${i}" for i in range(2, len(values) + 2))}) RETURNING rule_id""",
        principal.tenant_id,
        *values,
    )
    return await _rule(conn, principal.tenant_id, rule_id)


@rules_router.get("/{routing_rule_id}", response_model=RulePublic, summary="Get a notification routing rule")
async def get_rule(
    principal: CustomerPrincipal, conn: TenantDb, routing_rule_id: RoutingRuleId
) -> RulePublic:
    return await _rule(conn, principal.tenant_id, routing_rule_id)


@rules_router.put(
    "/{routing_rule_id}", response_model=RulePublic, summary="Replace a notification routing rule"
)
async def replace_rule(
    principal: TenantAdmin,
    rule_id: Annotated[int, Depends(_rule_for_update)],
    conn: TenantDb,
    body: RuleBody,
) -> RulePublic:
    """The whole rule: omitted fields take their defaults."""
    await find_channel(conn, principal.tenant_id, body.channel_id)
    values = [getattr(body, c) for c in _RULE_COLUMNS]
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_RULE_COLUMNS, start=3))
    await conn.execute(
        f"UPDATE notification_routing_rules SET {assignments} WHERE tenant_id = $1 AND rule_id = $2",
        principal.tenant_id,
        rule_id,
        *values,
    )
    return await _rule(conn, principal.tenant_id, rule_id)


@rules_router.delete("/{routing_rule_id}", status_code=204, summary="Delete a notification routing rule")
async def delete_rule(principal: TenantAdmin, conn: TenantDb, routing_rule_id: RoutingRuleId) -> None:
    if not await conn.fetchval(
        "DELETE FROM notification_routing_rules WHERE tenant_id = $1 AND rule_id = $2 RETURNING 1",
        principal.tenant_id,
        routing_rule_id,
    ):
        raise ApiError(404, "not_found", f"no notification routing rule {routing_rule_id}")
