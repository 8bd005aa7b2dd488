"""/customer/users: the tenant's people, managed by its tenant admins (built-in issuer only; with an
external issuer such as Keycloak, users are managed there)."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import users as queries
from pulse.api.queries.users import UserPublic
from pulse.api.routes.customer.models import ShortText
from pulse.db.tx import operator_tx
from pulse.errors import PulseError
from pulse.identity import refresh
from pulse.identity.users import create_user, set_password

router = APIRouter(
    prefix="/customer/users",
    tags=["customer-users"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
UserId = Annotated[uuid.UUID, Path()]
TenantRole = Literal["customer", "tenant-admin"]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class UserList(BaseModel):
    users: list[UserPublic]
    total: int
    limit: int
    offset: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    email: Email | None = None
    display_name: ShortText | None = None
    role: TenantRole = "customer"
    password: Annotated[str, Field(min_length=12, max_length=256)] | None = Field(
        None, description="Omit to have one generated (returned once)."
    )


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email | None = None
    display_name: ShortText | None = None
    role: TenantRole | None = None
    enabled: bool | None = None


class UserCreated(BaseModel):
    user: UserPublic
    password: str | None = Field(None, description="The generated password, shown once.")


async def _end_sessions(request: Request, user_id: uuid.UUID, reason: str) -> None:
    """Refresh tokens live in an issuer table the tenant role cannot touch; the issuer revokes them
    for a user this request has already found in the caller's tenant."""
    async with operator_tx(request.app.state.pool, "service:identity") as conn:
        await refresh.revoke_user(conn, str(user_id), reason)


@router.get("", response_model=UserList)
async def list_users(
    tenant: AdminTenantId,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    search: Annotated[str | None, Query(max_length=100)] = None,
) -> UserList:
    users, total = await queries.list_users(conn, tenant, page, search)
    return UserList(users=users, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=UserCreated, responses={409: {"model": ErrorBody}})
async def create_tenant_user(tenant: AdminTenantId, conn: TenantDb, body: UserCreate) -> UserCreated:
    """The new user signs in as `<tenant>/<username>` (the `username` returned): names given here live
    in the tenant's own namespace, so `409 username_taken` only ever means a user of this tenant."""
    generated = None if body.password else secrets.token_urlsafe(15)
    user = await create_user(
        conn,
        username=body.username,
        password=body.password or generated,
        roles=[body.role],
        tenant_id=tenant,
        email=body.email,
        display_name=body.display_name,
        qualified=True,
    )
    return UserCreated(
        user=await queries.require_user(conn, tenant, uuid.UUID(user.user_id)), password=generated
    )


@router.get("/{user_id}", response_model=UserPublic)
async def get_tenant_user(tenant: AdminTenantId, conn: TenantDb, user_id: UserId) -> UserPublic:
    return await queries.require_user(conn, tenant, user_id)


@router.patch("/{user_id}", response_model=UserPublic, responses={400: {"model": ErrorBody}})
async def update_tenant_user(
    request: Request,
    principal: TenantAdmin,
    tenant: AdminTenantId,
    conn: TenantDb,
    user_id: UserId,
    body: UserUpdate,
) -> UserPublic:
    """Change e-mail, name, role (customer ↔ tenant-admin) or enable/disable. Disabling ends the user's
    sessions. Admins cannot change their own role or disable themselves."""
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    await queries.require_user(conn, tenant, user_id)
    if str(user_id) == principal.sub and fields & {"role", "enabled"}:
        raise PulseError(400, "bad_request", "you cannot change your own role or status")
    values: dict[str, object] = {}
    if "email" in fields:
        values["email"] = body.email
    if "display_name" in fields:
        values["display_name"] = body.display_name
    if "role" in fields and body.role:
        values["roles"] = [body.role]
    if "enabled" in fields and body.enabled is not None:
        values["status"] = "ACTIVE" if body.enabled else "DISABLED"
    if values:
        await queries.update_user(conn, tenant, user_id, values)
    if values.get("status") == "DISABLED" or "roles" in values:
        await _end_sessions(request, user_id, "changed_by_tenant_admin")
    return await queries.require_user(conn, tenant, user_id)


@router.post("/{user_id}/password", response_model=UserCreated)
async def reset_password(
    request: Request, tenant: AdminTenantId, conn: TenantDb, user_id: UserId
) -> UserCreated:
    """Set a new generated password (returned once) and end the user's sessions."""
    user = await queries.require_user(conn, tenant, user_id)
    password = secrets.token_urlsafe(15)
    await set_password(conn, str(user_id), password)
    await _end_sessions(request, user_id, "password_reset")
    return UserCreated(user=user, password=password)


@router.delete("/{user_id}", status_code=204, responses={400: {"model": ErrorBody}})
async def delete_tenant_user(
    request: Request, principal: TenantAdmin, tenant: AdminTenantId, conn: TenantDb, user_id: UserId
) -> None:
    await queries.require_user(conn, tenant, user_id)
    if str(user_id) == principal.sub:
        raise PulseError(400, "bad_request", "you cannot delete yourself")
    await _end_sessions(request, user_id, "user_deleted")
    await queries.delete_user(conn, tenant, user_id)
