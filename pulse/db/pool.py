"""asyncpg pools. JSON and JSONB always come back as Python objects (never as `str`)."""

from __future__ import annotations

import asyncpg
import orjson

from pulse.config import Settings
from pulse.db.pool_metrics import POOLS

_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: object) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> object:
    return orjson.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs: they also serve binary COPY, which telemetry ingest depends on.
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=orjson.dumps, decoder=orjson.loads, format="binary"
    )


async def create_pool(
    settings: Settings, *, dsn: str | None = None, name: str = "main", **overrides: object
) -> asyncpg.Pool:
    """A pool for `settings.database_url` (or `dsn`), reported as `name` in `pulse_db_pool_connections`.

    No session state is ever set on these connections (roles and tenant ids are `SET LOCAL` inside
    transactions), so the pool works through PgBouncer in transaction mode; there, also set
    PULSE_DB_STATEMENT_CACHE=false because prepared statements do not survive a server switch.
    """
    target = dsn or settings.database_url
    if not target:
        raise ValueError(
            "no database URL: set PULSE_DATABASE_URL or use `pulse up` for the embedded database"
        )
    options: dict[str, object] = {
        "min_size": settings.db_pool_min,
        "max_size": settings.db_pool_max,
        "command_timeout": settings.db_command_timeout,
        "init": init_connection,
    }
    if not settings.db_statement_cache:
        options["statement_cache_size"] = 0
    options.update(overrides)
    pool = await asyncpg.create_pool(target, **options)
    POOLS.track(name, pool)
    return pool
