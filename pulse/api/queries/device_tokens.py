"""Device API tokens (`device_api_tokens`): client_id/secret pairs a device or gateway logs in to the
broker with (username and client id = client_id, password = secret, the device's topic rights). Only
hashes are stored — SHA-256 and the broker's PBKDF2 form for its rebuild (the secret is 256 random
bits; a slow hash would add nothing) — so a secret can be shown once, when it is made."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from pulse.broker.access import hash_password
from pulse.provisioning.tokens import hash_secret


class DeviceToken(BaseModel):
    id: uuid.UUID
    client_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


async def active_tokens(conn: asyncpg.Connection, tenant: str, device_id: str) -> list[DeviceToken]:
    """The device's tokens not revoked yet, oldest first."""
    rows = await conn.fetch(
        """SELECT id, client_id, label, created_at, revoked_at FROM device_api_tokens
            WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL ORDER BY created_at""",
        tenant,
        device_id,
    )
    return [DeviceToken(**dict(r)) for r in rows]


async def replace_tokens(
    conn: asyncpg.Connection, tenant: str, device_id: str, label: str
) -> tuple[str, str, list[str]]:
    """Revoke every active token of the device and make a new one: its (client_id, secret) and the
    client ids revoked. The secret is also the broker password of that client id (hash kept for the
    broker's rebuild, pulse/broker/access.py)."""
    revoked = await conn.fetch(
        """UPDATE device_api_tokens SET revoked_at = now()
            WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL RETURNING client_id""",
        tenant,
        device_id,
    )
    # Readable prefixes tell an operator whose client it is; the random tail keeps it unique.
    client_id = f"{tenant[:8]}-{device_id[:8]}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO device_api_tokens (tenant_id, device_id, client_id, token_hash, label, broker_password_hash)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        tenant,
        device_id,
        client_id,
        hash_secret(secret),
        label,
        hash_password(secret),
    )
    return client_id, secret, [r["client_id"] for r in revoked]


async def revoke_token(
    conn: asyncpg.Connection, tenant: str, device_id: str, token_id: uuid.UUID
) -> str | None:
    """The revoked token's client id; None when the device has no such active token."""
    return await conn.fetchval(
        """UPDATE device_api_tokens SET revoked_at = now()
            WHERE tenant_id = $1 AND device_id = $2 AND id = $3 AND revoked_at IS NULL RETURNING client_id""",
        tenant,
        device_id,
        token_id,
    )
