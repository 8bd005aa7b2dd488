"""Tenants as operators see them, and the operator's changes to them (creation is
pulse.provisioning.tenants)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page
from pulse.db.patch import update_row
from pulse.errors import PulseError


class TenantPublic(BaseModel):
    tenant_id: str
    name: str
    status: str
    contact_email: str | None
    contact_name: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


_COLUMNS = (
    "tenant_id, name, status, contact_email, contact_name, metadata, created_at, updated_at, deleted_at"
)


def _not_found(tenant_id: str) -> PulseError:
    return PulseError(404, "not_found", f"no tenant {tenant_id!r}")


async def require_tenant(conn: asyncpg.Connection, tenant_id: str) -> TenantPublic:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenants WHERE tenant_id = $1", tenant_id)
    if row is None:
        raise _not_found(tenant_id)
    return TenantPublic(**dict(row))


async def list_tenants(conn: asyncpg.Connection, status: str, page: Page) -> tuple[list[TenantPublic], int]:
    """One page of tenants with this status (`ALL`: any), by id, and the total."""
    where = "WHERE ($1::text = 'ALL' OR status = $1)"
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM tenants {where} ORDER BY tenant_id LIMIT $2 OFFSET $3",
        status,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM tenants {where}", status)
    return [TenantPublic(**dict(r)) for r in rows], total


async def update_tenant(conn: asyncpg.Connection, tenant_id: str, values: Mapping[str, object]) -> None:
    """A status change also sets deleted_at: kept when it stays DELETED, cleared when it leaves."""
    also = ""
    if "status" in values:  # the right-hand side sees the old row: compare the new status parameter
        status_param = list(values).index("status") + 2  # after the key's $1
        also = (
            f"deleted_at = CASE WHEN ${status_param}::text = 'DELETED' THEN COALESCE(deleted_at, now()) END"
        )
    if await update_row(conn, "tenants", {"tenant_id": tenant_id}, values, also=also) is None:
        raise _not_found(tenant_id)


async def soft_delete_tenant(conn: asyncpg.Connection, tenant_id: str) -> None:
    if not await conn.fetchval(
        "UPDATE tenants SET status = 'DELETED', deleted_at = now() WHERE tenant_id = $1 RETURNING 1",
        tenant_id,
    ):
        raise _not_found(tenant_id)
