"""Quarantine rows past retention are pruned in bounded chunks; recent ones stay."""

from pulse.db.tx import operator_tx


async def test_prune_quarantine(pool) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO quarantine_events (ingested_at, topic, reason, payload)
               SELECT now() - make_interval(days => d), 't', 'TOKEN_INVALID', '{}'
                 FROM generate_series(0, 9) d"""
        )
        await conn.execute(
            """INSERT INTO quarantine_counters_minute (bucket_minute, tenant_id, reason, cnt)
               VALUES (date_trunc('minute', now()) - interval '100 days', 'acme', 'TOKEN_INVALID', 3),
                      (date_trunc('minute', now()), 'acme', 'TOKEN_INVALID', 1)"""
        )
        assert await conn.fetchval("SELECT pulse_prune_quarantine(now(), 1)") == 2  # one event, one counter
        assert await conn.fetchval("SELECT pulse_prune_quarantine()") == 1  # the next chunk
        assert await conn.fetchval("SELECT pulse_prune_quarantine()") == 0
        ages = [
            r[0]
            for r in await conn.fetch(
                "SELECT extract(day FROM now() - ingested_at)::int FROM quarantine_events ORDER BY 1"
            )
        ]
        await conn.execute("UPDATE app_settings SET value = '3' WHERE key = 'quarantine_retention_days'")
        assert await conn.fetchval("SELECT pulse_prune_quarantine()") == 4
        assert await conn.fetchval("SELECT count(*) FROM quarantine_counters_minute") == 1
    assert ages == [0, 1, 2, 3, 4, 5, 6, 7]  # exactly 7 days old is still inside retention


async def test_ops_prunes_in_chunks(pool, monkeypatch) -> None:
    from pulse.ops import service

    monkeypatch.setattr(service, "PRUNE_CHUNK", 2)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO quarantine_events (ingested_at, topic, reason, payload)
               SELECT now() - interval '30 days', 't', 'TOKEN_INVALID', '{}' FROM generate_series(1, 5)"""
        )
    assert await service.prune(pool, "pulse_prune_quarantine") == 5
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM quarantine_events") == 0
