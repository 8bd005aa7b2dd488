"""/api/v2: devices with filters and pagination, telemetry history in every bucket, latest values,
alerts and the fleet summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer, seed_resources

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


@pytest.fixture
async def fleet(app, pool, tenants):
    """Tenant A: dev-a (ONLINE, tagged) plus 4 more devices; 10 minutes of telemetry on dev-a."""
    ids = await seed_resources(pool, tenants[0], "a")
    async with operator_tx(pool, "test") as conn:
        for n in range(4):
            await conn.execute(
                "INSERT INTO device_registry (tenant_id, device_id, site_id, model) VALUES ($1, $2, 'site-z', 'Thermo')",
                tenants[0],
                f"extra-{n}",
            )
        rows = [
            (
                T0 + timedelta(seconds=30 * i),
                tenants[0],
                "dev-a",
                "site-a",
                "telemetry",
                i,
                {"temp_c": float(i), "door": "open"},
            )
            for i in range(20)
        ]
        rows.append((T0 + timedelta(minutes=3), tenants[0], "dev-a", "site-a", "heartbeat", 99, {}))
        await conn.copy_records_to_table(
            "telemetry",
            records=rows,
            columns=["time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics"],
        )
    return ids


async def test_device_list_filters_and_pages(app, client, fleet, tenants) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    everything = (await client.get("/api/v2/devices", headers=headers)).json()
    assert everything["total"] == 5 and everything["tenant_id"] == tenants[0]
    assert everything["devices"][0]["device_id"] == "dev-a"
    page = (await client.get("/api/v2/devices", headers=headers, params={"limit": 2, "offset": 2})).json()
    assert page["count"] == 2 and page["total"] == 5
    online = (await client.get("/api/v2/devices", headers=headers, params={"status": "ONLINE"})).json()
    assert [d["device_id"] for d in online["devices"]] == ["dev-a"]
    tagged = (await client.get("/api/v2/devices", headers=headers, params={"tags": "floor-a"})).json()
    assert tagged["total"] == 1 and tagged["devices"][0]["tags"] == ["floor-a"]
    searched = (await client.get("/api/v2/devices", headers=headers, params={"q": "therm"})).json()
    assert searched["total"] == 4
    literal = (await client.get("/api/v2/devices", headers=headers, params={"q": "%"})).json()
    assert literal["total"] == 0  # % is searched for, not a wildcard
    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "BROKEN"}, {"offset": -1}, {"q": "x" * 101}):
        response = await client.get("/api/v2/devices", headers=headers, params=bad)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request"


async def test_device_detail(app, client, fleet, tenants) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    detail = (await client.get("/api/v2/devices/dev-a", headers=headers)).json()
    assert detail["device"]["status"] == "ONLINE" and detail["device"]["state"]["temp_c"] == 21.5
    never_seen = (await client.get("/api/v2/devices/extra-0", headers=headers)).json()
    assert never_seen["device"]["status"] == "OFFLINE"  # a device with no state row is shown, not 404
    assert (await client.get("/api/v2/devices/nope", headers=headers)).status_code == 404


async def test_telemetry_raw_and_buckets(app, client, fleet, tenants) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    window = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=10)).isoformat()}
    raw = (await client.get("/api/v2/devices/dev-a/telemetry", headers=headers, params=window)).json()
    assert len(raw["raw"]) == 20  # the heartbeat is not telemetry
    assert raw["raw"][0]["metrics"]["temp_c"] == 19.0  # newest first
    only = await client.get(
        "/api/v2/devices/dev-a/telemetry", headers=headers, params={**window, "metrics": "door"}
    )
    assert only.json()["raw"][0]["metrics"] == {"door": "open"}

    minute = (
        await client.get(
            "/api/v2/devices/dev-a/telemetry", headers=headers, params={**window, "bucket": "1m"}
        )
    ).json()
    assert set(minute["series"]) == {"temp_c"}  # strings are not aggregated
    first = minute["series"]["temp_c"][0]
    assert first == {"time": first["time"], "min": 0.0, "max": 1.0, "avg": 0.5, "last": 1.0, "count": 2}
    assert len(minute["series"]["temp_c"]) == 10
    five = (
        await client.get(
            "/api/v2/devices/dev-a/telemetry", headers=headers, params={**window, "bucket": "5m"}
        )
    ).json()
    assert [p["count"] for p in five["series"]["temp_c"]] == [10, 10]
    for bucket in ("1h", "1d"):
        wide = await client.get(
            "/api/v2/devices/dev-a/telemetry", headers=headers, params={**window, "bucket": bucket}
        )
        points = wide.json()["series"]["temp_c"]
        assert sum(p["count"] for p in points) == 20 and max(p["max"] for p in points) == 19.0

    too_many = await client.get(
        "/api/v2/devices/dev-a/telemetry", headers=headers, params={"bucket": "1m", "hours": 744}
    )
    assert too_many.status_code == 400 and too_many.json()["error"] == "too_many_buckets"
    backwards = {"start": window["end"], "end": window["start"]}
    assert (
        await client.get("/api/v2/devices/dev-a/telemetry", headers=headers, params=backwards)
    ).status_code == 400
    bad_time = await client.get(
        "/api/v2/devices/dev-a/telemetry", headers=headers, params={"start": "yesterday"}
    )
    assert bad_time.status_code == 422
    many = ",".join(f"m{i}" for i in range(21))
    assert (
        await client.get("/api/v2/devices/dev-a/telemetry", headers=headers, params={"metrics": many})
    ).status_code == 400


async def test_latest_values(app, client, fleet, tenants) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    latest = (
        await client.get("/api/v2/devices/dev-a/telemetry/latest", headers=headers, params={"count": 3})
    ).json()
    assert latest["count"] == 3 and [r["seq"] for r in latest["telemetry"]] == [19, 18, 17]
    assert (
        await client.get("/api/v2/devices/dev-a/telemetry/latest", headers=headers, params={"count": 11})
    ).status_code == 422


async def test_alerts_and_fleet_summary(app, client, fleet, tenants, pool) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    alerts = (await client.get("/api/v2/alerts", headers=headers)).json()
    assert alerts["total"] == 1 and alerts["alerts"][0]["severity"] == 4
    assert (await client.get("/api/v2/alerts", headers=headers, params={"status": "CLOSED"})).json()[
        "total"
    ] == 0
    assert (await client.get("/api/v2/alerts", headers=headers, params={"min_severity": 5})).json()[
        "total"
    ] == 0
    one = (await client.get(f"/api/v2/alerts/{fleet['alert_id']}", headers=headers)).json()
    assert one["alert"]["alert_id"] == int(fleet["alert_id"])
    assert (await client.get("/api/v2/alerts/999999", headers=headers)).status_code == 404
    assert (await client.get("/api/v2/alerts/not-a-number", headers=headers)).status_code == 422

    summary = (await client.get("/api/v2/fleet/summary", headers=headers)).json()
    assert summary["total_devices"] == 5 and summary["online"] == 1 and summary["offline"] == 4
    assert summary["alerts_open"] == 1 and summary["alerts_new_1h"] == 1
    assert summary["low_battery_count"] == 1 and summary["low_battery_devices"][0]["device_id"] == "dev-a"
