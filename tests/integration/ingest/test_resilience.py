"""Outages: the database stopped mid-stream loses nothing at QoS 1; a broker restart is survived.

These tests own their servers (an embedded PostgreSQL and broker each), so they can stop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from pulse.config import load_settings
from pulse.db.migrate import migrate_dsn
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.embedded import EmbeddedBroker, EmbeddedPostgres
from pulse.ingest import service as ingest_service
from tests.brokers import Broker, broker_settings
from tests.factories import make_device, make_tenant
from tests.integration.ingest.helpers import publish, wait_consuming, wait_for

pytestmark = pytest.mark.slow  # starts, stops and restarts its own PostgreSQL and broker


@pytest.fixture
async def own_postgres(tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pg")
    await pg.start()
    dsn = await pg.ensure_database("pulse")
    await migrate_dsn(dsn)
    yield pg, dsn
    await pg.stop()


@pytest.fixture
async def own_broker(tmp_path):
    broker = EmbeddedBroker(tmp_path / "broker", port=0)
    await broker.start()
    yield broker
    await broker.stop()


def _settings(dsn: str, broker: Broker, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    return load_settings(
        database_url=dsn,
        mqtt_url=broker.url,
        data_dir=tmp_path / "data",
        ingest_client_id=f"resilience-{suffix}",
        ingest_flush_ms=20,
        **({"ingest_shared_group": f"r{suffix}"} | broker_settings(broker)),
    )


@contextlib.asynccontextmanager
async def running_ingest(settings, pool):
    task = asyncio.create_task(ingest_service.run(settings))
    try:
        await wait_consuming(settings, pool, task)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _seqs(pool) -> set[int]:
    async with operator_tx(pool, "test") as conn:
        return {r["seq"] for r in await conn.fetch("SELECT seq FROM telemetry WHERE tenant_id = 'acme'")}


async def test_database_outage_loses_nothing_at_qos1(own_postgres, mqtt_broker, tmp_path) -> None:
    pg, dsn = own_postgres
    settings = _settings(dsn, mqtt_broker, tmp_path)
    pool = await create_pool(settings)
    try:
        await _raise_rate_limits(pool)
        await make_tenant(pool)
        device = await make_device(pool)
        async with running_ingest(settings, pool):
            total = 600

            async def publisher() -> None:
                for start in range(0, total, 20):
                    batch = [(device.topic, device.payload(seq=s)) for s in range(start, start + 20)]
                    await publish(settings, batch, qos=1)
                    await asyncio.sleep(0.1)

            sending = asyncio.create_task(publisher())
            await asyncio.sleep(0.8)
            await pg.stop()  # mid-stream: the writer must keep its batch and wait
            await asyncio.sleep(3)
            await pg.start()
            await sending
            seqs = await wait_for(lambda: _all_seqs(pool, total), timeout=60)
        assert seqs == set(range(total))
    finally:
        await pool.close()


async def _all_seqs(pool, total: int) -> set[int] | None:
    try:
        seqs = await _seqs(pool)
    except OSError:
        return None
    return seqs if len(seqs) >= total else None


async def test_broker_restart_is_survived(database_url, own_broker, tmp_path, pool) -> None:
    # Raise the device budget: this test sends more than the default burst.
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "UPDATE app_settings SET value = '1000' WHERE key IN ('RATE_LIMIT_RPS', 'RATE_LIMIT_BURST')"
        )
    settings = _settings(
        database_url, Broker(own_broker.url, own_broker.supports_shared_subscriptions), tmp_path
    )
    await make_tenant(pool)
    device = await make_device(pool)
    async with running_ingest(settings, pool) as task:
        await publish(settings, [(device.topic, device.payload(seq=s)) for s in range(50)])
        await wait_for(lambda: _count(pool, 50))
        port = own_broker.port
        await own_broker.stop()
        await asyncio.sleep(1)
        own_broker.port = port
        await own_broker.start()
        assert own_broker.port == port
        # Publish until ingest has reconnected and resubscribed (paho retries with backoff).
        async with asyncio.timeout(60):
            seq = 50
            while len(await _seqs(pool)) < 60:
                await publish(settings, [(device.topic, device.payload(seq=seq))])
                seq += 1
                await asyncio.sleep(0.5)
        assert not task.done()


async def _raise_rate_limits(pool) -> None:
    """These tests send one device's messages faster than the default per-device budget."""
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "UPDATE app_settings SET value = '10000' WHERE key IN ('RATE_LIMIT_RPS', 'RATE_LIMIT_BURST')"
        )


async def _count(pool, n: int) -> bool:
    return len(await _seqs(pool)) >= n
