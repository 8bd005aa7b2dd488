"""/customer/outbox: the tenant's mail that was not sent because no SMTP server is configured (the
zero-setup run keeps it in the local outbox, `pulse.notify.outbox_view`). Newest first.

Tenant admins only: a message to a person carries that person's single-use acknowledge link, so
reading other people's mail would let a viewer acknowledge alerts in their name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from pulse.api.deps import AdminTenantId, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.errors import PulseError
from pulse.notify import outbox_view

router = APIRouter(
    prefix="/customer/outbox",
    tags=["customer-outbox"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
MessageId = Annotated[int, Path(ge=1, le=2**62, description="The message's id.")]
NoticeField = Field(default=outbox_view.NOTICE, description="Why these messages are here and were not sent.")


class OutboxMessage(BaseModel):
    id: int
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    created_at: datetime
    job_id: int | None = Field(description="The delivery job that rendered it (/customer/delivery-jobs).")


class OutboxPage(BaseModel):
    notice: str = NoticeField
    messages: list[OutboxMessage]
    total: int
    limit: int
    offset: int


class OutboxEntry(OutboxMessage):
    notice: str = NoticeField


@router.get("", response_model=OutboxPage, summary="List unsent mail (local outbox)")
async def list_outbox(
    tenant: AdminTenantId, conn: TenantDb, page: Annotated[Page, Depends(page_params(50, 200))]
) -> OutboxPage:
    messages = await outbox_view.newest(conn, tenant, page.limit, page.offset)
    return OutboxPage(
        messages=[OutboxMessage(**m) for m in messages],
        total=await outbox_view.count(conn, tenant),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{message_id}", response_model=OutboxEntry, summary="Get one unsent message")
async def get_outbox_message(tenant: AdminTenantId, conn: TenantDb, message_id: MessageId) -> OutboxEntry:
    message = await outbox_view.find(conn, tenant, message_id)
    if message is None:
        raise PulseError(404, "not_found", f"no outbox message {message_id}")
    return OutboxEntry(**message)
