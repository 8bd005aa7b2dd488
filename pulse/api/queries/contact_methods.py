"""A person's contact methods (`user_contact_methods`) as the API shows them, and their writes.

How the escalation worker reads them is `pulse.escalation.people.contact_routes`; this module only
serves the people and admins who manage them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from pulse.errors import PulseError

MAX_METHODS = 10  # per person
# Channel kinds that can carry a message to one person (a Slack DM webhook, a PagerDuty user's key, an
# e-mail address …); SNMP traps and MQTT topics reach systems, not people.
PERSONAL_CHANNEL_KINDS = ("slack", "teams", "pagerduty", "webhook", "email")


class MethodPublic(BaseModel):
    method_id: int
    kind: Literal["email", "channel"]
    email: str | None
    channel_id: int | None
    channel_name: str | None
    channel_type: str | None
    enabled: bool
    created_at: datetime


class MethodList(BaseModel):
    user_id: uuid.UUID
    methods: list[MethodPublic]
    fallback_email: str | None = Field(
        description="The account's e-mail address: used when the person has no enabled method."
    )


_SELECT = """SELECT m.method_id, m.kind, m.email, m.channel_id, c.name AS channel_name,
                    c.channel_type, m.enabled, m.created_at
               FROM user_contact_methods m
               LEFT JOIN notification_channels c ON c.tenant_id = m.tenant_id AND c.channel_id = m.channel_id"""


async def person_email(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> str | None:
    """The account e-mail of a person of the tenant; 404 when `user_id` is not one."""
    row = await conn.fetchrow(
        "SELECT email FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'", tenant, user_id
    )
    if row is None:
        raise PulseError(404, "not_found", f"no user {user_id}")
    return row["email"]


async def list_methods(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID) -> MethodList:
    fallback = await person_email(conn, tenant, user_id)
    rows = await conn.fetch(
        f"{_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 ORDER BY m.method_id", tenant, user_id
    )
    return MethodList(
        user_id=user_id, methods=[MethodPublic(**dict(r)) for r in rows], fallback_email=fallback
    )


async def require_method(
    conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID, method_id: int
) -> MethodPublic:
    row = await conn.fetchrow(
        f"{_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.method_id = $3",
        tenant,
        user_id,
        method_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no contact method {method_id} of user {user_id}")
    return MethodPublic(**dict(row))


async def owner_of(conn: asyncpg.Connection, tenant: str, method_id: int) -> uuid.UUID:
    """The person a method of this tenant belongs to; 404 when the tenant has no such method."""
    owner = await conn.fetchval(
        "SELECT user_id FROM user_contact_methods WHERE tenant_id = $1 AND method_id = $2", tenant, method_id
    )
    if owner is None:
        raise PulseError(404, "not_found", f"no contact method {method_id}")
    return owner


async def _check_channel(conn: asyncpg.Connection, tenant: str, channel_id: int) -> None:
    kind = await conn.fetchval(
        "SELECT channel_type FROM notification_channels WHERE tenant_id = $1 AND channel_id = $2",
        tenant,
        channel_id,
    )
    if kind is None:
        raise PulseError(422, "invalid_reference", f"no notification channel {channel_id} in this tenant")
    if kind not in PERSONAL_CHANNEL_KINDS:
        raise PulseError(
            422,
            "unsuitable_channel",
            f"a {kind} channel cannot reach a person; use one of: {', '.join(PERSONAL_CHANNEL_KINDS)}",
        )


async def add_method(
    conn: asyncpg.Connection,
    tenant: str,
    user_id: uuid.UUID,
    *,
    email: str | None = None,
    channel_id: int | None = None,
) -> int:
    """A new enabled method (an e-mail address or a channel) for a person; returns its id.
    404 unknown person, 422 unusable channel, 409 duplicate or more than MAX_METHODS."""
    # The person's row lock serialises adds for one person, so two requests cannot both pass the count.
    locked = await conn.fetchval(
        """SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'
              FOR NO KEY UPDATE""",
        tenant,
        user_id,
    )
    if not locked:
        raise PulseError(404, "not_found", f"no user {user_id}")
    if channel_id is not None:
        await _check_channel(conn, tenant, channel_id)
    existing = await conn.fetch(
        "SELECT lower(email) AS email, channel_id FROM user_contact_methods WHERE tenant_id = $1 AND user_id = $2",
        tenant,
        user_id,
    )
    if len(existing) >= MAX_METHODS:
        raise PulseError(409, "limit_reached", f"a person has at most {MAX_METHODS} contact methods")
    if any(
        (email is not None and r["email"] == email.lower())
        or (channel_id is not None and r["channel_id"] == channel_id)
        for r in existing
    ):
        raise PulseError(409, "conflict", "this person already has that contact method")
    return await conn.fetchval(
        """INSERT INTO user_contact_methods (tenant_id, user_id, kind, email, channel_id)
           VALUES ($1, $2, $3, $4, $5) RETURNING method_id""",
        tenant,
        user_id,
        "email" if email is not None else "channel",
        email,
        channel_id,
    )


async def set_enabled(
    conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID, method_id: int, enabled: bool
) -> None:
    if not await conn.fetchval(
        """UPDATE user_contact_methods SET enabled = $4
            WHERE tenant_id = $1 AND user_id = $2 AND method_id = $3 RETURNING 1""",
        tenant,
        user_id,
        method_id,
        enabled,
    ):
        raise PulseError(404, "not_found", f"no contact method {method_id} of user {user_id}")


async def delete_method(conn: asyncpg.Connection, tenant: str, user_id: uuid.UUID, method_id: int) -> None:
    if not await conn.fetchval(
        "DELETE FROM user_contact_methods WHERE tenant_id = $1 AND user_id = $2 AND method_id = $3 RETURNING 1",
        tenant,
        user_id,
        method_id,
    ):
        raise PulseError(404, "not_found", f"no contact method {method_id} of user {user_id}")
