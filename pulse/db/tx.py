"""The two transaction contexts every query runs in.

- `tenant_tx`: `SET LOCAL ROLE pulse_app` + `app.tenant_id`; row-level security then hides every other
  tenant's rows, so handlers never compare tenant ids themselves.
- `operator_tx`: `SET LOCAL ROLE pulse_operator` (BYPASSRLS) with the acting user in `app.actor`, for
  cross-tenant reads by operators and for background services that work on every tenant.

Both use only transaction-local settings, so nothing leaks to the next user of a pooled connection and
the code runs unchanged through PgBouncer in transaction mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


class TenantRequired(ValueError):
    """A tenant transaction was asked for without a tenant id."""


@asynccontextmanager
async def tenant_tx(pool: asyncpg.Pool, tenant_id: str) -> AsyncIterator[asyncpg.Connection]:
    if not tenant_id:
        raise TenantRequired("tenant_tx needs a tenant id")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pulse_app")
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        yield conn


@asynccontextmanager
async def operator_tx(pool: asyncpg.Pool, actor: str) -> AsyncIterator[asyncpg.Connection]:
    """`actor` is who acts: a user's `sub` for operator requests, `service:<name>` for workers."""
    if not actor:
        raise ValueError("operator_tx needs an actor for the audit trail")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pulse_operator")
        await conn.execute("SELECT set_config('app.actor', $1, true)", actor)
        yield conn
