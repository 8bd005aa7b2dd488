"""The tenant and operator contexts leave no session state behind (PgBouncer transaction mode)."""

import pytest

from pulse.db.tx import TenantRequired, operator_tx, tenant_tx


async def test_tenant_tx_sets_role_and_tenant_locally(pool) -> None:
    async with tenant_tx(pool, "tenant-a") as conn:
        assert await conn.fetchval("SELECT current_user") == "pulse_app"
        assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") == "tenant-a"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") != "pulse_app"
        assert await conn.fetchval("SELECT coalesce(current_setting('app.tenant_id', true), '')") == ""


async def test_operator_tx_records_actor(pool) -> None:
    async with operator_tx(pool, "user-123") as conn:
        assert await conn.fetchval("SELECT current_user") == "pulse_operator"
        assert await conn.fetchval("SELECT current_setting('app.actor', true)") == "user-123"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT coalesce(current_setting('app.actor', true), '')") == ""


async def test_tenant_tx_requires_tenant(pool) -> None:
    with pytest.raises(TenantRequired):
        async with tenant_tx(pool, ""):
            pass


async def test_json_comes_back_decoded(pool) -> None:
    async with pool.acquire() as conn:
        value = await conn.fetchval("""SELECT '{"a": [1, 2], "b": {"c": true}}'::jsonb""")
        assert value == {"a": [1, 2], "b": {"c": True}}
        assert await conn.fetchval("SELECT $1::jsonb", {"x": 1.5}) == {"x": 1.5}
        assert await conn.fetchval("""SELECT '[1]'::json""") == [1]
