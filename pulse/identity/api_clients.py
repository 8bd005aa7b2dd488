"""API clients for scripts and integrations: OAuth 2 client credentials scoped to one tenant and role.

Design: an API client is a `client_id` + secret pair (secret shown once, stored as SHA-256 — it is
256 random bits, so a slow hash adds nothing) that acts as its own *service-account user*. That
user carries the tenant and the single role chosen at creation (for example `customer` for a
read-only dashboard, `tenant-admin` for a provisioning script, `operator` for a monitoring probe), so
tokens issued to the client look exactly like a person's and every API route, role check and
row-level-security rule applies unchanged. Service accounts cannot log in with a password. Revoking
the client stops new tokens at once; tokens already issued expire within the access-token lifetime.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

import asyncpg

from pulse.identity.users import IdentityError, User, create_user, find_by_id
from pulse.provisioning.tokens import hash_secret

CLIENT_ID_PREFIX = "pulse-"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
_DUMMY_HASH = hash_secret("no-such-client")


@dataclass(frozen=True)
class NewApiClient:
    client_id: str
    client_secret: str  # shown once
    user: User


async def create_api_client(
    conn: asyncpg.Connection, *, name: str, tenant_id: str | None, role: str, created_by: str
) -> NewApiClient:
    if not _NAME_RE.match(name):
        raise IdentityError(422, "invalid_name", f"name must match {NAME_PATTERN}")
    client_id = CLIENT_ID_PREFIX + secrets.token_hex(8)
    user = await create_user(
        conn,
        username=f"svc-{client_id}",
        password=None,
        roles=[role],
        tenant_id=tenant_id,
        display_name=f"API client {name}",
        kind="service",
    )
    secret = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_clients (client_id, user_id, name, secret_hash, created_by) VALUES ($1, $2::uuid, $3, $4, $5)",
        client_id,
        user.user_id,
        name,
        hash_secret(secret),
        created_by,
    )
    return NewApiClient(client_id, secret, user)


async def authenticate(conn: asyncpg.Connection, client_id: str, client_secret: str) -> User | None:
    """The service user behind a valid, unrevoked client whose secret matches; else None."""
    row = await conn.fetchrow(
        "SELECT user_id, secret_hash FROM api_clients WHERE client_id = $1 AND revoked_at IS NULL",
        client_id[:128],
    )
    matches = hmac.compare_digest(hash_secret(client_secret), row["secret_hash"] if row else _DUMMY_HASH)
    if row is None or not matches:
        return None
    user = await find_by_id(conn, str(row["user_id"]))
    if user is None or not user.active:
        return None
    await conn.execute("UPDATE api_clients SET last_used_at = now() WHERE client_id = $1", client_id)
    return user


async def revoke_api_client(conn: asyncpg.Connection, client_id: str) -> bool:
    result = await conn.execute(
        "UPDATE api_clients SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL", client_id
    )
    return result.endswith(" 1")


async def list_api_clients(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.client_id, c.name, u.tenant_id, u.roles, c.created_at, c.created_by, c.last_used_at,
                  c.revoked_at
             FROM api_clients c JOIN users u USING (user_id)
            ORDER BY c.created_at"""
    )
