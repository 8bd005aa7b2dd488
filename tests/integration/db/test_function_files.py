"""Function files (pulse/db/functions/*.sql): applied after the numbered migrations, again only when they
change, under the runner's lock; a database migrated before they existed ends up with the same bodies."""

import asyncio
from pathlib import Path

import asyncpg

from pulse.db.migrate import MIGRATIONS_DIR, available_function_files, migrate

_DEFINITIONS = """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                   WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' ORDER BY 1, 2"""


async def _definitions(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    return [tuple(r) for r in await conn.fetch(_DEFINITIONS)]


async def _file_definition(conn: asyncpg.Connection, sql: str, name: str) -> str:
    """The definition the file creates, read back from a scratch schema (then rolled back)."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(
            "CREATE SCHEMA function_file_scratch; SET LOCAL search_path = function_file_scratch"
        )
        await conn.execute(sql)
        definition = await conn.fetchval(
            """SELECT pg_get_functiondef(p.oid) FROM pg_proc p
                WHERE p.pronamespace = 'function_file_scratch'::regnamespace AND p.proname = $1""",
            name,
        )
    finally:
        await tx.rollback()
    return definition.replace(" function_file_scratch.", " public.")


async def test_each_function_file_is_the_current_definition(database_url: str) -> None:
    files = available_function_files()
    assert {f.name for f in files} >= {"alert_events_update", "pulse_reserve_token"}
    conn = await asyncpg.connect(database_url)
    try:
        current = dict(await _definitions(conn))
        for file in files:
            assert current[file.name] == await _file_definition(conn, file.sql, file.name), file.name
        recorded = dict(await conn.fetch("SELECT name, checksum FROM schema_functions"))
    finally:
        await conn.close()
    assert recorded == {f.name: f.checksum for f in files}


async def test_database_migrated_before_function_files_ends_up_the_same(
    empty_database_url: str, database_url: str, tmp_path: Path
) -> None:
    """A database whose numbered migrations ran before the function files existed gets the files
    applied and ends up with exactly the definitions of a freshly migrated one."""
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn, MIGRATIONS_DIR, functions_directory=tmp_path)  # no function files yet
        assert await conn.fetchval("SELECT count(*) FROM schema_functions") == 0
        assert await migrate(conn) == []
        after = await _definitions(conn)
        recorded = await conn.fetchval("SELECT count(*) FROM schema_functions")
    finally:
        await conn.close()
    fresh = await asyncpg.connect(database_url)
    try:
        fresh_definitions = await _definitions(fresh)
    finally:
        await fresh.close()
    assert after == fresh_definitions
    assert recorded == len(available_function_files())


async def test_unchanged_function_files_are_not_applied_again(database_url: str) -> None:
    # CREATE OR REPLACE rewrites the function's pg_proc row, so an unchanged xmin means not re-applied.
    snapshot = """SELECT p.proname, p.xmin::text, s.applied_at FROM pg_proc p
                    JOIN schema_functions s ON s.name = p.proname ORDER BY 1"""
    conn = await asyncpg.connect(database_url)
    try:
        before = [tuple(r) for r in await conn.fetch(snapshot)]
        assert await migrate(conn) == []
        after = [tuple(r) for r in await conn.fetch(snapshot)]
    finally:
        await conn.close()
    assert len(before) == len(available_function_files())
    assert after == before


def _schema(tmp_path: Path, answer: int) -> tuple[Path, Path]:
    migrations, functions = tmp_path / "migrations", tmp_path / "functions"
    migrations.mkdir(exist_ok=True)
    functions.mkdir(exist_ok=True)
    (migrations / "001_applications.sql").write_text("CREATE TABLE applications (id serial);")
    # The INSERT counts how often the file ran.
    (functions / "answer.sql").write_text(
        f"CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT {answer}';\n"
        "INSERT INTO applications DEFAULT VALUES;"
    )
    return migrations, functions


async def test_changed_function_file_is_applied_again(empty_database_url: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await migrate(conn, *_schema(tmp_path, 1)) == ["001_applications"]
        assert await conn.fetchval("SELECT answer()") == 1
        assert await migrate(conn, *_schema(tmp_path, 1)) == []
        assert await conn.fetchval("SELECT count(*) FROM applications") == 1

        assert await migrate(conn, *_schema(tmp_path, 2)) == []
        assert await conn.fetchval("SELECT answer()") == 2
        assert await conn.fetchval("SELECT count(*) FROM applications") == 2
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_function_file_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrations, functions = _schema(tmp_path, 1)

    async def run() -> list[str]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            return await migrate(conn, migrations, functions)
        finally:
            await conn.close()

    results = await asyncio.gather(*(run() for _ in range(3)))
    assert sorted(results) == [[], [], ["001_applications"]]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM applications") == 1
    finally:
        await conn.close()
