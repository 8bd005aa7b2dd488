"""Login and token-endpoint rate limits, kept in PostgreSQL so every API process shares them.

An attempt is *reserved* before the password is hashed, in one transaction whose upserts take the
rows' locks, so concurrent guesses cannot all pass a check made before any of them is recorded:

- per (user name, client address), `login_delays`: the reservation counts as a failure up front; past
  `free_failures` each further one doubles a wait (`delay_base` … `delay_max`) during which that pair
  is refused. A success clears the pair. There is no account-wide lock, so nobody can lock a person
  (or the operator) out by failing from another address;
- per client address, `login_throttle` scope `ip`: at most `max_per_ip` reserved attempts in a fixed
  window (a success gives its attempt back).

Unknown user names are treated like known ones, so the answers do not reveal who exists. The token
endpoint has its own per-address budget (`take_token_slot`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg


@dataclass(frozen=True)
class LoginLimits:
    free_failures: int  # per (user, address) before the doubling wait starts
    max_per_ip: int  # attempts per address per window
    window: timedelta
    delay_base: timedelta = timedelta(seconds=30)
    delay_max: timedelta = timedelta(seconds=900)


_WINDOW = "date_bin($3::interval, now(), timestamptz 'epoch')"


def _user_key(username: str) -> str:
    return username.strip().lower()[:256]


async def reserve(conn: asyncpg.Connection, limits: LoginLimits, username: str, ip: str | None) -> bool:
    """Reserve one attempt (False: refused, nothing charged once the caller rolls back). Call in a
    transaction and roll it back on False, so a refused pair does not spend the address's budget."""
    address = ip or "-"
    if ip:
        taken = await conn.fetchval(
            f"""INSERT INTO login_throttle AS t (scope, key, window_start, failures)
                VALUES ('ip', $1, {_WINDOW}, 1)
                ON CONFLICT (scope, key, window_start) DO UPDATE SET failures = t.failures + 1
                 WHERE t.failures < $2
                RETURNING failures""",
            ip,
            limits.max_per_ip,
            limits.window,
        )
        if taken is None:
            return False
    # One statement: refused while the pair waits; else count the attempt, and when it is past the free
    # allowance start the next wait (base · 2^(n - free), capped).
    reserved = await conn.fetchval(
        """INSERT INTO login_delays AS d (username, ip, failures, updated_at)
           VALUES ($1, $2, 1, now())
           ON CONFLICT (username, ip) DO UPDATE
              SET failures = d.failures + 1, updated_at = now(),
                  blocked_until = CASE WHEN d.failures + 1 >= $3
                      THEN now() + LEAST($4::interval * power(2, LEAST(d.failures + 1 - $3, 30)), $5::interval)
                      ELSE d.blocked_until END
            WHERE d.blocked_until IS NULL OR d.blocked_until <= now()
           RETURNING failures""",
        _user_key(username),
        address,
        limits.free_failures,
        limits.delay_base,
        limits.delay_max,
    )
    return reserved is not None


async def succeeded(conn: asyncpg.Connection, limits: LoginLimits, username: str, ip: str | None) -> None:
    """A successful login forgets the pair's failures and gives the address its attempt back."""
    await conn.execute(
        "DELETE FROM login_delays WHERE username = $1 AND ip = $2", _user_key(username), ip or "-"
    )
    if ip:
        await conn.execute(
            """UPDATE login_throttle SET failures = greatest(failures - 1, 0)
                 WHERE scope = 'ip' AND key = $1
                   AND window_start = date_bin($2::interval, now(), timestamptz 'epoch')""",
            ip,
            limits.window,
        )


async def take_token_slot(conn: asyncpg.Connection, ip: str | None, per_minute: int) -> bool:
    """One request of the token endpoint from `ip` in the current minute; False past `per_minute`."""
    if not ip:
        return True
    taken = await conn.fetchval(
        """INSERT INTO login_throttle AS t (scope, key, window_start, failures)
           VALUES ('token', $1, date_trunc('minute', now()), 1)
           ON CONFLICT (scope, key, window_start) DO UPDATE SET failures = t.failures + 1
            WHERE t.failures < $2
           RETURNING failures""",
        ip,
        per_minute,
    )
    return taken is not None


async def prune(conn: asyncpg.Connection, limits: LoginLimits) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE window_start < now() - $1::interval", limits.window)
    await conn.execute(
        "DELETE FROM login_delays WHERE updated_at < now() - $1::interval",
        max(limits.delay_max, limits.window) * 2,
    )
