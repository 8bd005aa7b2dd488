"""Users of the built-in issuer (`users` table). Functions take a connection in a transaction the caller
opened: the issuer uses operator_tx (no tenant is known before login), tenant admins use tenant_tx."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

import asyncpg

from pulse.errors import PulseError
from pulse.identity.passwords import hash_password_async, password_problem
from pulse.identity.roles import role_problem

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
_USERNAME_RE = re.compile(USERNAME_PATTERN)
USER_COLUMNS = (
    "user_id, tenant_id, username, email, display_name, password_hash, roles, status, kind, "
    "created_at, updated_at, last_login_at"
)


class IdentityError(PulseError):
    """A request the identity code refuses (bad username, weak password, unknown client …)."""


@dataclass(frozen=True)
class User:
    user_id: str
    tenant_id: str | None
    username: str
    email: str | None
    display_name: str | None
    roles: tuple[str, ...]
    status: str
    kind: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> User:
        return cls(
            user_id=str(row["user_id"]),
            tenant_id=row["tenant_id"],
            username=row["username"],
            email=row["email"],
            display_name=row["display_name"],
            roles=tuple(row["roles"]),
            status=row["status"],
            kind=row["kind"],
        )

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


async def find_by_username(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)", username
    )


async def find_by_id(conn: asyncpg.Connection, user_id: str) -> User | None:
    try:
        uuid.UUID(user_id)
    except ValueError:
        return None  # e.g. the `sub` of another issuer's token: no such user here
    row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = $1::uuid", user_id)
    return User.from_row(row) if row else None


async def record_login(conn: asyncpg.Connection, user_id: str) -> None:
    await conn.execute("UPDATE users SET last_login_at = now() WHERE user_id = $1::uuid", user_id)


async def create_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    password: str | None,
    roles: list[str],
    tenant_id: str | None,
    email: str | None = None,
    display_name: str | None = None,
    kind: Literal["person", "service"] = "person",
    qualified: bool = False,
) -> User:
    """Create a user. `password=None` gives an unusable random password (service accounts).

    `qualified` (tenant admins' users): the login name is `<tenant>/<username>`. User names are unique
    across the platform, so without it a tenant admin's `409 username_taken` would tell whether a name
    exists in another tenant or among the operators; `/` is allowed in no other name, so a qualified
    name can only collide inside its own tenant."""
    if not _USERNAME_RE.match(username):
        raise IdentityError(422, "invalid_username", f"username must match {USERNAME_PATTERN}")
    if qualified:
        if tenant_id is None:
            raise IdentityError(422, "invalid_username", "a qualified username needs a tenant")
        username = f"{tenant_id}/{username}"
    problem = role_problem(roles, tenant_id)
    if problem:
        raise IdentityError(422, "invalid_roles", problem)
    if password is None:
        password = secrets.token_urlsafe(32)
    else:
        problem = password_problem(password)
        if problem:
            raise IdentityError(422, "weak_password", problem)
    if tenant_id is not None and not await conn.fetchval(
        "SELECT 1 FROM tenants WHERE tenant_id = $1 AND status <> 'DELETED'", tenant_id
    ):
        raise IdentityError(404, "tenant_not_found", f"no tenant {tenant_id!r}")
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO users (tenant_id, username, email, display_name, password_hash, roles, kind)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}""",
            tenant_id,
            username,
            email,
            display_name,
            await hash_password_async(password),
            sorted(set(roles)),
            kind,
        )
    except asyncpg.UniqueViolationError:
        raise IdentityError(409, "username_taken", f"username {username!r} is taken") from None
    return User.from_row(row)


async def set_password(conn: asyncpg.Connection, user_id: str, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise IdentityError(422, "weak_password", problem)
    await conn.execute(
        "UPDATE users SET password_hash = $2 WHERE user_id = $1::uuid",
        user_id,
        await hash_password_async(password),
    )
