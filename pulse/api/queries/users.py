"""A tenant's people (`kind = 'person'`) as the API shows them, and their writes. Service accounts
behind API clients share the `users` table but are not managed here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from pulse.api.pagination import Page, like_pattern
from pulse.db.patch import update_row
from pulse.errors import PulseError


class UserPublic(BaseModel):
    user_id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    roles: list[str]
    status: str
    created_at: datetime
    last_login_at: datetime | None


_COLUMNS = "user_id, username, email, display_name, roles, status, created_at, last_login_at"
_PEOPLE = """WHERE tenant_id = $1 AND kind = 'person'
               AND ($2::text IS NULL OR username ILIKE $2 OR email ILIKE $2 OR display_name ILIKE $2)"""


async def require_user(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> UserPublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'",
        tenant,
        user_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no user {user_id}")
    return UserPublic(**dict(row))


async def list_users(
    conn: asyncpg.Connection, tenant: str, page: Page, search: str | None
) -> tuple[list[UserPublic], int]:
    """One page of people by username (matching `search` in username, e-mail or name), and the total."""
    pattern = like_pattern(search) if search else None
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM users {_PEOPLE} ORDER BY username LIMIT $3 OFFSET $4",
        tenant,
        pattern,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM users {_PEOPLE}", tenant, pattern)
    return [UserPublic(**dict(r)) for r in rows], total


async def update_user(
    conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID, values: Mapping[str, object]
) -> None:
    """Columns of a user the caller has already found (require_user)."""
    await update_row(conn, "users", {"tenant_id": tenant, "user_id": user_id}, values)


async def delete_user(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2", tenant, user_id)
