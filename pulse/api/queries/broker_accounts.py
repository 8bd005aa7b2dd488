"""A tenant's broker logins that read its alerts (`tenant_broker_accounts`). Only the broker's PBKDF2
hash of a password is kept (the broker's rebuild uses it), so a password is shown once, when made."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from pulse.broker.access import alerts_username, hash_password
from pulse.db import locks

MAX_ACTIVE = 20  # per tenant: enough for every consumer, bounded so nobody mints thousands


class BrokerAccount(BaseModel):
    id: uuid.UUID
    username: str
    label: str
    created_at: datetime


async def active_accounts(conn: asyncpg.Connection, tenant: str) -> list[BrokerAccount]:
    rows = await conn.fetch(
        """SELECT id, username, label, created_at FROM tenant_broker_accounts
            WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY created_at""",
        tenant,
    )
    return [BrokerAccount(**dict(r)) for r in rows]


async def create_account(
    conn: asyncpg.Connection, tenant: str, label: str
) -> tuple[BrokerAccount, str] | None:
    """A new alert reader and its password; None when the tenant already has MAX_ACTIVE."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", locks.BROKER_ACCOUNTS_CLASS, tenant)
    active = await conn.fetchval(
        "SELECT count(*) FROM tenant_broker_accounts WHERE tenant_id = $1 AND revoked_at IS NULL", tenant
    )
    if active >= MAX_ACTIVE:
        return None
    password = secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        """INSERT INTO tenant_broker_accounts (tenant_id, username, password_hash, label)
           VALUES ($1, $2, $3, $4) RETURNING id, username, label, created_at""",
        tenant,
        alerts_username(tenant),
        hash_password(password),
        label,
    )
    return BrokerAccount(**dict(row)), password


async def revoke_account(conn: asyncpg.Connection, tenant: str, account_id: uuid.UUID) -> str | None:
    """The revoked account's username; None when the tenant has no such active account."""
    return await conn.fetchval(
        """UPDATE tenant_broker_accounts SET revoked_at = now()
            WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING username""",
        tenant,
        account_id,
    )
