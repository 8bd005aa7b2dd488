"""Rule semantics against the real database, with snapshot times chosen by the test (an injected
clock): duration held continuously, AND/OR, hysteresis, normalization, filters, anomaly, data gaps,
maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.db.tx import operator_tx
from pulse.evaluator.arrivals import evaluate_snapshots
from pulse.evaluator.sweeps import close_quiet, due_quiet_periods, sweep_gaps
from pulse.evaluator.tenant_config import load_tenant_config
from tests.factories import make_alert_rule, make_device
from tests.integration.evaluator.helpers import alerts, snap

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def feed(pool, *snapshots, now=None):
    async with operator_tx(pool, "test") as conn:
        config = await load_tenant_config(conn, "acme")
        return await evaluate_snapshots(conn, config, list(snapshots), now or snapshots[-1].telemetry_at)


async def statuses(pool) -> list[str]:
    return [a["status"] for a in await alerts(pool)]


@pytest.fixture
async def dev(pool, tenant):
    await make_device(pool, tenant, "dev-1")
    return "dev-1"


async def test_single_spike_does_not_fire_a_60s_rule(pool, dev):
    await make_alert_rule(pool, metric_name="t", operator="GT", threshold=50, duration_seconds=60)
    for second, value in ((0, 20), (10, 90), (20, 20), (30, 20), (70, 20), (80, 20)):
        await feed(pool, snap(dev, {"t": value}, at(second)))
    assert await alerts(pool) == []


async def test_breach_with_a_dip_restarts_the_duration(pool, dev):
    await make_alert_rule(pool, metric_name="t", operator="GT", threshold=50, duration_seconds=60)
    for second, value in ((0, 90), (30, 90), (50, 40), (60, 90), (100, 90)):
        await feed(pool, snap(dev, {"t": value}, at(second)))
    assert await alerts(pool) == []  # held 40 s since the dip
    await feed(pool, snap(dev, {"t": 90}, at(120)))
    assert await statuses(pool) == ["OPEN"]


async def test_continuous_60s_breach_fires_once(pool, dev):
    await make_alert_rule(pool, metric_name="t", operator="GT", threshold=50, duration_seconds=60)
    for second in range(0, 60, 10):
        await feed(pool, snap(dev, {"t": 90}, at(second)))
    assert await alerts(pool) == []
    for second in (60, 70, 80):
        await feed(pool, snap(dev, {"t": 90}, at(second)))
    assert await statuses(pool) == ["OPEN"]


async def test_and_or_with_duration_on_the_whole_expression(pool, dev):
    both = {
        "combinator": "AND",
        "conditions": [
            {"metric_name": "t", "operator": "GT", "threshold": 50},
            {"metric_name": "h", "operator": "LT", "threshold": 20},
        ],
    }
    either = dict(both, combinator="OR")
    await make_alert_rule(pool, name="and", conditions=both, duration_seconds=30)
    await make_alert_rule(pool, name="or", conditions=either)
    await feed(pool, snap(dev, {"t": 90, "h": 50}, at(0)))
    assert [a["summary"] for a in await alerts(pool)] == ["site-1: dev-1 multi-condition rule 'or' triggered"]
    # AND holds from 10 s, but the first condition alone held since 0 s: the duration counts from 10 s
    await feed(pool, snap(dev, {"t": 90, "h": 10}, at(10)))
    await feed(pool, snap(dev, {"t": 90, "h": 10}, at(35)))
    assert len(await alerts(pool)) == 1
    await feed(pool, snap(dev, {"t": 90, "h": 10}, at(40)))
    assert sorted(a["summary"].split("'")[1] for a in await alerts(pool)) == ["and", "or"]
    await feed(pool, snap(dev, {"t": 10, "h": 50}, at(50)))
    assert await statuses(pool) == ["CLOSED", "CLOSED"]


async def test_missing_metric_is_never_a_breach(pool, dev):
    await make_alert_rule(pool, metric_name="t", operator="LT", threshold=50)
    await feed(pool, snap(dev, {"other": 1, "t": "not a number"}, at(0)))
    assert await alerts(pool) == []


async def test_hysteresis_oscillating_value_gives_one_alert(pool, dev):
    await make_alert_rule(
        pool, metric_name="t", operator="GT", threshold=80, clear_threshold=70, clear_after_seconds=30
    )
    values = [79, 81, 79, 81, 75, 81, 72, 79, 81]  # hovering at 80: never back below 70
    for i, v in enumerate(values):
        await feed(pool, snap(dev, {"t": v}, at(i * 10)))
    assert await statuses(pool) == ["OPEN"]
    await feed(pool, snap(dev, {"t": 60}, at(100)))
    await feed(pool, snap(dev, {"t": 75}, at(110)))  # back in the band: the quiet period starts over
    await feed(pool, snap(dev, {"t": 60}, at(120)))
    await feed(pool, snap(dev, {"t": 60}, at(140)))
    assert await statuses(pool) == ["OPEN"]
    await feed(pool, snap(dev, {"t": 60}, at(150)))
    assert await statuses(pool) == ["CLOSED"]


async def test_quiet_period_ends_by_sweep_without_new_samples(pool, dev):
    await make_alert_rule(pool, metric_name="t", operator="GT", threshold=80, clear_after_seconds=30)
    await feed(pool, snap(dev, {"t": 90}, at(0)))
    await feed(pool, snap(dev, {"t": 10}, at(10)))
    async with operator_tx(pool, "test") as conn:
        assert await due_quiet_periods(conn, at(39)) == {}
        due = await due_quiet_periods(conn, at(40))
        assert await close_quiet(conn, "acme", due["acme"], at(40)) == 1
    assert await statuses(pool) == ["CLOSED"]


async def test_normalized_metric(pool, dev):
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO normalized_metrics (tenant_id, normalized_name) VALUES ('acme', 'temp_f')"
        )
        await conn.execute(
            """INSERT INTO metric_mappings (tenant_id, raw_metric, normalized_name, multiplier, offset_value)
               VALUES ('acme', 'temp_c', 'temp_f', 1.8, 32)"""
        )
    await make_alert_rule(pool, metric_name="temp_f", operator="GT", threshold=100)
    await feed(pool, snap(dev, {"temp_c": 37}, at(0)))  # 98.6 °F
    assert await alerts(pool) == []
    await feed(pool, snap(dev, {"temp_c": 38}, at(10)))  # 100.4 °F
    [alert] = await alerts(pool)
    assert alert["details"]["metric_value"] == pytest.approx(100.4)


async def test_filters_by_site_group_and_type(pool, tenant):
    await make_device(pool, tenant, "a", "site-1")
    await make_device(pool, tenant, "b", "site-2")
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE device_registry SET device_type = 'pump' WHERE device_id = 'b'")
        await conn.execute("INSERT INTO device_groups (tenant_id, group_id, name) VALUES ('acme', 'g', 'G')")
        await conn.execute(
            "INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES ('acme', 'g', 'a')"
        )
    await make_alert_rule(pool, name="site", metric_name="t", operator="GT", threshold=0, site_ids=["site-2"])
    await make_alert_rule(pool, name="group", metric_name="t", operator="GT", threshold=0, group_ids=["g"])
    await make_alert_rule(pool, name="type", metric_name="t", operator="GT", threshold=0, device_type="pump")
    await feed(
        pool,
        snap("a", {"t": 1}, at(0), site_id="site-1", groups=("g",)),
        snap("b", {"t": 1}, at(0), site_id="site-2", device_type="pump"),
    )
    got = sorted((a["device_id"], a["details"]["rule_name"]) for a in await alerts(pool))
    assert got == [("a", "group"), ("b", "site"), ("b", "type")]


async def test_maintenance_window_suppresses_new_alerts_only(pool, dev):
    await make_alert_rule(pool, name="hot", metric_name="t", operator="GT", threshold=50)
    await make_alert_rule(pool, name="cold", metric_name="t", operator="LT", threshold=95)
    await feed(pool, snap(dev, {"t": 60}, at(0)))  # opens hot and cold
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO alert_maintenance_windows (tenant_id, name, starts_at, ends_at, site_ids)
               VALUES ('acme', 'upgrade', $1, $2, '{site-1}')""",
            at(5),
            at(100),
        )
        await conn.execute("UPDATE alerts SET status = 'CLOSED' WHERE details->>'rule_name' = 'hot'")
    out = await feed(pool, snap(dev, {"t": 60}, at(10)))
    assert out.suppressed == 1 and out.opened == []
    by_rule = {a["details"]["rule_name"]: a["status"] for a in await alerts(pool)}
    assert by_rule == {"hot": "CLOSED", "cold": "OPEN"}  # the open one stays open
    out = await feed(pool, snap(dev, {"t": 60}, at(100)))  # the window has ended
    assert len(out.opened) == 1


async def _telemetry_rows(pool, device_id, values, end: datetime, step_s: int = 60):
    async with operator_tx(pool, "test") as conn:
        await conn.executemany(
            "INSERT INTO telemetry (time, tenant_id, device_id, site_id, metrics) VALUES ($1, 'acme', $2, 'site-1', $3)",
            [
                (end - timedelta(seconds=step_s * (len(values) - 1 - i)), device_id, {"p": v})
                for i, v in enumerate(values)
            ],
        )


async def test_anomaly_on_known_data(pool, dev):
    now = datetime.now(UTC).replace(microsecond=0)  # telemetry partitions exist around today only
    await make_alert_rule(
        pool,
        rule_type="anomaly",
        conditions={"metric_name": "p", "window_minutes": 30, "z_threshold": 3.0, "min_samples": 10},
    )
    normal = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 10]  # baseline (newest left out): mean 10, stddev ~1.15
    await _telemetry_rows(pool, dev, normal, now - timedelta(minutes=1))
    out = await feed(pool, snap(dev, {"p": 10}, now), now=now)
    assert out.opened == []
    await _telemetry_rows(pool, dev, [30], now)
    out = await feed(pool, snap(dev, {"p": 30}, now), now=now)
    [alert] = await alerts(pool)
    assert alert["alert_type"] == "ANOMALY" and alert["details"]["z_score"] > 3
    await _telemetry_rows(pool, dev, [10], now + timedelta(seconds=1))
    await feed(pool, snap(dev, {"p": 10}, now + timedelta(seconds=1)), now=now + timedelta(seconds=1))
    assert await statuses(pool) == ["CLOSED"]


async def test_anomaly_needs_min_samples(pool, dev):
    now = datetime.now(UTC).replace(microsecond=0)
    await make_alert_rule(pool, rule_type="anomaly", conditions={"metric_name": "p", "min_samples": 10})
    await _telemetry_rows(pool, dev, [10, 10, 11, 9, 500], now)  # a baseline of 4 < 10
    await feed(pool, snap(dev, {"p": 500}, now), now=now)
    assert await alerts(pool) == []


async def test_data_gap_opens_and_closes(pool, dev):
    now = datetime.now(UTC).replace(microsecond=0)
    await make_alert_rule(pool, name="any", rule_type="telemetry_gap", conditions={"gap_minutes": 10})
    await make_alert_rule(
        pool, name="p", rule_type="telemetry_gap", conditions={"gap_minutes": 10, "metric_name": "p"}
    )
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at, last_telemetry_at)
               VALUES ('acme', $1, 'site-1', 'ONLINE', $2, $2)""",
            dev,
            now - timedelta(minutes=5),
        )
        await conn.execute(
            "INSERT INTO telemetry (time, tenant_id, device_id, site_id, metrics) VALUES ($1, 'acme', $2, 'site-1', $3)",
            now - timedelta(minutes=5),
            dev,
            {"q": 1},
        )
        config = await load_tenant_config(conn, "acme")
        assert await sweep_gaps(conn, config, now) == (1, 0)  # telemetry, but no "p" for 10 minutes
        assert await sweep_gaps(conn, config, now) == (0, 0)  # no duplicate
        assert await sweep_gaps(conn, config, now + timedelta(minutes=6)) == (1, 0)  # now no telemetry at all
    assert sorted(a["details"]["rule_name"] for a in await alerts(pool, status="OPEN")) == ["any", "p"]
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO telemetry (time, tenant_id, device_id, site_id, metrics) VALUES ($1, 'acme', $2, 'site-1', $3)",
            now,
            dev,
            {"p": 1},
        )
        await conn.execute("UPDATE device_state SET last_telemetry_at = $1, last_seen_at = $1", now)
        assert await sweep_gaps(conn, config, now + timedelta(minutes=1)) == (0, 2)
    assert [a["alert_type"] for a in await alerts(pool)] == ["NO_TELEMETRY", "NO_TELEMETRY"]
