"""/operator/outbox: every tenant's unsent mail in the local outbox (no SMTP server configured), newest
first; audited like every operator request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from pulse.api.deps import OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.outbox import NoticeField, OutboxMessage
from pulse.notify import outbox_view

router = APIRouter(
    prefix="/operator/outbox",
    tags=["operator-outbox"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


class TenantOutboxMessage(OutboxMessage):
    tenant_id: str


class OperatorOutboxPage(BaseModel):
    notice: str = NoticeField
    messages: list[TenantOutboxMessage]
    total: int
    limit: int
    offset: int


@router.get("", response_model=OperatorOutboxPage, summary="List unsent mail of every tenant")
async def list_all_outbox(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(50, 200))],
    tenant_filter: Annotated[str | None, Query(max_length=64, description="Only this tenant.")] = None,
) -> OperatorOutboxPage:
    messages = await outbox_view.newest(conn, tenant_filter, page.limit, page.offset)
    return OperatorOutboxPage(
        messages=[TenantOutboxMessage(**m) for m in messages],
        total=await outbox_view.count(conn, tenant_filter),
        limit=page.limit,
        offset=page.offset,
    )
