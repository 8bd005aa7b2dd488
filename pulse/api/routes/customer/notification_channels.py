"""/customer/notification-channels: targets of any registered kind that routing rules send to
(`notification_routing_rules.py`). The reference §6 contract over the one target store
(`pulse/api/queries/notify_targets.py`, table `NOTIFICATION_CHANNELS`): configs are validated, checked,
masked and unmasked exactly as for integrations; a channel test sends one event at once and leaves
nothing behind. Reads need `customer`, every change and every test send `tenant-admin`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.audit import audit_note
from pulse.api.deps import AdminTenantId, Pool, TenantAdmin, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import notify_targets as store
from pulse.api.routes.customer.notify_targets import (
    TEST_RESPONSES,
    ChannelConfig,
    DeliveryTestResult,
    DisplayName,
    KindText,
    not_null,
    test_target,
)
from pulse.notify.configs import ChannelKind
from pulse.notify.targets import NOTIFICATION_CHANNELS

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
    # Read from a store.Target (`model_validate(target)`); the §6 names are the fields, the store's the aliases.
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    channel_id: int = Field(validation_alias="id")
    name: str
    channel_type: str = Field(validation_alias="kind")
    config: dict[str, Any] = Field(
        validation_alias="shown_config", description="Secrets shown as `********`."
    )
    is_enabled: bool = Field(validation_alias="enabled")
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    channels: list[ChannelPublic]
    total: int
    limit: int
    offset: int


# Looked up in a dependency, before the body is validated: an unknown id is a 404 whatever the body.
async def _channel_for_update(tenant: TenantId, conn: TenantDb, channel_id: ChannelId) -> store.Target:
    return await store.find_target(conn, NOTIFICATION_CHANNELS, tenant, channel_id, lock=True)


LockedChannel = Annotated[store.Target, Depends(_channel_for_update)]


async def _apply(
    conn: TenantDb,
    request: Request,
    current: store.Target,
    body: ChannelReplace | ChannelUpdate,
    fields: set[str],
) -> ChannelPublic:
    """The §6 names onto the store's: `is_enabled` is the target's enabled flag, `channel_type` its kind."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in fields & {"name", "config"}}
    if "is_enabled" in fields:
        changes["enabled"] = body.is_enabled
    kind = body.channel_type if "channel_type" in fields else None
    updated = await store.update_target(
        conn, NOTIFICATION_CHANNELS, current, request.app.state.settings, kind=kind, **changes
    )
    after = ChannelPublic.model_validate(updated)
    audit_note(request).change(before=ChannelPublic.model_validate(current), after=after)
    return after


@router.get("", response_model=ChannelList, summary="List notification channels")
async def list_channels(
    tenant: TenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    channel_type: Annotated[str | None, Query(max_length=32, description="Only this kind.")] = None,
) -> ChannelList:
    query = store.TargetQuery(tenant, kind=channel_type)
    found = await store.list_targets(conn, NOTIFICATION_CHANNELS, query, page.limit, page.offset)
    return ChannelList(
        channels=[ChannelPublic.model_validate(t) for t in found],
        total=await store.count_targets(conn, NOTIFICATION_CHANNELS, query),
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=201, response_model=ChannelPublic, summary="Create a notification channel")
async def create_channel(
    tenant: AdminTenantId, conn: TenantDb, request: Request, body: ChannelCreate
) -> ChannelPublic:
    """The config is validated by the channel and its target checked (422 `invalid_config` naming the
    fields, 422 `target_refused` for a private, loopback or metadata address)."""
    created = await store.create_target(
        conn,
        NOTIFICATION_CHANNELS,
        tenant,
        request.app.state.settings,
        name=body.name,
        kind=body.channel_type,
        enabled=body.is_enabled,
        config=body.config,
    )
    return ChannelPublic.model_validate(created)


@router.get("/{channel_id}", response_model=ChannelPublic, summary="Get a notification channel")
async def get_channel(tenant: TenantId, conn: TenantDb, channel_id: ChannelId) -> ChannelPublic:
    return ChannelPublic.model_validate(
        await store.find_target(conn, NOTIFICATION_CHANNELS, tenant, channel_id)
    )


@router.put("/{channel_id}", response_model=ChannelPublic, summary="Replace a notification channel")
async def replace_channel(
    tenant: AdminTenantId, current: LockedChannel, conn: TenantDb, request: Request, body: ChannelReplace
) -> ChannelPublic:
    return await _apply(conn, request, current, body, {"name", "channel_type", "config", "is_enabled"})


@router.patch(
    "/{channel_id}",
    response_model=ChannelPublic,
    responses={400: {"model": ErrorBody}},
    summary="Change a notification channel",
)
async def update_channel(
    tenant: AdminTenantId, current: LockedChannel, conn: TenantDb, request: Request, body: ChannelUpdate
) -> ChannelPublic:
    fields = not_null(body, {"name", "channel_type", "config", "is_enabled"})
    return await _apply(conn, request, current, body, fields)


@router.delete("/{channel_id}", status_code=204, summary="Delete a notification channel")
async def delete_channel(tenant: AdminTenantId, conn: TenantDb, channel_id: ChannelId) -> None:
    """Its routing rules, delivery jobs and log go with it."""
    await store.delete_target(conn, NOTIFICATION_CHANNELS, tenant, channel_id)


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
    60 s per destination and 20 per tenant (429 with Retry-After). Disabled channels can be tested too."""
    settings = request.app.state.settings
    return await test_target(principal, pool, settings, NOTIFICATION_CHANNELS, channel_id)
