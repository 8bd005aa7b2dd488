"""The local mail outbox, read: what the API (/customer/outbox, /operator/outbox) and `pulse outbox`
show. Rows are written by the e-mail delivery path when no SMTP server is configured; nothing here
writes or deletes them.

Every query names its tenant filter explicitly, so the same functions serve a tenant transaction (where
row-level security also hides other tenants) and an operator one (all tenants, or one).
"""

from __future__ import annotations

from typing import Any

import asyncpg

NOTICE = (
    "Local outbox: no SMTP server is configured (PULSE_SMTP_HOST), so these messages were not sent; "
    "they are kept here so the whole path is visible on one machine."
)

_COLUMNS = "id, tenant_id, to_address, subject, body_text, body_html, created_at, job_id"
_TENANT = "($1::text IS NULL OR tenant_id = $1)"


async def newest(
    conn: asyncpg.Connection, tenant: str | None, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """One page of messages, newest first; `tenant` None: every tenant."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM mail_outbox WHERE {_TENANT} ORDER BY id DESC LIMIT $2 OFFSET $3",
        tenant,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def count(conn: asyncpg.Connection, tenant: str | None) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM mail_outbox WHERE {_TENANT}", tenant)


async def find(conn: asyncpg.Connection, tenant: str | None, message_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM mail_outbox WHERE {_TENANT} AND id = $2", tenant, message_id
    )
    return dict(row) if row else None


async def after(conn: asyncpg.Connection, tenant: str | None, floor: int, limit: int) -> list[dict[str, Any]]:
    """Messages with an id above `floor`, oldest first (for following the outbox as it grows)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM mail_outbox WHERE {_TENANT} AND id > $2 ORDER BY id LIMIT $3",
        tenant,
        floor,
        limit,
    )
    return [dict(r) for r in rows]
