"""Partial updates (PATCH): one way to turn "the fields the client sent" into an UPDATE.

Column and table names are identifiers the code chose (model field names), never client text; they are
still checked against a strict pattern, so a mistake can only raise, never inject. Values always travel
as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import asyncpg

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def set_clause(values: Mapping[str, object], first: int) -> str:
    """`a = $first, b = $first+1, …` for the columns of `values`, in their order."""
    return ", ".join(f"{_identifier(name)} = ${i}" for i, name in enumerate(values, start=first))


async def update_row(
    conn: asyncpg.Connection,
    table: str,
    key: Mapping[str, object],
    values: Mapping[str, object],
    *,
    returning: str = "1",
    also: str = "",
) -> asyncpg.Record | None:
    """UPDATE `table` SET the `values` WHERE every `key` column equals its value; the RETURNING row,
    or None when no row matched (the caller's 404). `also` adds a fixed SET fragment written by the
    caller (for example `updated_at = now()`); it may refer to `values` by their parameter numbers,
    which follow the key's. `values` must not be empty."""
    if not values:
        raise ValueError("update_row needs at least one value")
    where = " AND ".join(f"{_identifier(name)} = ${i}" for i, name in enumerate(key, start=1))
    assignments = set_clause(values, first=len(key) + 1) + (f", {also}" if also else "")
    return await conn.fetchrow(
        f"UPDATE {_identifier(table)} SET {assignments} WHERE {where} RETURNING {returning}",
        *key.values(),
        *values.values(),
    )
