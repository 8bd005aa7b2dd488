"""Row-level security on every tenant-scoped table, found in the catalog (so a new table without a policy
fails here): as tenant A, tenant B's rows are invisible to SELECT, UPDATE and DELETE and inserting a row
for tenant B is refused; with no tenant set nothing is visible; the operator role sees everything."""

from pathlib import Path

import asyncpg
import pytest

from pulse.db.tx import operator_tx, tenant_tx

SEED = (Path(__file__).with_name("two_tenants.sql")).read_text()
A, B = "tenant-a", "tenant-b"

TENANT_TABLES = """
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND EXISTS (SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
 ORDER BY 1
"""


@pytest.fixture
async def seeded(pool) -> list[str]:
    """Two tenants with a row in every tenant table; returns the tenant tables."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SEED)
        for tenant in (A, B):
            await conn.execute("SELECT pg_temp.seed_tenant($1)", tenant)
        return [r["relname"] for r in await conn.fetch(TENANT_TABLES)]


async def test_catalog_finds_the_tenant_tables(seeded: list[str]) -> None:
    assert {"tenants", "device_registry", "telemetry", "alerts", "escalation_levels", "oncall_layers"} <= set(
        seeded
    )


async def test_every_tenant_table_forces_rls(pool, seeded: list[str]) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relname = ANY($1) AND NOT (relrowsecurity AND relforcerowsecurity)",
            seeded,
        )
    assert [r["relname"] for r in rows] == []


async def test_isolation_on_every_tenant_table(pool, seeded: list[str], subtests) -> None:
    for table in seeded:
        with subtests.test(table=table):
            await _check_table(pool, table)


async def _check_table(pool, table: str) -> None:
    async with operator_tx(pool, "test") as conn:
        counts = dict(await conn.fetch(f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1"))
        b_row = await conn.fetchval(f"SELECT to_jsonb(t) FROM {table} t WHERE tenant_id = $1 LIMIT 1", B)
    assert counts.get(A) and counts.get(B), (
        f"seed rows for {table} in two_tenants.sql (operator sees {counts})"
    )

    async with tenant_tx(pool, A) as conn:
        visible = dict(await conn.fetch(f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1"))
    assert visible == {A: counts[A]}, f"{table}: tenant A sees {visible}"
    assert await _rows_changed(pool, f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1") == 0
    assert await _rows_changed(pool, f"DELETE FROM {table} WHERE tenant_id = $1") == 0

    # Insert a copy of tenant B's row (as tenant A): the policy's WITH CHECK, or the missing privilege,
    # refuses it before any unique or foreign key is looked at.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_tx(pool, A) as conn:
            await conn.execute(
                f"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1)", b_row
            )

    # Moving one of A's own rows to B is refused too.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_tx(pool, A) as conn:
            await conn.execute(f"UPDATE {table} SET tenant_id = $1", B)

    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pulse_app")
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, (
            f"{table}: rows visible with no tenant set"
        )
        await conn.execute("SELECT set_config('app.tenant_id', '', true)")
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, (
            f"{table}: rows visible with an empty tenant"
        )

    async with operator_tx(pool, "test") as conn:
        after = dict(await conn.fetch(f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1"))
    assert after == counts, f"{table}: rows changed ({counts} -> {after})"


async def _rows_changed(pool, statement: str) -> int:
    """Rows tenant A's statement about tenant B touched; a refused privilege (tenants) counts as none."""
    try:
        async with tenant_tx(pool, A) as conn:
            status = await conn.execute(statement, B)
    except asyncpg.InsufficientPrivilegeError:
        return 0
    return int(status.split()[-1])


async def test_tenant_role_cannot_read_global_tables(pool) -> None:
    for table in (
        "app_settings",
        "operator_audit_log",
        "service_health",
        "system_metrics",
        "maintenance_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with tenant_tx(pool, A) as conn:
                await conn.fetch(f"SELECT * FROM {table}")
