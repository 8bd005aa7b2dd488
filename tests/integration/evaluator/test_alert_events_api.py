"""The API's acknowledge / silence / close feed the same alert_events stream as the evaluator, and
GET /customer/alerts/{id}/events shows it (tenant-scoped: another tenant's alert is a 404)."""

from __future__ import annotations

import asyncpg

from pulse.api.app import create_app
from pulse.db.tx import operator_tx
from tests.factories import make_tenant
from tests.integration.api.helpers import bearer, client_for, seed_resources


async def test_api_transitions_write_events_and_notify(settings, pool):
    await make_tenant(pool, "tenant-a")
    await make_tenant(pool, "tenant-b")
    ids = await seed_resources(pool, "tenant-a", "a")
    heard: list[str] = []
    listen = await asyncpg.connect(settings.database_url)
    await listen.add_listener("alert_event", lambda *a: heard.append(a[3]))
    app = create_app(settings, pool)
    try:
        async with client_for(app) as client:
            admin = await bearer(app, ["tenant-admin"], "tenant-a", preferred_username="ann")
            url = f"/customer/alerts/{ids['alert_id']}"
            assert (await client.patch(f"{url}/acknowledge", headers=admin)).status_code == 200
            assert (
                await client.patch(f"{url}/silence", headers=admin, json={"minutes": 5})
            ).status_code == 200
            assert (await client.patch(f"{url}/close", headers=admin)).status_code == 200
            timeline = (await client.get(f"{url}/events", headers=admin)).json()
            other = await bearer(app, ["customer"], "tenant-b")
            hidden = await client.get(f"{url}/events", headers=other)
            missing = await client.get("/customer/alerts/999999/events", headers=admin)
        await listen.execute("SELECT 1")  # let pending notifications arrive
    finally:
        await listen.close()
    assert [(e["event"], e["status"]) for e in timeline["events"]] == [
        ("OPENED", "OPEN"),
        ("ACKNOWLEDGED", "ACKNOWLEDGED"),
        ("SILENCED", "ACKNOWLEDGED"),
        ("CLOSED", "CLOSED"),
    ]
    assert timeline["events"][1]["actor"] == "ann" and timeline["events"][3]["actor"] == "ann"
    assert timeline["events"][2]["details"]["silenced_until"]
    assert hidden.status_code == 404 and missing.status_code == 404
    assert heard.count("tenant-a") >= 3 and "tenant-b" not in heard


async def test_an_escalated_alert_shows_its_escalation_in_the_timeline(settings, pool):
    await make_tenant(pool, "tenant-a")
    ids = await seed_resources(pool, "tenant-a", "a")
    async with operator_tx(pool, "test") as conn:  # as the escalation worker does when a level fires
        await conn.execute(
            "UPDATE alerts SET escalation_level = 1, escalated_at = now() WHERE id = $1", int(ids["alert_id"])
        )
    app = create_app(settings, pool)
    async with client_for(app) as client:
        viewer = await bearer(app, ["customer"], "tenant-a")
        response = await client.get(f"/customer/alerts/{ids['alert_id']}/events", headers=viewer)
    assert response.status_code == 200
    assert [e["event"] for e in response.json()["events"]] == ["OPENED", "ESCALATED"]
