"""/customer alerts (acknowledge, close, silence), alert rules and maintenance windows."""

from __future__ import annotations

from tests.integration.api.helpers import bearer, seed_resources


async def test_alert_lifecycle(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0], "a")
    admin = await bearer(app, ["tenant-admin"], tenants[0], preferred_username="ann")
    url = f"/customer/alerts/{ids['alert_id']}"
    assert (await client.get("/customer/alerts", headers=admin)).json()["total"] == 1
    silenced = await client.patch(f"{url}/silence", headers=admin, json={"minutes": 30})
    assert silenced.status_code == 200 and silenced.json()["alert"]["silenced_until"]
    assert (await client.patch(f"{url}/silence", headers=admin, json={"minutes": 0})).status_code == 422
    acked = (await client.patch(f"{url}/acknowledge", headers=admin)).json()["alert"]
    assert acked["status"] == "ACKNOWLEDGED" and acked["acknowledged_by"] == "ann"
    again = await client.patch(f"{url}/acknowledge", headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"
    assert (await client.get("/customer/alerts", headers=admin, params={"status": "ACTIVE"})).json()[
        "total"
    ] == 1
    assert (await client.patch(f"{url}/close", headers=admin)).json()["alert"]["status"] == "CLOSED"
    assert (await client.patch(f"{url}/close", headers=admin)).status_code == 409
    assert (await client.patch(f"{url}/silence", headers=admin, json={"minutes": 5})).status_code == 409
    assert (await client.get("/customer/alerts", headers=admin, params={"status": "ALL"})).json()[
        "total"
    ] == 1
    assert (
        await client.get("/customer/alerts", headers=admin, params={"status": "bogus"})
    ).status_code == 422


async def test_alert_rules_crud(app, client, tenants) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    simple = {"name": "Hot", "metric_name": "temp_c", "operator": "GT", "threshold": 80, "severity": 4}
    created = await client.post("/customer/alert-rules", headers=admin, json=simple)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["enabled"] and rule["duration_seconds"] == 0 and rule["conditions"] is None
    multi = {
        "name": "Both",
        "conditions": {
            "combinator": "OR",
            "conditions": [{"metric_name": "a", "operator": "LT", "threshold": 1}],
        },
    }
    assert (await client.post("/customer/alert-rules", headers=admin, json=multi)).json()["conditions"][
        "combinator"
    ] == "OR"
    gap = {"name": "Quiet", "rule_type": "telemetry_gap", "gap_conditions": {"gap_minutes": 15}}
    assert (await client.post("/customer/alert-rules", headers=admin, json=gap)).json()["gap_conditions"] == {
        "gap_minutes": 15,
        "metric_name": None,
    }
    for bad in (
        {"name": "x"},  # threshold rule without a threshold
        {**simple, "metric_name": "1bad name"},
        {**simple, "operator": "ABOUT"},
        {**simple, "severity": 9},
        {"name": "x", "rule_type": "anomaly"},
        {**simple, "conditions": {"conditions": []}},
        {**simple, "unknown": 1},
    ):
        assert (await client.post("/customer/alert-rules", headers=admin, json=bad)).status_code == 422, bad
    nan = await client.post(
        "/customer/alert-rules",
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"name":"n","metric_name":"t","operator":"GT","threshold":NaN}',
    )
    assert nan.status_code == 422
    missing_policy = await client.post(
        "/customer/alert-rules", headers=admin, json={**simple, "escalation_policy_id": 42}
    )
    assert missing_policy.status_code == 422 and missing_policy.json()["error"] == "invalid_reference"

    url = f"/customer/alert-rules/{rule['rule_id']}"
    assert (await client.patch(url, headers=admin, json={"threshold": 90, "enabled": False})).json()[
        "threshold"
    ] == 90
    assert (
        await client.patch(url, headers=admin, json={"threshold": None})
    ).status_code == 400  # incomplete rule
    assert (await client.patch(url, headers=admin, json={"name": None})).status_code == 400
    assert (await client.patch(url, headers=admin, json={})).status_code == 400
    listed = (await client.get("/customer/alert-rules", headers=admin, params={"limit": 2})).json()
    assert listed["total"] == 3 and listed["count"] == 2
    assert (await client.get("/customer/alert-rules/not-a-uuid", headers=admin)).status_code == 422
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_maintenance_windows_crud(app, client, tenants) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    body = {
        "name": "Nightly",
        "starts_at": "2026-01-01T00:00:00",
        "recurring": {"dow": [1, 2], "start_hour": 1, "end_hour": 3},
        "timezone": "Europe/Berlin",
        "site_ids": ["hall"],
    }
    created = await client.post("/customer/maintenance-windows", headers=admin, json=body)
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["window_id"].startswith("mw-") and window["starts_at"].startswith("2026-01-01T00:00:00")
    for bad in (
        {**body, "timezone": "Mars/Olympus"},
        {**body, "recurring": {"dow": [7], "start_hour": 1, "end_hour": 3}},
        {**body, "recurring": {"dow": [1], "start_hour": 5, "end_hour": 3}},
        {**body, "ends_at": "2025-01-01T00:00:00Z"},
    ):
        assert (
            await client.post("/customer/maintenance-windows", headers=admin, json=bad)
        ).status_code == 422, bad
    url = f"/customer/maintenance-windows/{window['window_id']}"
    assert (await client.patch(url, headers=admin, json={"enabled": False})).json()["enabled"] is False
    assert (
        await client.patch(url, headers=admin, json={"ends_at": "2025-06-01T00:00:00Z"})
    ).status_code == 400
    assert (await client.get("/customer/maintenance-windows", headers=admin)).json()["total"] == 1
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.delete(url, headers=admin)).status_code == 404
