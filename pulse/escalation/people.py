"""How a person is reached: the one read the escalation worker makes when a level names people.

A person's routes are their enabled contact methods (`user_contact_methods`) in the order they were
added; a person with none is reached at their account's e-mail address, so adding a tenant user is
enough to page them. Who is not an active person of the tenant (a service account, a disabled or
deleted user, a user of another tenant) is simply absent: the caller records "no responder" for them.

A channel route is returned even when its channel is disabled: whether a channel sends is the delivery
engine's decision, and it records the refusal where people look for failed deliveries.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Route:
    """One way to reach a person: an e-mail address, or a notification channel of the tenant.
    `method_id` is None for the account e-mail fallback."""

    kind: Literal["email", "channel"]
    email: str | None
    channel_id: int | None
    method_id: int | None


@dataclass(frozen=True)
class Person:
    user_id: UUID
    username: str
    display_name: str | None
    routes: tuple[Route, ...]  # empty: enabled person without methods and without an account e-mail


async def contact_routes(
    conn: asyncpg.Connection, tenant_id: str, user_ids: Collection[UUID]
) -> dict[UUID, Person]:
    """The active people of `tenant_id` among `user_ids`, each with their routes. Works in a tenant
    transaction and an operator one alike (the tenant is always named)."""
    if not user_ids:
        return {}
    rows = await conn.fetch(
        """SELECT u.user_id, u.username, u.display_name, u.email AS account_email,
                  m.method_id, m.kind, m.email, m.channel_id
             FROM users u
             LEFT JOIN user_contact_methods m
               ON m.tenant_id = u.tenant_id AND m.user_id = u.user_id AND m.enabled
            WHERE u.tenant_id = $1 AND u.user_id = ANY($2::uuid[])
              AND u.kind = 'person' AND u.status = 'ACTIVE'
            ORDER BY u.user_id, m.method_id""",
        tenant_id,
        list(user_ids),
    )
    people: dict[UUID, Person] = {}
    for user_id, group in _by_user(rows).items():
        first = group[0]
        routes = tuple(
            Route(r["kind"], r["email"], r["channel_id"], r["method_id"])
            for r in group
            if r["method_id"] is not None
        )
        if not routes and first["account_email"]:
            routes = (Route("email", first["account_email"], None, None),)
        people[user_id] = Person(user_id, first["username"], first["display_name"], routes)
    return people


def _by_user(rows: list[asyncpg.Record]) -> dict[UUID, list[asyncpg.Record]]:
    grouped: dict[UUID, list[asyncpg.Record]] = {}
    for row in rows:
        grouped.setdefault(row["user_id"], []).append(row)
    return grouped
