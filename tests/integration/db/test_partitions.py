"""Daily partitions: created ahead, dropped past retention, invisible to the tenant role."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pulse.db.partitions import maintain_partitions
from pulse.db.tx import operator_tx, tenant_tx


async def _partitions(conn: asyncpg.Connection, parent: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass",
        parent,
    )
    return {r["relname"] for r in rows}


def _name(parent: str, day: datetime) -> str:
    return f"{parent}_p{day:%Y%m%d}"


@pytest.mark.parametrize("parent", ["telemetry", "system_metrics"])
async def test_creates_partitions_ahead(pool, parent: str) -> None:
    today = datetime.now(UTC)
    async with operator_tx(pool, "test") as conn:
        await maintain_partitions(conn, days_ahead=3)
        names = await _partitions(conn, parent)
        assert await maintain_partitions(conn, days_ahead=3) == []  # idempotent
    for offset in range(4):
        assert _name(parent, today + timedelta(days=offset)) in names


async def test_drops_partitions_past_retention(pool) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(days=40)
    async with operator_tx(pool, "test") as conn:
        await maintain_partitions(conn, now=now)
        assert _name("telemetry", now) in await _partitions(conn, "telemetry")
        changes = await maintain_partitions(conn, now=later)
        telemetry = await _partitions(conn, "telemetry")
        metrics = await _partitions(conn, "system_metrics")
    dropped = {c.partition for c in changes if c.action == "dropped"}
    assert _name("telemetry", now) in dropped
    assert _name("telemetry", now) not in telemetry
    # 30 days of telemetry retention and 7 of system metrics, counted back from `later`.
    assert _name("telemetry", later - timedelta(days=29)) in telemetry
    assert _name("telemetry", later - timedelta(days=31)) not in telemetry
    assert _name("system_metrics", later - timedelta(days=6)) in metrics
    assert _name("system_metrics", later - timedelta(days=8)) not in metrics


async def test_retention_comes_from_app_settings(pool) -> None:
    now = datetime.now(UTC)
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE app_settings SET value = '2' WHERE key = 'telemetry_retention_days'")
        await maintain_partitions(conn, now=now)
        names = await _partitions(conn, "telemetry")
    assert _name("telemetry", now - timedelta(days=1)) in names
    assert _name("telemetry", now - timedelta(days=3)) not in names


async def test_rows_land_in_todays_partition(pool) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('acme', 'Acme')")
        await conn.execute(
            "INSERT INTO telemetry (time, tenant_id, device_id, metrics) VALUES (now(), 'acme', 'd1', $1)",
            {"temp_c": 21.5},
        )
        where = await conn.fetchval("SELECT tableoid::regclass::text FROM telemetry")
    assert where == _name("telemetry", datetime.now(UTC))


async def test_tenant_role_cannot_read_partitions_directly(pool) -> None:
    partition = _name("telemetry", datetime.now(UTC))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_tx(pool, "acme") as conn:
            await conn.fetch(f"SELECT * FROM {partition}")
