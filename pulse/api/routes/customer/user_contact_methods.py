"""/customer/users/{user_id}/contact-methods: how a person of the tenant is reached when an escalation
level names them (or a schedule they are on call for), managed by the tenant's admins. People manage
their own at /customer/me/contact-methods (`my_contact_methods.py`).

A method is an e-mail address or one of the tenant's notification channels that reaches one person
(Slack, Teams, PagerDuty, webhook, e-mail). Enabled methods are all used, in the order they were added;
a person with none is reached at their account's e-mail address (`fallback_email`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from pulse.api.deps import AdminTenantId, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries import contact_methods as queries
from pulse.api.queries.contact_methods import MethodList, MethodPublic

router = APIRouter(
    prefix="/customer/users/{user_id}/contact-methods",
    tags=["customer-contact-methods"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
UserId = Annotated[uuid.UUID, Path(description="A person of the tenant.")]
MethodId = Annotated[int, Path(ge=1, le=2**62, description="The contact method's id.")]
CREATE_RESPONSES: dict[int | str, dict] = {409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


class EmailMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["email"]
    email: Annotated[EmailStr, Field(max_length=320)]


class ChannelMethod(BaseModel):
    """A notification channel of this tenant that reaches this person (their Slack DM webhook …)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["channel"]
    channel_id: Annotated[int, Field(ge=1, le=2**62)]


MethodCreate = Annotated[EmailMethod | ChannelMethod, Field(discriminator="kind")]


class MethodUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


async def add(
    conn: TenantDb, tenant: str, user_id: uuid.UUID, body: EmailMethod | ChannelMethod
) -> MethodPublic:
    """Shared by both routers: add the method, answer it as read back."""
    if isinstance(body, EmailMethod):
        method_id = await queries.add_method(conn, tenant, user_id, email=str(body.email))
    else:
        method_id = await queries.add_method(conn, tenant, user_id, channel_id=body.channel_id)
    return await queries.require_method(conn, tenant, user_id, method_id)


@router.get("", response_model=MethodList, summary="List a person's contact methods")
async def list_methods(tenant: AdminTenantId, conn: TenantDb, user_id: UserId) -> MethodList:
    return await queries.list_methods(conn, tenant, user_id)


@router.post(
    "",
    status_code=201,
    response_model=MethodPublic,
    responses=CREATE_RESPONSES,
    summary="Add a contact method",
)
async def add_method(
    tenant: AdminTenantId, conn: TenantDb, user_id: UserId, body: MethodCreate
) -> MethodPublic:
    """422 `invalid_reference` for a channel not of this tenant, 422 `unsuitable_channel` for a kind
    that cannot reach a person (SNMP, MQTT); 409 `conflict` when the person already has it, 409
    `limit_reached` beyond 10 methods."""
    return await add(conn, tenant, user_id, body)


@router.patch("/{method_id}", response_model=MethodPublic, summary="Enable or disable a contact method")
async def update_method(
    tenant: AdminTenantId, conn: TenantDb, user_id: UserId, method_id: MethodId, body: MethodUpdate
) -> MethodPublic:
    await queries.set_enabled(conn, tenant, user_id, method_id, body.enabled)
    return await queries.require_method(conn, tenant, user_id, method_id)


@router.delete("/{method_id}", status_code=204, summary="Remove a contact method")
async def delete_method(tenant: AdminTenantId, conn: TenantDb, user_id: UserId, method_id: MethodId) -> None:
    await queries.delete_method(conn, tenant, user_id, method_id)
