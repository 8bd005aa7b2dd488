"""Authorization codes: single use, one minute, bound to client, redirect URI and PKCE challenge."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from pulse.identity.pkce import verifier_matches
from pulse.identity.users import IdentityError
from pulse.provisioning.tokens import hash_secret

CODE_TTL = timedelta(seconds=60)


@dataclass(frozen=True)
class RedeemedCode:
    user_id: str
    scope: str
    nonce: str | None


async def issue_code(
    conn: asyncpg.Connection,
    *,
    client_id: str,
    user_id: str,
    redirect_uri: str,
    code_challenge: str,
    scope: str,
    nonce: str | None,
) -> str:
    code = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO oauth_auth_codes
               (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, nonce, expires_at)
           VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, now() + $8::interval)""",
        hash_secret(code),
        client_id,
        user_id,
        redirect_uri,
        code_challenge,
        scope,
        nonce,
        CODE_TTL,
    )
    return code


async def redeem_code(
    conn: asyncpg.Connection, *, code: str, client_id: str, redirect_uri: str, code_verifier: str
) -> RedeemedCode:
    """Check every binding and mark the code used. Any mismatch is the same `invalid_grant`."""
    row = await conn.fetchrow(
        """SELECT client_id, user_id, redirect_uri, code_challenge, scope, nonce,
                  used_at IS NOT NULL AS used, expires_at <= now() AS expired
             FROM oauth_auth_codes WHERE code_hash = $1 FOR UPDATE""",
        hash_secret(code),
    )
    if (
        row is None
        or row["used"]
        or row["expired"]
        or row["client_id"] != client_id
        or row["redirect_uri"] != redirect_uri
        or not verifier_matches(code_verifier, row["code_challenge"])
    ):
        raise IdentityError(
            400, "invalid_grant", "the authorization code is invalid, expired or already used"
        )
    await conn.execute("UPDATE oauth_auth_codes SET used_at = now() WHERE code_hash = $1", hash_secret(code))
    return RedeemedCode(str(row["user_id"]), row["scope"], row["nonce"])


async def prune(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM oauth_auth_codes WHERE expires_at < now() - interval '1 hour'")
