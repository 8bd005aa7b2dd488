"""Creating a tenant — shared by the operator API and the admin API.

A tenant is created with its MAIN subscription (device capacity and term) and the subscription's audit
row in the caller's transaction, so a new tenant can register devices at once and is never half made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

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
