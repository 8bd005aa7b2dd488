"""The migration runner: applies everything to an empty database, then changes nothing."""

import asyncio
from pathlib import Path

import asyncpg
import pytest

from pulse.db.migrate import MigrationError, available_migrations, migrate, migrate_dsn

_SCHEMA_SNAPSHOT = """
SELECT 'col:' || table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'con:' || conrelid::regclass || ':' || conname || ':' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'idx:' || indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'pol:' || tablename || ':' || policyname || ':' || coalesce(qual, '') FROM pg_policies
UNION ALL SELECT 'fn:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
ORDER BY 1
"""


async def test_applies_to_empty_database_then_changes_nothing(empty_database_url: str) -> None:
    names = [m.version for m in available_migrations()]
    assert names, "no migrations found"
    assert await migrate_dsn(empty_database_url) == names

    conn = await asyncpg.connect(empty_database_url)
    try:
        before = [r[0] for r in await conn.fetch(_SCHEMA_SNAPSHOT)]
        assert await migrate(conn) == []
        after = [r[0] for r in await conn.fetch(_SCHEMA_SNAPSHOT)]
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        await conn.close()
    assert before == after
    assert recorded == len(names)


async def test_concurrent_runners_apply_once(empty_database_url: str) -> None:
    results = await asyncio.gather(*(migrate_dsn(empty_database_url) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(available_migrations())]


async def test_edited_migration_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("CREATE TABLE t1 (id int);")
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await migrate(conn, tmp_path) == ["001_first"]
        (tmp_path / "001_first.sql").write_text("CREATE TABLE t1 (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, tmp_path)
    finally:
        await conn.close()


async def test_failing_migration_leaves_nothing_half_applied(empty_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE t1 (id int);")
    (tmp_path / "002_broken.sql").write_text("CREATE TABLE t2 (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(empty_database_url)
    try:
        with pytest.raises(MigrationError, match=r"002_broken\.sql"):
            await migrate(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('t2')") is None
        assert await conn.fetchval("SELECT to_regclass('t1')") is not None
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == ["001_ok"]
    finally:
        await conn.close()
