"""/customer/maintenance-windows: periods in which matching alerts are suppressed. `recurring` is
validated with the schema the evaluator reads it with (pulse.alerts.maintenance); windows that wrap
midnight are refused here although the evaluator honours them (see that module)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pulse.alerts.maintenance import RecurrenceWrite
from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
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


class WindowPublic(BaseModel):
    window_id: str
    name: str
    starts_at: datetime
    ends_at: datetime | None
    recurring: dict[str, Any] | None
    timezone: str
    site_ids: list[str] | None
    device_types: list[str] | None
    group_ids: list[str] | None
    enabled: bool
    created_at: datetime


class WindowList(BaseModel):
    windows: list[WindowPublic]
    total: int
    limit: int
    offset: int


_COLUMNS = "window_id, name, starts_at, ends_at, recurring, timezone, site_ids, device_types, group_ids, enabled, created_at"


async def _window(conn, tenant: str, window_id: str) -> WindowPublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM alert_maintenance_windows WHERE tenant_id = $1 AND window_id = $2",
        tenant,
        window_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no maintenance window {window_id!r}")
    return WindowPublic(**dict(row))


def _column_value(name: str, value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


@router.get("", response_model=WindowList)
async def list_windows(
    principal: CustomerPrincipal, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> WindowList:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM alert_maintenance_windows WHERE tenant_id = $1
             ORDER BY starts_at DESC, window_id LIMIT $2 OFFSET $3""",
        principal.tenant_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM alert_maintenance_windows WHERE tenant_id = $1", principal.tenant_id
    )
    return WindowList(
        windows=[WindowPublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=WindowPublic)
async def create_window(principal: TenantAdmin, conn: TenantDb, body: WindowCreate) -> WindowPublic:
    assert principal.tenant_id
    window_id = f"mw-{secrets.token_hex(4)}"
    await conn.execute(
        """INSERT INTO alert_maintenance_windows (tenant_id, window_id, name, starts_at, ends_at, recurring, timezone,
                                                  site_ids, device_types, group_ids, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'UTC'), $8, $9, $10, COALESCE($11, true))""",
        principal.tenant_id,
        window_id,
        body.name,
        body.starts_at,
        body.ends_at,
        body.recurring.model_dump() if body.recurring else None,
        body.timezone,
        body.site_ids,
        body.device_types,
        body.group_ids,
        body.enabled,
    )
    return await _window(conn, principal.tenant_id, window_id)


@router.get("/{window_id}", response_model=WindowPublic)
async def get_window(principal: CustomerPrincipal, conn: TenantDb, window_id: WindowId) -> WindowPublic:
    assert principal.tenant_id
    return await _window(conn, principal.tenant_id, window_id)


@router.patch("/{window_id}", response_model=WindowPublic, responses={400: {"model": ErrorBody}})
async def update_window(
    principal: TenantAdmin, conn: TenantDb, window_id: WindowId, body: WindowFields
) -> WindowPublic:
    tenant = principal.tenant_id
    assert tenant
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    if any(getattr(body, f) is None for f in fields & {"name", "starts_at", "timezone", "enabled"}):
        raise PulseError(400, "bad_request", "name, starts_at, timezone and enabled cannot be null")
    current = await _window(conn, tenant, window_id)
    starts = body.starts_at if "starts_at" in fields else current.starts_at
    ends = body.ends_at if "ends_at" in fields else current.ends_at
    if ends is not None and starts is not None and ends <= starts:
        raise PulseError(400, "bad_request", "ends_at must be after starts_at")
    values = {f: _column_value(f, getattr(body, f)) for f in fields}
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    await conn.execute(
        f"UPDATE alert_maintenance_windows SET {assignments} WHERE tenant_id = $1 AND window_id = $2",
        tenant,
        window_id,
        *values.values(),
    )
    return await _window(conn, tenant, window_id)


@router.delete("/{window_id}", status_code=204)
async def delete_window(principal: TenantAdmin, conn: TenantDb, window_id: WindowId) -> None:
    if not await conn.fetchval(
        "DELETE FROM alert_maintenance_windows WHERE tenant_id = $1 AND window_id = $2 RETURNING 1",
        principal.tenant_id,
        window_id,
    ):
        raise PulseError(404, "not_found", f"no maintenance window {window_id!r}")
