"""Bring a database's schema up to date: numbered migrations, then function files.

- `migrations/NNN_name.sql` are applied in order, each in its own transaction, recorded with their
  SHA-256 in `schema_migrations`. A file that changed after it was applied is an error: fix forward
  with a new file instead.
- `functions/<name>.sql` each hold the current definition of one SQL function (one `CREATE OR REPLACE
  FUNCTION <name>(…)`), so a function that changes over time has its current body in one place instead
  of being copied into every migration that changes it. They are applied after the numbered migrations,
  in name order, each in its own transaction, and recorded with their SHA-256 in `schema_functions`; a
  file is applied again only when its checksum changes. A function file may replace a function a
  migration created (the body is identical when a function first moves to its file); a migration never
  redefines a function that has a file (tests/unit/db/test_function_files.py). Files run after every
  migration, so a migration that needs a file's new body during its own run must wait for the next
  release, or do its work in SQL of its own.

A session-level advisory lock (`pulse.db.locks.MIGRATIONS`) is held throughout, so concurrent runners
(two services starting at once) apply everything once: the second waits, then finds nothing to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from pulse.db import locks
from pulse.log import get_logger

log = get_logger("pulse.db.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
FUNCTIONS_DIR = Path(__file__).with_name("functions")
_DEFINITION = re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+([\w.\"]+)\s*\(", re.IGNORECASE)


class MigrationError(RuntimeError):
    pass


class _SqlFile:
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Migration(_SqlFile):
    version: str
    path: Path


@dataclass(frozen=True)
class FunctionFile(_SqlFile):
    name: str  # the function it defines
    path: Path


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(directory.glob("[0-9][0-9][0-9]_*.sql"))
    return [Migration(version=f.stem, path=f) for f in files]


def available_function_files(directory: Path = FUNCTIONS_DIR) -> list[FunctionFile]:
    """The function files, each checked to define exactly the function it is named after."""
    found = [FunctionFile(name=f.stem, path=f) for f in sorted(directory.glob("*.sql"))]
    for file in found:
        # Applied again whenever it changes, so it must replace, and hold nothing else to replace.
        defined = [(bool(replace), name) for replace, name in _DEFINITION.findall(file.sql)]
        if defined != [(True, file.name)]:
            raise MigrationError(
                f"{file.path.name} must hold exactly one CREATE OR REPLACE FUNCTION {file.name}(…)"
            )
    return found


async def migrate(
    conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR, functions_directory: Path | None = None
) -> list[str]:
    """Apply what is missing; return the migration versions applied now (empty when up to date).

    `functions_directory` defaults to Pulse's function files when `directory` is Pulse's migrations,
    and to none for any other directory (a schema of its own has no use for Pulse's functions)."""
    if functions_directory is None and directory == MIGRATIONS_DIR:
        functions_directory = FUNCTIONS_DIR
    function_files = available_function_files(functions_directory) if functions_directory else []
    await conn.execute("SELECT pg_advisory_lock($1)", locks.MIGRATIONS)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_functions (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = await _apply_migrations(conn, available_migrations(directory))
        await _apply_function_files(conn, function_files)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", locks.MIGRATIONS)


async def _apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    applied = {
        r["version"]: r["checksum"]
        for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
    }
    done: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(
                    f"{migration.path.name} changed after it was applied; add a new migration instead"
                )
            continue
        async with conn.transaction():
            await _execute(conn, migration)
            await conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                migration.version,
                migration.checksum,
            )
        done.append(migration.version)
    return done


async def _apply_function_files(conn: asyncpg.Connection, files: list[FunctionFile]) -> None:
    applied = {
        r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_functions")
    }
    for file in files:
        if applied.get(file.name) == file.checksum:
            continue
        async with conn.transaction():
            await _execute(conn, file)
            await conn.execute(
                """INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)
                   ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()""",
                file.name,
                file.checksum,
            )
        log.info("function file applied", function=file.name, checksum=file.checksum[:12])


async def _execute(conn: asyncpg.Connection, file: Migration | FunctionFile) -> None:
    try:
        await conn.execute(file.sql)
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"{file.path.name}: {exc}") from exc


async def migrate_dsn(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
