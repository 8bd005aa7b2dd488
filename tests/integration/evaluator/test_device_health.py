"""Device health through the real broker: ONLINE on a message, STALE and OFFLINE by the sweep (with an
injected clock), ONLINE again on the next message; every transition in the history and announced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse.db.tx import operator_tx
from pulse.evaluator.status import sweep_status
from tests.factories import make_device
from tests.integration.evaluator.helpers import alerts, history, telemetry
from tests.integration.ingest.helpers import publish, wait_for


async def _status(pool, device_id: str) -> str | None:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "SELECT status FROM device_state WHERE tenant_id = 'acme' AND device_id = $1", device_id
        )


async def _last_seen(pool, device_id: str) -> datetime:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "SELECT last_seen_at FROM device_state WHERE tenant_id = 'acme' AND device_id = $1", device_id
        )


async def test_stale_offline_online_in_history_with_no_heartbeat_alert(
    ingest, ingest_settings, pool, settings, device, evaluator
):
    await publish(ingest_settings, [telemetry(device, temp_c=20)])
    await wait_for(lambda: _status(pool, device.device_id))
    seen = await _last_seen(pool, device.device_id)

    heard: list[str] = []
    listen = await asyncpg.connect(settings.database_url)
    await listen.add_listener("device_state_changed", lambda *a: heard.append(a[3]))
    try:
        assert await evaluator.sweep_once(seen + timedelta(seconds=29)) == 0
        assert await _status(pool, device.device_id) == "ONLINE"

        assert await evaluator.sweep_once(seen + timedelta(seconds=31)) == 1
        assert await _status(pool, device.device_id) == "STALE"
        [alert] = await alerts(pool, alert_type="NO_HEARTBEAT")
        assert alert["status"] == "OPEN" and alert["fingerprint"] == f"NO_HEARTBEAT:{device.device_id}"
        await wait_for(lambda: asyncio.sleep(0, result="acme" in heard))

        await evaluator.sweep_once(seen + timedelta(seconds=301))
        assert await _status(pool, device.device_id) == "OFFLINE"
        assert len(await alerts(pool, alert_type="NO_HEARTBEAT")) == 1  # OFFLINE opens nothing more
    finally:
        await listen.close()

    await publish(ingest_settings, [telemetry(device, temp_c=21)])
    await wait_for(lambda: _status(pool, device.device_id), interval=0.05)

    async def closed():
        [a] = await alerts(pool, alert_type="NO_HEARTBEAT")
        return a["status"] == "CLOSED"

    await wait_for(closed)
    assert await _status(pool, device.device_id) == "ONLINE"
    assert await history(pool, device.device_id) == [
        (None, "ONLINE"),
        ("ONLINE", "STALE"),
        ("STALE", "OFFLINE"),
        ("OFFLINE", "ONLINE"),
    ]


async def test_long_silence_goes_through_stale_to_offline_in_one_sweep(
    ingest, ingest_settings, pool, device, evaluator
):
    await publish(ingest_settings, [telemetry(device, temp_c=20)])
    await wait_for(lambda: _status(pool, device.device_id))
    seen = await _last_seen(pool, device.device_id)
    await evaluator.sweep_once(seen + timedelta(hours=1))
    assert await history(pool, device.device_id) == [
        (None, "ONLINE"),
        ("ONLINE", "STALE"),
        ("STALE", "OFFLINE"),
    ]
    assert len(await alerts(pool, alert_type="NO_HEARTBEAT")) == 1


async def _seed_seen(pool, device_id: str, seen: datetime) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at)
               VALUES ('acme', $1, 'site-1', 'ONLINE', $2)""",
            device_id,
            seen,
        )


async def test_thresholds_per_tenant_and_per_device(pool, tenant):
    for name in ("dev-a", "dev-b"):
        await make_device(pool, tenant, name)
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    await _seed_seen(pool, "dev-a", seen)
    await _seed_seen(pool, "dev-b", seen)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO device_health_settings (tenant_id, heartbeat_stale_seconds, offline_seconds) VALUES ('acme', 60, 600)"
        )
        await conn.execute(
            """INSERT INTO device_health_settings (tenant_id, device_id, heartbeat_stale_seconds, offline_seconds)
               VALUES ('acme', 'dev-b', 10, 20)"""
        )
    async with operator_tx(pool, "test") as conn:
        moved = await sweep_status(conn, seen + timedelta(seconds=31))
    assert [(t.device_id, t.to_status) for t in moved] == [("dev-b", "STALE"), ("dev-b", "OFFLINE")]
    async with operator_tx(pool, "test") as conn:
        moved = await sweep_status(conn, seen + timedelta(seconds=61))
    assert [(t.device_id, t.to_status) for t in moved] == [("dev-a", "STALE")]
    async with operator_tx(pool, "test") as conn:
        assert await sweep_status(conn, seen + timedelta(seconds=599)) == []
        moved = await sweep_status(conn, seen + timedelta(seconds=601))
    assert [(t.device_id, t.to_status) for t in moved] == [("dev-a", "OFFLINE")]


async def test_bad_thresholds_are_refused_by_the_database(pool, tenant):
    async with operator_tx(pool, "test") as conn:
        for stale, offline in ((0, 300), (30, 20), (-5, 10)):
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO device_health_settings (tenant_id, heartbeat_stale_seconds, offline_seconds) "
                        "VALUES ('acme', $1, $2)",
                        stale,
                        offline,
                    )
            except asyncpg.CheckViolationError:
                continue
            raise AssertionError(f"accepted stale={stale} offline={offline}")


async def _sweep(pool, now):
    from pulse.evaluator.sweeps import sweep_health
    from pulse.evaluator.tenant_config import load_tenant_config

    async with operator_tx(pool, "test") as conn:
        return await sweep_health(conn, now, load_tenant_config)


async def test_silence_applies_to_no_heartbeat(pool, tenant):
    from pulse.api.queries import alerts as api_alerts
    from pulse.db.tx import tenant_tx

    await make_device(pool, tenant, "dev-1")
    seen = datetime.now(UTC)
    await _seed_seen(pool, "dev-1", seen)
    await _sweep(pool, seen + timedelta(seconds=31))
    [alert] = await alerts(pool, alert_type="NO_HEARTBEAT")
    async with tenant_tx(pool, "acme") as conn:
        await api_alerts.silence(conn, "acme", alert["id"], 60)
    # The device flaps: back ONLINE (alert closes), silent again (a new alert, still silenced).
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "UPDATE device_state SET status = 'ONLINE', last_seen_at = $1", seen + timedelta(seconds=40)
        )
    from pulse.evaluator.sweeps import reconcile_heartbeats
    from pulse.evaluator.tenant_config import load_tenant_config

    async with operator_tx(pool, "test") as conn:
        assert await reconcile_heartbeats(conn, seen + timedelta(seconds=40), load_tenant_config) == (0, 1)
    await _sweep(pool, seen + timedelta(seconds=80))
    first, second = await alerts(pool, alert_type="NO_HEARTBEAT")
    assert first["status"] == "CLOSED" and second["status"] == "OPEN"
    assert second["silenced_until"] is not None and second["silenced_until"] == first["silenced_until"]


async def test_maintenance_window_suppresses_no_heartbeat(pool, tenant):
    for name, site in (("dev-a", "site-1"), ("dev-b", "site-2")):
        await make_device(pool, tenant, name, site)
    seen = datetime.now(UTC)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at)
               SELECT 'acme', device_id, site_id, 'ONLINE', $1 FROM device_registry""",
            seen,
        )
        await conn.execute(
            """INSERT INTO alert_maintenance_windows (tenant_id, name, starts_at, site_ids, timezone, recurring)
               VALUES ('acme', 'works', $1, '{site-2}', 'Europe/Berlin', '{"start_hour": 0, "end_hour": 24}')""",
            seen - timedelta(days=1),
        )
    moved = await _sweep(pool, seen + timedelta(seconds=31))
    assert sorted(t.device_id for t in moved) == ["dev-a", "dev-b"]  # both STALE …
    assert [a["device_id"] for a in await alerts(pool)] == ["dev-a"]  # … but dev-b is in maintenance


async def test_reconcile_opens_after_maintenance_but_never_reopens_a_closed_one(pool, tenant):
    from pulse.evaluator.sweeps import reconcile_heartbeats
    from pulse.evaluator.tenant_config import load_tenant_config

    for name in ("dev-a", "dev-b"):
        await make_device(pool, tenant, name)
    seen = datetime.now(UTC)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at)
               SELECT 'acme', device_id, site_id, 'ONLINE', $1 FROM device_registry""",
            seen,
        )
        await conn.execute(
            "INSERT INTO alert_maintenance_windows (tenant_id, name, starts_at, ends_at) VALUES ('acme', 'w', $1, $2)",
            seen,
            seen + timedelta(seconds=60),
        )
    await _sweep(pool, seen + timedelta(seconds=31))  # both STALE inside the window: no alert
    assert await alerts(pool) == []
    async with operator_tx(pool, "test") as conn:
        assert await reconcile_heartbeats(conn, seen + timedelta(seconds=50), load_tenant_config) == (0, 0)
        assert await reconcile_heartbeats(conn, seen + timedelta(seconds=61), load_tenant_config) == (2, 0)
        assert await reconcile_heartbeats(conn, seen + timedelta(seconds=62), load_tenant_config) == (0, 0)
        await conn.execute("UPDATE alerts SET status = 'CLOSED' WHERE device_id = 'dev-a'")  # by hand
        assert await reconcile_heartbeats(conn, seen + timedelta(seconds=90), load_tenant_config) == (0, 0)
    assert [(a["device_id"], a["status"]) for a in await alerts(pool)] == [
        ("dev-a", "CLOSED"),
        ("dev-b", "OPEN"),
    ]


async def test_alerts_of_a_removed_rule_close(pool, tenant):
    from pulse.evaluator.sweeps import close_orphans
    from tests.factories import make_alert_rule

    await make_device(pool, tenant, "dev-1")
    keep = await make_alert_rule(pool, name="keep", metric_name="t", operator="GT", threshold=1)
    gone = await make_alert_rule(pool, name="gone", metric_name="t", operator="GT", threshold=1)
    async with operator_tx(pool, "test") as conn:
        for rule in (keep, gone):
            await conn.execute(
                """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, rule_id, summary)
                   VALUES ('acme', 'site-1', 'dev-1', 'THRESHOLD', 'RULE:' || $1 || ':dev-1', $1, 'x')""",
                rule,
            )
        await conn.execute("UPDATE alert_rules SET enabled = false WHERE rule_id = $1", gone)
        assert await close_orphans(conn, datetime.now(UTC)) == 1
    assert {a["rule_id"]: a["status"] for a in await alerts(pool)} == {keep: "OPEN", gone: "CLOSED"}
