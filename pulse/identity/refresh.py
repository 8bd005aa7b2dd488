"""Rotating refresh tokens with reuse detection.

A refresh token works once: using it marks it used and returns its successor in the same family.
If a used token comes back, someone holds a copy (the legitimate client already moved on), so the
whole family is revoked and both holders must log in again. The caller must commit that revocation
before answering, which is why `rotate` returns an outcome instead of raising.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from pulse.provisioning.tokens import hash_secret


@dataclass(frozen=True)
class Rotation:
    ok: bool
    token: str | None = None
    user_id: str | None = None
    scope: str | None = None
    problem: str | None = None


async def issue(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    client_id: str,
    scope: str,
    ttl: timedelta,
    family_id: uuid.UUID | None = None,
) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO oauth_refresh_tokens (family_id, user_id, client_id, token_hash, scope, expires_at)
           VALUES ($1, $2::uuid, $3, $4, $5, now() + $6::interval)""",
        family_id or uuid.uuid4(),
        user_id,
        client_id,
        hash_secret(token),
        scope,
        ttl,
    )
    return token


async def revoke_family(conn: asyncpg.Connection, family_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE oauth_refresh_tokens SET revoked_at = now(), revoke_reason = $2 "
        "WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
        reason,
    )


async def rotate(conn: asyncpg.Connection, *, token: str, client_id: str, ttl: timedelta) -> Rotation:
    row = await conn.fetchrow(
        """SELECT id, family_id, user_id, client_id, scope, used_at IS NOT NULL AS used,
                  revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
             FROM oauth_refresh_tokens WHERE token_hash = $1 FOR UPDATE""",
        hash_secret(token),
    )
    if row is None or row["client_id"] != client_id:
        return Rotation(False, problem="unknown refresh token")
    if row["revoked"]:
        return Rotation(False, problem="refresh token revoked")
    if row["used"]:
        await revoke_family(conn, row["family_id"], "reuse_detected")
        return Rotation(False, problem="refresh token already used; the session has been revoked")
    if row["expired"]:
        return Rotation(False, problem="refresh token expired")
    await conn.execute("UPDATE oauth_refresh_tokens SET used_at = now() WHERE id = $1", row["id"])
    successor = await issue(
        conn,
        user_id=str(row["user_id"]),
        client_id=client_id,
        scope=row["scope"],
        ttl=ttl,
        family_id=row["family_id"],
    )
    return Rotation(True, token=successor, user_id=str(row["user_id"]), scope=row["scope"])


async def revoke(conn: asyncpg.Connection, token: str, reason: str = "revoked") -> bool:
    """Revoke the family of `token` (logout). Unknown tokens are not an error (RFC 7009)."""
    family_id = await conn.fetchval(
        "SELECT family_id FROM oauth_refresh_tokens WHERE token_hash = $1", hash_secret(token)
    )
    if family_id is None:
        return False
    await revoke_family(conn, family_id, reason)
    return True


async def revoke_user(conn: asyncpg.Connection, user_id: str, reason: str) -> None:
    await conn.execute(
        "UPDATE oauth_refresh_tokens SET revoked_at = now(), revoke_reason = $2 "
        "WHERE user_id = $1::uuid AND revoked_at IS NULL",
        user_id,
        reason,
    )


async def prune(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM oauth_refresh_tokens WHERE expires_at < now() - interval '1 day'")
