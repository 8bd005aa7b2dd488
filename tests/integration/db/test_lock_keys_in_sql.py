"""The advisory-lock keys SQL functions take are the ones pulse.db.locks lists for them, read from the
current function definitions of a migrated database (so a migration or function file that changes a
key, or takes a new one, fails here until the registry says so)."""

import re
from collections import defaultdict

import asyncpg

from pulse.db import locks

_ADVISORY_CALL = re.compile(r"pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\s*\(([^)]*)\)", re.I)


async def test_sql_functions_take_exactly_the_registered_keys(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        functions = await conn.fetch(
            "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        )
    finally:
        await conn.close()

    taken: defaultdict[int, set[str]] = defaultdict(set)
    for fn in functions:
        for args in _ADVISORY_CALL.findall(fn["prosrc"]):
            assert re.fullmatch(r"\s*\d+\s*", args), (
                f"{fn['proname']} takes an advisory lock on {args!r}: use one literal key listed in "
                "pulse.db.locks.SQL_FUNCTION_KEYS"
            )
            taken[int(args)].add(fn["proname"])

    assert dict(taken) == {key: {name} for key, name in locks.SQL_FUNCTION_KEYS.items()}
