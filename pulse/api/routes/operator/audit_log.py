"""/operator/audit-log: who among the operators looked at what (`source=operator`, the default), or the
trail of every write through the APIs, all tenants and the platform's own (`source=system`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries.audit_log import AuditEventList, AuditFilter, list_events
from pulse.api.routes.customer.audit_log import Action, ActorFilter, Category, EntityId, EntityType
from pulse.api.routes.params import utc

router = APIRouter(
    prefix="/operator/audit-log",
    tags=["operator-audit-log"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


class AuditEntry(BaseModel):
    id: int
    user_id: str
    action: str
    tenant_filter: str | None
    resource_type: str | None
    resource_id: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime


class AuditLog(BaseModel):
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


@router.get("", response_model=AuditLog | AuditEventList)
async def view_audit_log(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(100, 1000))],
    source: Literal["operator", "system"] = "operator",
    user_id: Annotated[str | None, Query(max_length=256)] = None,
    action: Action = None,
    tenant_filter: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    category: Category = None,
    actor: ActorFilter = None,
    entity_type: EntityType = None,
    entity_id: EntityId = None,
) -> AuditLog | AuditEventList:
    """Newest first. Reading the audit log is itself audited. `source=operator` (default): operators'
    requests, `{entries, …}`, filtered by user_id, action, tenant_filter, since. `source=system`: every
    write's audit row, `{events, …}`, filtered by tenant_filter, category, action, actor, entity_type,
    entity_id, since, until."""
    if source == "system":
        where = AuditFilter(
            tenant_id=tenant_filter,
            category=category,
            action=action,
            actor=actor,
            entity_type=entity_type,
            entity_id=entity_id,
            since=utc(since),
            until=utc(until),
        )
        return await list_events(conn, where, page)
    return await _operator_entries(conn, page, user_id, action, tenant_filter, since)


async def _operator_entries(
    conn,
    page: Page,
    user_id: str | None,
    action: str | None,
    tenant_filter: str | None,
    since: datetime | None,
) -> AuditLog:
    where = """WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR action = $2)
                 AND ($3::text IS NULL OR tenant_filter = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)"""
    args = (user_id, action, tenant_filter, utc(since))
    rows = await conn.fetch(
        f"""SELECT id, user_id, action, tenant_filter, resource_type, resource_id, host(ip_address) AS ip_address,
                   user_agent, created_at
              FROM operator_audit_log {where} ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6""",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM operator_audit_log {where}", *args)
    return AuditLog(
        entries=[AuditEntry(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
