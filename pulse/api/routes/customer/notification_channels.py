"""/customer/notification-channels: targets of any registered kind that routing rules send to
(`notification_routing_rules.py`). Configs are validated, checked, masked and unmasked exactly as for
integrations (`notify_targets.py`); a channel test sends one event at once and leaves nothing behind.
Reads need `customer`, every change and every test send `tenant-admin`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import CustomerPrincipal, Pool, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.notify_targets import (
    TEST_RESPONSES,
    ChannelConfig,
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
)
from pulse.errors import PulseError
from pulse.notify import configs
from pulse.notify.channels import CHANNELS
from pulse.notify.configs import ChannelKind

router = APIRouter(
    prefix="/customer/notification-channels",
    tags=["customer-notification-channels"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

ChannelId = Annotated[int, Path(ge=1, le=2**62, description="The channel's id.")]


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
        raise PulseError(404, "not_found", f"no notification channel {channel_id}")
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
        raise PulseError(422, "type_immutable", f"the type of a channel cannot change (it is {kind!r})")
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
        raise PulseError(404, "not_found", f"no notification channel {channel_id}")


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
