"""/customer/audit-log: the tenant's own trail of writes — who changed what, with before/after for the
changes that carry them (tenant-admin). Operators' writes to the tenant appear here too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse.api.deps import AdminTenantId, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries.audit_log import AuditEventList, AuditFilter, list_events
from pulse.api.routes.params import utc

router = APIRouter(
    prefix="/customer/audit-log",
    tags=["customer-audit-log"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)

Category = Annotated[str | None, Query(max_length=32, description="security, device, alert, tenant, config.")]
Action = Annotated[str | None, Query(max_length=128, description="The route's name, e.g. update_rule.")]
ActorFilter = Annotated[str | None, Query(max_length=256, description="Only this actor id (a user's sub).")]
EntityType = Annotated[str | None, Query(max_length=64, description="e.g. alert-rules, devices.")]
EntityId = Annotated[str | None, Query(max_length=256)]


@router.get("", response_model=AuditEventList)
async def list_audit_log(
    tenant: AdminTenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 1000))],
    category: Category = None,
    action: Action = None,
    actor: ActorFilter = None,
    entity_type: EntityType = None,
    entity_id: EntityId = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditEventList:
    """Newest first."""
    where = AuditFilter(
        category=category,
        action=action,
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        since=utc(since),
        until=utc(until),
    )
    return await list_events(conn, where, page)
