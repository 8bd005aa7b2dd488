"""/customer/maintenance-windows: periods in which matching alerts are suppressed. `recurring` is
validated with the schema the evaluator reads it with (pulse.alerts.maintenance); windows that wrap
midnight are refused here although the evaluator honours them (see that module)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pulse.alerts.maintenance import RecurrenceWrite
from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import maintenance_windows as queries
from pulse.api.queries.maintenance_windows import WindowPublic
from pulse.api.routes.customer.models import IdList, Name, ShortText
from pulse.api.routes.params import utc
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/maintenance-windows",
    tags=["customer-maintenance-windows"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
WindowId = Annotated[str, Path(min_length=1, max_length=128)]


class WindowFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurring: RecurrenceWrite | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    site_ids: IdList | None = None
    device_types: Annotated[list[ShortText], Field(max_length=50)] | None = None
    group_ids: IdList | None = None
    enabled: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone") from None
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value)


class WindowCreate(WindowFields):
    name: Name
    starts_at: datetime

    @model_validator(mode="after")
    def _order(self) -> WindowCreate:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class WindowList(BaseModel):
    windows: list[WindowPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=WindowList)
async def list_windows(
    tenant: TenantId, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> WindowList:
    windows, total = await queries.list_windows(conn, tenant, page)
    return WindowList(windows=windows, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=WindowPublic)
async def create_window(tenant: AdminTenantId, conn: TenantDb, body: WindowCreate) -> WindowPublic:
    window_id = f"mw-{secrets.token_hex(4)}"
    await queries.insert_window(conn, tenant, window_id, body.model_dump())
    return await queries.require_window(conn, tenant, window_id)


@router.get("/{window_id}", response_model=WindowPublic)
async def get_window(tenant: TenantId, conn: TenantDb, window_id: WindowId) -> WindowPublic:
    return await queries.require_window(conn, tenant, window_id)


@router.patch("/{window_id}", response_model=WindowPublic, responses={400: {"model": ErrorBody}})
async def update_window(
    tenant: AdminTenantId, conn: TenantDb, window_id: WindowId, body: WindowFields
) -> WindowPublic:
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    if any(getattr(body, f) is None for f in fields & {"name", "starts_at", "timezone", "enabled"}):
        raise PulseError(400, "bad_request", "name, starts_at, timezone and enabled cannot be null")
    current = await queries.require_window(conn, tenant, window_id)
    starts = body.starts_at if "starts_at" in fields else current.starts_at
    ends = body.ends_at if "ends_at" in fields else current.ends_at
    if ends is not None and starts is not None and ends <= starts:
        raise PulseError(400, "bad_request", "ends_at must be after starts_at")
    await queries.update_window(conn, tenant, window_id, body.model_dump(include=fields))
    return await queries.require_window(conn, tenant, window_id)


@router.delete("/{window_id}", status_code=204)
async def delete_window(tenant: AdminTenantId, conn: TenantDb, window_id: WindowId) -> None:
    await queries.delete_window(conn, tenant, window_id)
