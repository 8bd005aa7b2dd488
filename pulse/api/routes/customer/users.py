"""/customer/users: the tenant's people, managed by its tenant admins (built-in issuer only; with an
external issuer such as Keycloak, users are managed there)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, like_pattern, page_params
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


class UserPublic(BaseModel):
    user_id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    roles: list[str]
    status: str
    created_at: datetime
    last_login_at: datetime | None


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


_COLUMNS = "user_id, username, email, display_name, roles, status, created_at, last_login_at"


async def _user(conn, tenant: str, user_id: uuid.UUID) -> UserPublic:
    # `kind = 'person'`: service accounts behind API clients are not managed here.
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'",
        tenant,
        user_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no user {user_id}")
    return UserPublic(**dict(row))


async def _end_sessions(request: Request, user_id: uuid.UUID, reason: str) -> None:
    """Refresh tokens live in an issuer table the tenant role cannot touch; the issuer revokes them
    for a user this request has already found in the caller's tenant."""
    async with operator_tx(request.app.state.pool, "service:identity") as conn:
        await refresh.revoke_user(conn, str(user_id), reason)


@router.get("", response_model=UserList)
async def list_users(
    principal: TenantAdmin,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    search: Annotated[str | None, Query(max_length=100)] = None,
) -> UserList:
    pattern = like_pattern(search) if search else None
    where = """WHERE tenant_id = $1 AND kind = 'person'
                 AND ($2::text IS NULL OR username ILIKE $2 OR email ILIKE $2 OR display_name ILIKE $2)"""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM users {where} ORDER BY username LIMIT $3 OFFSET $4",
        principal.tenant_id,
        pattern,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM users {where}", principal.tenant_id, pattern)
    return UserList(
        users=[UserPublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=UserCreated, responses={409: {"model": ErrorBody}})
async def create_tenant_user(principal: TenantAdmin, conn: TenantDb, body: UserCreate) -> UserCreated:
    tenant = principal.tenant_id
    assert tenant
    generated = None if body.password else secrets.token_urlsafe(15)
    user = await create_user(
        conn,
        username=body.username,
        password=body.password or generated,
        roles=[body.role],
        tenant_id=tenant,
        email=body.email,
        display_name=body.display_name,
    )
    return UserCreated(user=await _user(conn, tenant, uuid.UUID(user.user_id)), password=generated)


@router.get("/{user_id}", response_model=UserPublic)
async def get_tenant_user(principal: TenantAdmin, conn: TenantDb, user_id: UserId) -> UserPublic:
    assert principal.tenant_id
    return await _user(conn, principal.tenant_id, user_id)


@router.patch("/{user_id}", response_model=UserPublic, responses={400: {"model": ErrorBody}})
async def update_tenant_user(
    request: Request, principal: TenantAdmin, conn: TenantDb, user_id: UserId, body: UserUpdate
) -> UserPublic:
    """Change e-mail, name, role (customer ↔ tenant-admin) or enable/disable. Disabling ends the user's
    sessions. Admins cannot change their own role or disable themselves."""
    tenant = principal.tenant_id
    assert tenant
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    await _user(conn, tenant, user_id)
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
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
        await conn.execute(
            f"UPDATE users SET {assignments} WHERE tenant_id = $1 AND user_id = $2",
            tenant,
            user_id,
            *values.values(),
        )
    if values.get("status") == "DISABLED" or "roles" in values:
        await _end_sessions(request, user_id, "changed_by_tenant_admin")
    return await _user(conn, tenant, user_id)


@router.post("/{user_id}/password", response_model=UserCreated)
async def reset_password(
    request: Request, principal: TenantAdmin, conn: TenantDb, user_id: UserId
) -> UserCreated:
    """Set a new generated password (returned once) and end the user's sessions."""
    tenant = principal.tenant_id
    assert tenant
    user = await _user(conn, tenant, user_id)
    password = secrets.token_urlsafe(15)
    await set_password(conn, str(user_id), password)
    await _end_sessions(request, user_id, "password_reset")
    return UserCreated(user=user, password=password)


@router.delete("/{user_id}", status_code=204, responses={400: {"model": ErrorBody}})
async def delete_tenant_user(
    request: Request, principal: TenantAdmin, conn: TenantDb, user_id: UserId
) -> None:
    tenant = principal.tenant_id
    assert tenant
    await _user(conn, tenant, user_id)
    if str(user_id) == principal.sub:
        raise PulseError(400, "bad_request", "you cannot delete yourself")
    await _end_sessions(request, user_id, "user_deleted")
    await conn.execute("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2", tenant, user_id)
