"""POST /customer/alert-rules/backtest: known telemetry in `telemetry` and `telemetry_rollup_1m`, replayed
through threshold rules with durations, hysteresis and several conditions, from raw rows and from the
rollup; unsupported types, bounds and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.api.queries import backtest as backtest_data
from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer, seed_resources

URL = "/customer/alert-rules/backtest"
B = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=55)
STEP = timedelta(seconds=30)


def temp(i: int) -> float:
    """Two breaches of 24: samples 20-29 (270 s) and 60-62 (60 s); 30-34 sit at 23, between 22 and 24."""
    if 20 <= i <= 29 or 60 <= i <= 62:
        return 25.0
    return 23.0 if 30 <= i <= 34 else 20.0


def humidity(i: int) -> float:
    return 60.0 if 60 <= i <= 62 else 40.0


def at(i: int) -> datetime:
    return B + STEP * i


@pytest.fixture
async def history(pool, tenants):
    """dev-a: 100 messages every 30 s (the last one ~5 minutes ago), as raw rows and as rollup minutes."""
    tenant = tenants[0]
    await seed_resources(pool, tenant, "a")
    rows = [
        (at(i), tenant, "dev-a", "site-a", "telemetry", i, {"temp_c": temp(i), "humidity": humidity(i)})
        for i in range(100)
    ]
    minutes: dict[tuple[str, datetime], list[tuple[datetime, float]]] = {}
    for when, *_, metrics in rows:
        for metric, value in metrics.items():
            minutes.setdefault((metric, when.replace(second=0)), []).append((when, value))
    rollup = [
        (tenant, "dev-a", metric, minute, len(v), min(x for _, x in v), max(x for _, x in v),
         sum(x for _, x in v), max(v)[1], max(v)[0])
        for (metric, minute), v in minutes.items()
    ]  # fmt: skip
    async with operator_tx(pool, "test") as conn:
        await conn.copy_records_to_table(
            "telemetry",
            records=rows,
            columns=["time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics"],
        )
        await conn.copy_records_to_table(
            "telemetry_rollup_1m",
            records=rollup,
            columns=[
                "tenant_id",
                "device_id",
                "metric",
                "bucket",
                "count",
                "min",
                "max",
                "sum",
                "last",
                "last_time",
            ],
        )
    async with pool.acquire() as conn:  # minutes from 40 on are read from raw rows
        await conn.execute(
            "UPDATE telemetry_rollup_state SET rolled_to = $1, covered_to = $1", B + timedelta(minutes=40)
        )
    return tenant


def rule(**fields) -> dict:
    return {"metric_name": "temp_c", "operator": "GT", "threshold": 24} | fields


async def _backtest(app, client, tenant, body: dict) -> dict:
    headers = await bearer(app, ["tenant-admin"], tenant)
    response = await client.post(URL, headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_raw_replay_counts_fires_and_honours_duration(app, client, history) -> None:
    result = await _backtest(app, client, history, rule())
    assert result["source"] == "raw" and result["exact"] is True
    assert result["samples"] == 100 and result["devices_evaluated"] == 1
    assert result["fires"] == 2
    assert result["devices"] == [
        {
            "device_id": "dev-a",
            "fires": 2,
            "first_at": result["devices"][0]["first_at"],
            "last_at": result["devices"][0]["last_at"],
        }
    ]
    assert datetime.fromisoformat(result["devices"][0]["first_at"]) == at(20)
    assert datetime.fromisoformat(result["devices"][0]["last_at"]) == at(60)
    first, second = result["firing"]
    assert datetime.fromisoformat(first["end"]) == at(30)  # no hysteresis: 23 clears at once

    held = await _backtest(app, client, history, rule(duration_seconds=120))
    assert held["fires"] == 1  # the second breach lasted 60 s
    first, second = held["firing"]
    assert datetime.fromisoformat(first["fired_at"]) == at(24)
    assert second["fired_at"] is None and datetime.fromisoformat(second["end"]) == at(63)


async def test_hysteresis_and_quiet_period(app, client, history) -> None:
    banded = await _backtest(app, client, history, rule(clear_threshold=22))
    assert banded["fires"] == 2
    assert datetime.fromisoformat(banded["firing"][0]["end"]) == at(35)  # 23 is inside the band
    short = await _backtest(app, client, history, rule(clear_after_seconds=600))
    assert (
        short["fires"] == 2
    )  # quiet from sample 30 for 600 s: closed at sample 50, before the second breach
    assert datetime.fromisoformat(short["firing"][0]["end"]) == at(50)
    quiet = await _backtest(app, client, history, rule(clear_after_seconds=1200))
    # still open (quiet period running) when the second breach comes: one fire, one period, closed by
    # the sweep 1200 s after the last breach
    assert quiet["fires"] == 1 and len(quiet["firing"]) == 1
    assert datetime.fromisoformat(quiet["firing"][0]["end"]) == at(63) + timedelta(seconds=1200)


async def test_multi_condition_and_filters(app, client, history) -> None:
    both = {
        "conditions": {
            "combinator": "AND",
            "conditions": [
                {"metric_name": "temp_c", "operator": "GT", "threshold": 24},
                {"metric_name": "humidity", "operator": "GTE", "threshold": 60},
            ],
        }
    }
    result = await _backtest(app, client, history, both)
    assert result["fires"] == 1 and datetime.fromisoformat(result["devices"][0]["first_at"]) == at(60)
    assert {t["metric"] for t in result["thresholds"]} == {"temp_c", "humidity"}
    elsewhere = await _backtest(app, client, history, rule(site_ids=["site-elsewhere"]))
    assert elsewhere["devices_evaluated"] == 0 and elsewhere["fires"] == 0
    one = await _backtest(app, client, history, rule(device_id="dev-a", hours=2))
    assert one["fires"] == 2
    columns = one["series"]["series"]["temp_c"]
    assert (
        len(columns["max"]) == len(one["series"]["timestamps"])
        and max(v for v in columns["max"] if v) == 25.0
    )
    assert one["thresholds"] == [
        {"metric": "temp_c", "operator": "GT", "threshold": 24.0, "clear_threshold": None}
    ]


async def test_rollup_replay_when_raw_rows_exceed_the_cap(app, client, history, monkeypatch) -> None:
    monkeypatch.setattr(backtest_data, "RAW_ROW_CAP", 50)
    result = await _backtest(app, client, history, rule())
    assert result["source"] == "rollup_1m" and result["exact"] is False
    assert result["samples"] == 50  # device-minutes: 40 from the rollup, 10 aggregated from raw rows
    assert result["fires"] == 2
    assert datetime.fromisoformat(result["devices"][0]["first_at"]) == at(20)  # minute 10
    # LT reads each minute's min: breached in minutes 0-9, 17-29 (sample 35 is 20) and from 31 on
    # (sample 63): three fires where the raw replay's 30 s resolution would separate them differently
    low = await _backtest(app, client, history, rule(operator="LT", threshold=21))
    assert low["source"] == "rollup_1m" and low["fires"] == 3
    first = low["firing"][0]
    assert datetime.fromisoformat(first["start"]) == B and datetime.fromisoformat(
        first["end"]
    ) == B + timedelta(minutes=10)

    monkeypatch.setattr(backtest_data, "MINUTE_ROW_CAP", 20)
    headers = await bearer(app, ["tenant-admin"], history)
    response = await client.post(URL, headers=headers, json=rule())
    assert response.status_code == 422 and response.json()["error"] == "backtest_too_large"


async def test_refusals(app, client, history, tenants, pool) -> None:
    admin = await bearer(app, ["tenant-admin"], history)
    anomaly = {"rule_type": "anomaly", "anomaly_conditions": {"metric_name": "temp_c"}}
    gap = {"rule_type": "telemetry_gap", "gap_conditions": {"gap_minutes": 5}}
    for body in (anomaly, gap, {"rule_type": "no_heartbeat"}):
        response = await client.post(URL, headers=admin, json=body)
        assert response.status_code == 422 and response.json()["error"] == "backtest_unsupported", body
    for body in (
        rule(hours=0),
        rule(hours=169),
        rule(extra=1),
        {"metric_name": "temp_c"},
        rule(device_id=""),
    ):
        response = await client.post(URL, headers=admin, json=body)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request", body
    assert (await client.post(URL, headers=admin, json=rule(device_id="nope"))).status_code == 404
    viewer = await bearer(app, ["customer"], history)
    assert (await client.post(URL, headers=viewer, json=rule())).status_code == 403
    await seed_resources(pool, tenants[1], "b")
    intruder = await bearer(app, ["tenant-admin"], tenants[1])
    assert (await client.post(URL, headers=intruder, json=rule(device_id="dev-a"))).status_code == 404
    theirs = await client.post(URL, headers=intruder, json=rule())
    assert theirs.json()["fires"] == 0 and theirs.json()["samples"] == 0  # tenant A's rows are not seen
