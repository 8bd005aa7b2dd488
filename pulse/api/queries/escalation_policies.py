"""Escalation policies and their levels as the API shows them, and their writes.

A level's `targets` are stored as written (`[{"type": "schedule" | "user" | "channel", "id": …}]`,
user ids as text) because that is what the alert's snapshot copies and the worker resolves when the
level fires. Display names are looked up at read time, so a renamed schedule shows its new name and a
deleted one shows `null` — the policy is not rewritten when a target goes.

Only policy rows and their levels are written here: an open alert carries its own snapshot (copied by
the `alerts_escalation_start` trigger), so no edit or delete reaches `alerts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, Field

from pulse.db import locks
from pulse.errors import PulseError

MAX_POLICIES = 100  # per tenant: every policy is listed on one page, so their number is bounded

TargetType = Literal["schedule", "user", "channel"]


class TargetPublic(BaseModel):
    type: TargetType
    id: int | str = Field(description="A schedule or channel id (integer) or a user id (UUID).")
    name: str | None = Field(
        description="Schedule name, username or channel name now; null when the target no longer exists."
    )


class LevelPublic(BaseModel):
    level_number: int
    delay_minutes: int
    targets: list[TargetPublic]


class PolicyPublic(BaseModel):
    policy_id: int
    name: str
    description: str | None
    is_default: bool
    repeat_count: int
    levels: list[LevelPublic]
    created_at: datetime
    updated_at: datetime


_COLUMNS = "policy_id, name, description, is_default, repeat_count, created_at, updated_at"

# Per target type: the noun errors use, how an id is read, and the id → display name lookup.
_NOUN = {"schedule": "on-call schedule", "user": "person", "channel": "notification channel"}
_ID_TYPE: dict[str, type] = {"schedule": int, "user": uuid.UUID, "channel": int}
_NAMES_SQL = {
    "schedule": """SELECT schedule_id::text AS id, name FROM oncall_schedules
                    WHERE tenant_id = $1 AND schedule_id = ANY($2::bigint[])""",
    "user": """SELECT user_id::text AS id, username AS name FROM users
                WHERE tenant_id = $1 AND kind = 'person' AND user_id = ANY($2::uuid[])""",
    "channel": """SELECT channel_id::text AS id, name FROM notification_channels
                   WHERE tenant_id = $1 AND channel_id = ANY($2::bigint[])""",
}


def _key(target: Mapping[str, Any]) -> tuple[str, str] | None:
    """(type, canonical id text) of a stored target; None for a shape no lookup can match."""
    kind, ident = target.get("type"), target.get("id")
    if kind not in _ID_TYPE or isinstance(ident, bool):
        return None
    try:
        return kind, str(_ID_TYPE[kind](str(ident)))
    except ValueError:
        return None


async def _target_names(
    conn: asyncpg.Connection, tenant: str, targets: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, str], str]:
    """Display names of the targets that exist in the tenant, by `_key`: one query per target type."""
    wanted: dict[str, set[str]] = {}
    for target in targets:
        key = _key(target)
        if key:
            wanted.setdefault(key[0], set()).add(key[1])
    names: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        typed = [_ID_TYPE[kind](i) for i in ids]
        for row in await conn.fetch(_NAMES_SQL[kind], tenant, typed):
            names[(kind, row["id"])] = row["name"]
    return names


async def _with_levels(
    conn: asyncpg.Connection, tenant: str, policies: Sequence[asyncpg.Record]
) -> list[PolicyPublic]:
    levels = await conn.fetch(
        """SELECT policy_id, level_number, delay_minutes, targets FROM escalation_levels
            WHERE tenant_id = $1 AND policy_id = ANY($2::bigint[]) ORDER BY policy_id, level_number""",
        tenant,
        [p["policy_id"] for p in policies],
    )
    names = await _target_names(conn, tenant, (t for level in levels for t in level["targets"]))
    by_policy: dict[int, list[LevelPublic]] = {}
    for level in levels:
        targets = [
            TargetPublic(type=t["type"], id=t["id"], name=names.get(_key(t)))  # type: ignore[arg-type]
            for t in level["targets"]
        ]
        by_policy.setdefault(level["policy_id"], []).append(
            LevelPublic(
                level_number=level["level_number"], delay_minutes=level["delay_minutes"], targets=targets
            )
        )
    return [PolicyPublic(**dict(p), levels=by_policy.get(p["policy_id"], [])) for p in policies]


async def list_policies(conn: asyncpg.Connection, tenant: str) -> list[PolicyPublic]:
    """Every policy of the tenant (at most MAX_POLICIES), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM escalation_policies WHERE tenant_id = $1 ORDER BY policy_id", tenant
    )
    return await _with_levels(conn, tenant, rows)


async def require_policy(conn: asyncpg.Connection, tenant: str, policy_id: int) -> PolicyPublic:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM escalation_policies WHERE tenant_id = $1 AND policy_id = $2",
        tenant,
        policy_id,
    )
    if row is None:
        raise PulseError(404, "not_found", f"no escalation policy {policy_id}")
    return (await _with_levels(conn, tenant, [row]))[0]


async def check_targets(conn: asyncpg.Connection, tenant: str, levels: Sequence[Mapping[str, Any]]) -> None:
    """422 `invalid_reference` naming every level and target that is not a schedule, person or
    channel of this tenant. `levels`: the write body's levels, ids already of the right shape."""
    names = await _target_names(conn, tenant, (t for level in levels for t in level["targets"]))
    missing = [
        f"level {n}, target {i}: no {_NOUN[t['type']]} {t['id']} in this tenant"
        for n, level in enumerate(levels, start=1)
        for i, t in enumerate(level["targets"], start=1)
        if _key(t) not in names
    ]
    if missing:
        raise PulseError(422, "invalid_reference", "; ".join(missing))


async def lock_policies(conn: asyncpg.Connection, tenant: str) -> None:
    """Serialise writes of one tenant's policies until the transaction ends (see locks.py)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", locks.ESCALATION_POLICIES_CLASS, tenant
    )


async def _clear_default(conn: asyncpg.Connection, tenant: str, keep: int | None) -> None:
    await conn.execute(
        """UPDATE escalation_policies SET is_default = false
            WHERE tenant_id = $1 AND is_default AND policy_id IS DISTINCT FROM $2""",
        tenant,
        keep,
    )


async def _write_levels(
    conn: asyncpg.Connection, tenant: str, policy_id: int, levels: Sequence[Mapping[str, Any]]
) -> None:
    """The policy's levels become `levels`, numbered in list order from 1."""
    await conn.execute(
        "DELETE FROM escalation_levels WHERE tenant_id = $1 AND policy_id = $2", tenant, policy_id
    )
    await conn.executemany(
        """INSERT INTO escalation_levels (tenant_id, policy_id, level_number, delay_minutes, targets)
           VALUES ($1, $2, $3, $4, $5)""",
        [
            (tenant, policy_id, n, level["delay_minutes"], list(level["targets"]))
            for n, level in enumerate(levels, start=1)
        ],
    )


async def create_policy(
    conn: asyncpg.Connection, tenant: str, values: Mapping[str, Any], *, default_if_none: bool
) -> int:
    """Insert a policy and its levels; returns its id. `values`: the write body as JSON-ready data.
    With `default_if_none` the policy also becomes the default when the tenant has none."""
    await lock_policies(conn, tenant)
    count = await conn.fetchval("SELECT count(*) FROM escalation_policies WHERE tenant_id = $1", tenant)
    if count >= MAX_POLICIES:
        raise PulseError(409, "limit_reached", f"a tenant has at most {MAX_POLICIES} escalation policies")
    await check_targets(conn, tenant, values["levels"])
    is_default = values["is_default"]
    if not is_default and default_if_none:
        is_default = not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM escalation_policies WHERE tenant_id = $1 AND is_default)", tenant
        )
    if is_default:
        await _clear_default(conn, tenant, keep=None)
    policy_id = await conn.fetchval(
        """INSERT INTO escalation_policies (tenant_id, name, description, is_default, repeat_count)
           VALUES ($1, $2, $3, $4, $5) RETURNING policy_id""",
        tenant,
        values["name"],
        values.get("description"),
        is_default,
        values["repeat_count"],
    )
    await _write_levels(conn, tenant, policy_id, values["levels"])
    return policy_id


async def replace_policy(
    conn: asyncpg.Connection, tenant: str, policy_id: int, values: Mapping[str, Any]
) -> None:
    """Replace name, description, default flag, repeat count and every level of a policy."""
    await lock_policies(conn, tenant)
    if not await conn.fetchval(
        "SELECT 1 FROM escalation_policies WHERE tenant_id = $1 AND policy_id = $2 FOR UPDATE",
        tenant,
        policy_id,
    ):
        raise PulseError(404, "not_found", f"no escalation policy {policy_id}")
    await check_targets(conn, tenant, values["levels"])
    if values["is_default"]:
        await _clear_default(conn, tenant, keep=policy_id)
    await conn.execute(
        """UPDATE escalation_policies SET name = $3, description = $4, is_default = $5, repeat_count = $6
            WHERE tenant_id = $1 AND policy_id = $2""",
        tenant,
        policy_id,
        values["name"],
        values.get("description"),
        values["is_default"],
        values["repeat_count"],
    )
    await _write_levels(conn, tenant, policy_id, values["levels"])


async def delete_policy(conn: asyncpg.Connection, tenant: str, policy_id: int) -> None:
    """Its levels go with it; rules that named it fall back to the tenant default (their link is set
    to NULL by the foreign key)."""
    if not await conn.fetchval(
        "DELETE FROM escalation_policies WHERE tenant_id = $1 AND policy_id = $2 RETURNING 1",
        tenant,
        policy_id,
    ):
        raise PulseError(404, "not_found", f"no escalation policy {policy_id}")
