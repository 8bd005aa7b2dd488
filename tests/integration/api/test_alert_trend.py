"""/api/v2/alerts/trend: openings and closings per hour or UTC day, by severity, the tenant's only."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer

NOW = datetime.now(UTC)


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _day(at: datetime) -> datetime:
    return _hour(at).replace(hour=0)


async def _alert(conn, tenant: str, n: int, severity: int, created: datetime, closed: datetime | None = None):
    await conn.execute(
        """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, summary, severity,
                               status, created_at, closed_at)
           VALUES ($1, 's', 'd', 'THRESHOLD', $2, 'x', $3, $4, $5, $6)""",
        tenant,
        f"fp-{n}",
        severity,
        "CLOSED" if closed else "OPEN",
        created,
        closed,
    )


async def test_counts_per_hour_and_day_by_severity(app, client, pool, tenants) -> None:
    a, b = tenants
    opened_hot, closed_hot = NOW - timedelta(hours=5, minutes=10), NOW - timedelta(hours=2, minutes=5)
    async with operator_tx(pool, "test") as conn:
        await _alert(conn, a, 1, 4, opened_hot, closed_hot)
        await _alert(conn, a, 2, 4, NOW - timedelta(hours=5, minutes=20))
        await _alert(conn, a, 3, 2, NOW - timedelta(hours=2, minutes=1))
        await _alert(conn, a, 4, 5, NOW - timedelta(hours=30))  # outside a 24-hour window
        await _alert(conn, b, 5, 1, NOW - timedelta(hours=2))  # another tenant's
    headers = await bearer(app, ["customer"], a)

    response = await client.get("/api/v2/alerts/trend", headers=headers)
    assert response.status_code == 200, response.text
    trend = response.json()
    assert trend["tenant_id"] == a and trend["bucket"] == "hour" and trend["hours"] == 24
    starts = [datetime.fromisoformat(x["start"]) for x in trend["buckets"]]
    assert starts == [_hour(NOW - timedelta(hours=24)) + timedelta(hours=i) for i in range(25)]
    by_start = {datetime.fromisoformat(x["start"]): x for x in trend["buckets"]}
    expected_opened = Counter(
        _hour(t)
        for t in (opened_hot, NOW - timedelta(hours=5, minutes=20), NOW - timedelta(hours=2, minutes=1))
    )
    for start, bucket in by_start.items():
        assert bucket["opened"] == expected_opened.get(start, 0), start
        assert bucket["closed"] == (1 if start == _hour(closed_hot) else 0), start
    assert sum(x["opened"] for x in trend["buckets"]) == 3  # tenant B's and the old one are not counted
    hot = by_start[_hour(opened_hot)]["by_severity"]["4"]
    assert hot["opened"] >= 1
    assert by_start[_hour(closed_hot)]["by_severity"]["4"]["closed"] == 1
    assert by_start[_hour(NOW - timedelta(hours=2, minutes=1))]["by_severity"]["2"]["opened"] == 1

    days = (
        await client.get("/api/v2/alerts/trend", headers=headers, params={"hours": 72, "bucket": "day"})
    ).json()
    assert datetime.fromisoformat(days["buckets"][0]["start"]) == _day(NOW - timedelta(hours=72))
    assert sum(x["opened"] for x in days["buckets"]) == 4 and sum(x["closed"] for x in days["buckets"]) == 1
    assert all(set(x) == {"start", "opened", "closed", "by_severity"} for x in days["buckets"])


async def test_bounds_and_empty_window(app, client, tenants) -> None:
    headers = await bearer(app, ["customer"], tenants[0])
    empty = (await client.get("/api/v2/alerts/trend", headers=headers, params={"hours": 1})).json()
    assert [x["opened"] for x in empty["buckets"]] == [0, 0] and empty["buckets"][0]["by_severity"] == {}
    month = (await client.get("/api/v2/alerts/trend", headers=headers, params={"hours": 720})).json()
    assert len(month["buckets"]) == 721
    for bad in ({"hours": 0}, {"hours": 721}, {"bucket": "week"}):
        response = await client.get("/api/v2/alerts/trend", headers=headers, params=bad)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request", bad
    assert (await client.get("/api/v2/alerts/trend")).status_code == 401
