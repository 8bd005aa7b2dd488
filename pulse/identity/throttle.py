"""Login rate limits: failed attempts per user name and per client address in fixed windows, kept in
PostgreSQL so every API process shares them. Unknown user names are counted like known ones, so the
limit answers the same whether or not a user exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg


@dataclass(frozen=True)
class LoginLimits:
    max_failures_per_user: int
    max_failures_per_ip: int
    window: timedelta


def _keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [("user", username.strip().lower()[:256])]
    if ip:
        keys.append(("ip", ip))
    return keys


_WINDOW = "date_bin($3::interval, now(), timestamptz 'epoch')"


async def is_blocked(conn: asyncpg.Connection, limits: LoginLimits, username: str, ip: str | None) -> bool:
    for scope, key in _keys(username, ip):
        failures = await conn.fetchval(
            f"SELECT failures FROM login_throttle WHERE scope = $1 AND key = $2 AND window_start = {_WINDOW}",
            scope,
            key,
            limits.window,
        )
        limit = limits.max_failures_per_user if scope == "user" else limits.max_failures_per_ip
        if failures is not None and failures >= limit:
            return True
    return False


async def record_failure(
    conn: asyncpg.Connection, limits: LoginLimits, username: str, ip: str | None
) -> None:
    for scope, key in _keys(username, ip):
        await conn.execute(
            f"""INSERT INTO login_throttle AS t (scope, key, window_start, failures)
                VALUES ($1, $2, {_WINDOW}, 1)
                ON CONFLICT (scope, key, window_start) DO UPDATE SET failures = t.failures + 1""",
            scope,
            key,
            limits.window,
        )


async def clear_user(conn: asyncpg.Connection, username: str) -> None:
    """A successful login forgets the user's failures (the address keeps its count)."""
    await conn.execute(
        "DELETE FROM login_throttle WHERE scope = 'user' AND key = $1", username.strip().lower()[:256]
    )


async def prune(conn: asyncpg.Connection, older_than: timedelta) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE window_start < now() - $1::interval", older_than)
