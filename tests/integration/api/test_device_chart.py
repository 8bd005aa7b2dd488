"""/api/v2/devices/{id}/chart: columns on one axis, from the rollup where it covers whole minutes and from
raw rows elsewhere, equal to the existing telemetry route's buckets; every parameter bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer, seed_resources

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
START, END = T0 + timedelta(seconds=30), T0 + timedelta(minutes=13)
COVERED_TO = T0 + timedelta(minutes=10)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def _write_raw(conn, tenant: str, rows: list[tuple[timedelta, dict]]) -> None:
    await conn.copy_records_to_table(
        "telemetry",
        records=[(T0 + at, tenant, "dev-a", "site-a", "telemetry", n, m) for n, (at, m) in enumerate(rows)],
        columns=["time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics"],
    )


@pytest.fixture
async def charted(app, pool, tenants):
    """dev-a: rollup minutes 0-9 (temp_c in all but minute 5, humidity in minute 3), the rollup covering
    up to minute 10; raw rows in the part-minute at the start and in minutes 10-12. Sentinels show a
    part read from the wrong source: the rollup's minute 0 (partly before the start) and a raw row
    inside a covered minute."""
    tenant = tenants[0]
    await seed_resources(pool, tenant, "a")
    async with operator_tx(pool, "test") as conn:
        rollup = [(tenant, "dev-a", "temp_c", T0, 1, 999.0, 999.0, 999.0, 999.0, T0)]
        for minute in (1, 2, 3, 4, 6, 7, 8, 9):
            at = T0 + timedelta(minutes=minute)
            rollup.append(
                (tenant, "dev-a", "temp_c", at, 2, minute, minute + 1, 2 * minute + 1, minute + 1, at)
            )
        at = T0 + timedelta(minutes=3)
        rollup.append((tenant, "dev-a", "humidity", at, 1, 50.0, 50.0, 50.0, 50.0, at))
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
        await _write_raw(
            conn,
            tenant,
            [
                (timedelta(seconds=10), {"temp_c": 100}),  # before the start
                (timedelta(seconds=40), {"temp_c": 1.0}),
                (timedelta(minutes=4, seconds=5), {"temp_c": 1000}),  # covered by the rollup
                (timedelta(minutes=10, seconds=1), {"temp_c": 10}),
                (timedelta(minutes=10, seconds=31), {"temp_c": 12}),
                (timedelta(minutes=12, seconds=2), {"temp_c": 12.5, "humidity": "n/a"}),
            ],
        )
    async with pool.acquire() as conn:
        await conn.execute("UPDATE telemetry_rollup_state SET rolled_to = $1, covered_to = $1", COVERED_TO)
    return tenant


async def test_columns_on_one_axis_from_rollup_and_raw(app, client, charted) -> None:
    headers = await bearer(app, ["customer"], charted)
    window = {"start": START.isoformat(), "end": END.isoformat(), "bucket": "1m"}
    response = await client.get("/api/v2/devices/dev-a/chart", headers=headers, params=window)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    chart = response.json()
    assert chart["device_id"] == "dev-a" and chart["bucket_seconds"] == 60
    assert chart["timestamps"] == [_ms(T0 + timedelta(minutes=i)) for i in range(13)]
    temp = chart["series"]["temp_c"]
    assert temp["avg"] == [1.0, 1.5, 2.5, 3.5, 4.5, None, 6.5, 7.5, 8.5, 9.5, 11.0, None, 12.5]
    assert temp["min"] == [1.0, 1, 2, 3, 4, None, 6, 7, 8, 9, 10, None, 12.5]
    assert temp["max"] == [1.0, 2, 3, 4, 5, None, 7, 8, 9, 10, 12, None, 12.5]
    humidity = chart["series"]["humidity"]  # the string sample is not a number
    assert humidity["avg"] == [None, None, None, 50.0] + [None] * 9
    assert all(len(column) == 13 for s in chart["series"].values() for column in s.values())

    only = await client.get(
        "/api/v2/devices/dev-a/chart", headers=headers, params={**window, "metrics": "humidity,nothing"}
    )
    assert set(only.json()["series"]) == {"humidity"}


async def test_equals_the_telemetry_route(app, client, charted) -> None:
    headers = await bearer(app, ["customer"], charted)
    window = {"start": START.isoformat(), "end": END.isoformat()}
    for bucket in ("1m", "5m", "1h"):
        chart = (
            await client.get(
                "/api/v2/devices/dev-a/chart", headers=headers, params={**window, "bucket": bucket}
            )
        ).json()
        history = (
            await client.get(
                "/api/v2/devices/dev-a/telemetry", headers=headers, params={**window, "bucket": bucket}
            )
        ).json()
        assert set(chart["series"]) == set(history["series"])
        for metric, points in history["series"].items():
            columns = chart["series"][metric]
            by_time = {_ms(datetime.fromisoformat(p["time"])): p for p in points}
            for i, at in enumerate(chart["timestamps"]):
                point = by_time.get(at)
                if point is None:
                    assert columns["avg"][i] is None and columns["max"][i] is None
                    continue
                assert (columns["min"][i], columns["max"][i]) == (point["min"], point["max"])
                assert columns["avg"][i] == pytest.approx(point["avg"], rel=1e-6)  # float4 precision


async def test_average_keeps_seven_digits(app, client, charted, pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE telemetry_rollup_1m SET sum = 1, count = 3 WHERE metric = 'temp_c' AND bucket = $1",
            T0 + timedelta(minutes=2),
        )
    headers = await bearer(app, ["customer"], charted)
    params = {"start": START.isoformat(), "end": END.isoformat(), "bucket": "1m"}
    body = (await client.get("/api/v2/devices/dev-a/chart", headers=headers, params=params)).text
    assert "0.33333334" in body and "0.3333333333" not in body


async def test_automatic_bucket_and_bounds(app, client, charted) -> None:
    headers = await bearer(app, ["customer"], charted)
    day = (await client.get("/api/v2/devices/dev-a/chart", headers=headers)).json()
    assert day["bucket_seconds"] == 60 and 1440 <= len(day["timestamps"]) <= 1441
    month = (await client.get("/api/v2/devices/dev-a/chart", headers=headers, params={"hours": 720})).json()
    assert month["bucket_seconds"] == 1800 and len(month["timestamps"]) <= 1500
    end = datetime.now(UTC)
    refused = {
        (400, "too_many_buckets"): {"hours": 48, "bucket": "1m"},
        (400, "range_too_long"): {"start": (end - timedelta(days=31)).isoformat(), "end": end.isoformat()},
        (400, "bad_request"): {"start": end.isoformat(), "end": (end - timedelta(hours=1)).isoformat()},
        (422, "invalid_request"): {"bucket": "7m"},
    }
    for (status, error), params in refused.items():
        response = await client.get("/api/v2/devices/dev-a/chart", headers=headers, params=params)
        assert (response.status_code, response.json()["error"]) == (status, error), params
    for bad in ({"hours": 0}, {"hours": 721}, {"metrics": ",".join(f"m{i}" for i in range(21))}):
        response = await client.get("/api/v2/devices/dev-a/chart", headers=headers, params=bad)
        assert response.status_code in (400, 422), bad
    assert (await client.get("/api/v2/devices/nope/chart", headers=headers)).status_code == 404


async def test_a_device_without_data_has_an_axis_and_no_series(app, client, charted, tenants, pool) -> None:
    other = tenants[1]
    await seed_resources(pool, other, "b")
    headers = await bearer(app, ["customer"], other)
    chart = (await client.get("/api/v2/devices/dev-b/chart", headers=headers)).json()
    assert chart["series"] == {} and len(chart["timestamps"]) >= 1440
    # tenant B cannot chart tenant A's device, whose rows exist
    assert (await client.get("/api/v2/devices/dev-a/chart", headers=headers)).status_code == 404
