"""Reading `audit_log` (the trail of writes, `pulse/api/audit.py`) for the customer and operator APIs:
one filter shape, newest first, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page


class AuditEvent(BaseModel):
    id: int
    timestamp: datetime
    tenant_id: str | None
    event_type: str
    category: str
    severity: str
    entity_type: str | None
    entity_id: str | None
    entity_name: str | None
    action: str
    message: str
    details: dict[str, Any] | None
    source_service: str
    actor_type: str | None
    actor_id: str | None
    actor_name: str | None
    ip_address: str | None
    request_id: str | None


class AuditEventList(BaseModel):
    events: list[AuditEvent]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: str | None = None  # operators only; a tenant's connection sees its own rows anyway
    category: str | None = None
    action: str | None = None
    actor: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_WHERE = """WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR category = $2)
             AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR actor_id = $4)
             AND ($5::text IS NULL OR entity_type = $5) AND ($6::text IS NULL OR entity_id = $6)
             AND ($7::timestamptz IS NULL OR timestamp >= $7) AND ($8::timestamptz IS NULL OR timestamp < $8)"""


async def list_events(conn: asyncpg.Connection, where: AuditFilter, page: Page) -> AuditEventList:
    args = (
        where.tenant_id,
        where.category,
        where.action,
        where.actor,
        where.entity_type,
        where.entity_id,
        where.since,
        where.until,
    )
    rows = await conn.fetch(
        f"""SELECT id, timestamp, tenant_id, event_type, category, severity, entity_type, entity_id,
                   entity_name, action, message, details, source_service, actor_type, actor_id, actor_name,
                   host(ip_address) AS ip_address, request_id
              FROM audit_log {_WHERE} ORDER BY timestamp DESC, id DESC LIMIT $9 OFFSET $10""",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM audit_log {_WHERE}", *args)
    return AuditEventList(
        events=[AuditEvent(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
