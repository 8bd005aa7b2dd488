"""Creating a tenant — shared by the operator API and the admin API.

A tenant is created with its MAIN subscription (device capacity and term) and the subscription's audit
row in the caller's transaction, so a new tenant can register devices at once and is never half made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from pulse.errors import PulseError
from pulse.provisioning.devices import ProvisioningError


@dataclass(frozen=True)
class NewTenant:
    tenant_id: str
    subscription_id: str
    term_end: datetime


async def create_tenant(
    conn: asyncpg.Connection,
    *,
    tenant_id: str,
    name: str,
    device_limit: int,
    term_days: int,
    actor: str,
    actor_type: Literal["admin", "operator"],
    contact_email: str | None = None,
    contact_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> NewTenant:
    """Insert the tenant, its MAIN subscription and the audit row; 409 `tenant_exists` if the id is taken.
    Keyword-only, named as the APIs' create bodies are, so a body passes as `**body.model_dump()`."""
    inserted = await conn.fetchval(
        """INSERT INTO tenants (tenant_id, name, contact_email, contact_name, metadata)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id""",
        tenant_id,
        name,
        contact_email,
        contact_name,
        metadata or {},
    )
    if inserted is None:
        raise ProvisioningError(409, "tenant_exists", f"tenant {tenant_id!r} already exists")
    row = await conn.fetchrow(
        """INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_start, term_end, status,
                                      description, created_by)
           VALUES ($1, 'MAIN', $2, now(), now() + make_interval(days => $3), 'ACTIVE', 'Created with the tenant', $4)
           RETURNING subscription_id, term_end""",
        tenant_id,
        device_limit,
        term_days,
        f"{actor_type}:{actor}",
    )
    await conn.execute(
        """INSERT INTO subscription_audit (tenant_id, subscription_id, event_type, actor_type, actor_id, new_state)
           VALUES ($1, $2, 'SUBSCRIPTION_CREATED', 'admin', $3, $4)""",
        tenant_id,
        row["subscription_id"],
        actor,
        {"device_limit": device_limit, "term_days": term_days, "subscription_type": "MAIN"},
    )
    return NewTenant(tenant_id, row["subscription_id"], row["term_end"])


# --- who may act for a tenant ------------------------------------------------------------------------

TENANT_UNAVAILABLE = "tenant_unavailable"
TENANT_SUSPENDED = "tenant_suspended"


class TenantAccessError(PulseError):
    """A principal's tenant refuses the request: deleted or unknown (403 `tenant_unavailable`, nothing at
    all is served), or suspended and the request writes (403 `tenant_suspended`; reads still work)."""


async def tenant_status(conn: asyncpg.Connection, tenant_id: str) -> str | None:
    """ACTIVE, SUSPENDED, DELETED, or None for a tenant that does not exist. `conn` is in tenant_tx for
    that tenant or in operator_tx (RLS shows a tenant its own row only)."""
    return await conn.fetchval("SELECT status FROM tenants WHERE tenant_id = $1", tenant_id)


def check_tenant_access(tenant_id: str, status: str | None, *, write: bool) -> None:
    """The one rule of the tenant lifecycle, for the API (`pulse/api/deps.py`), the WebSocket and the
    issuer (login, refresh, client credentials): a deleted or unknown tenant gets nothing; a suspended
    tenant may sign in and read, and every write is refused."""
    if status is None or status == "DELETED":
        raise TenantAccessError(
            403, TENANT_UNAVAILABLE, f"tenant {tenant_id!r} does not exist or was deleted"
        )
    if status == "SUSPENDED" and write:
        raise TenantAccessError(
            403, TENANT_SUSPENDED, f"tenant {tenant_id!r} is suspended: data can be read but not changed"
        )
