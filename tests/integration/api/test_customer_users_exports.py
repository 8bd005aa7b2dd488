"""Tenant users managed by tenant admins (and the login that follows), and streamed exports."""

from __future__ import annotations

import csv
import io

from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer, login, make_user, seed_resources


async def test_tenant_admin_manages_users_who_can_then_log_in(app, client, pool, tenants) -> None:
    admin_user, _ = await make_user(pool, "boss", ["tenant-admin"], tenants[0])
    admin = await bearer(app, ["tenant-admin"], tenants[0], sub=admin_user.user_id)
    created = await client.post(
        "/customer/users", headers=admin, json={"username": "newbie", "email": "n@example.com"}
    )
    assert created.status_code == 201, created.text
    password = created.json()["password"]
    user_id = created.json()["user"]["user_id"]
    assert created.json()["user"]["roles"] == ["customer"]
    # A tenant admin's users live in the tenant's namespace and sign in as <tenant>/<name>.
    assert created.json()["user"]["username"] == f"{tenants[0]}/newbie"
    tokens = await login(client, f"{tenants[0]}/newbie", password)
    assert tokens["access_token"]

    assert (
        await client.post("/customer/users", headers=admin, json={"username": "newbie"})
    ).status_code == 409
    assert (
        await client.post("/customer/users", headers=admin, json={"username": "x", "role": "operator"})
    ).status_code == 422
    assert (
        await client.post("/customer/users", headers=admin, json={"username": "y", "password": "short"})
    ).status_code == 422
    listed = (await client.get("/customer/users", headers=admin, params={"search": "newb"})).json()
    assert [u["username"] for u in listed["users"]] == [f"{tenants[0]}/newbie"]

    promoted = await client.patch(f"/customer/users/{user_id}", headers=admin, json={"role": "tenant-admin"})
    assert promoted.json()["roles"] == ["tenant-admin"]
    # changing the role ended the sessions: the refresh token no longer works
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "pulse-ui",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 400
    reset = await client.post(f"/customer/users/{user_id}/password", headers=admin)
    assert (await login(client, f"{tenants[0]}/newbie", reset.json()["password"]))["access_token"]
    assert (
        await client.patch(f"/customer/users/{admin_user.user_id}", headers=admin, json={"enabled": False})
    ).status_code == 400
    assert (await client.patch(f"/customer/users/{user_id}", headers=admin, json={"enabled": False})).json()[
        "status"
    ] == "DISABLED"
    assert (await client.delete(f"/customer/users/{user_id}", headers=admin)).status_code == 204
    assert (await client.get(f"/customer/users/{user_id}", headers=admin)).status_code == 404
    async with operator_tx(pool, "test") as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = $1::uuid", user_id)
            == 0
        )
    viewer = await bearer(app, ["customer"], tenants[0])
    assert (await client.get("/customer/users", headers=viewer)).status_code == 403


async def test_exports_stream_csv_and_json(app, client, pool, tenants) -> None:
    await seed_resources(pool, tenants[0], "a")
    await seed_resources(pool, tenants[1], "b")
    headers = await bearer(app, ["customer"], tenants[0])
    devices_csv = await client.get("/customer/export/devices", headers=headers)
    assert devices_csv.status_code == 200 and devices_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in devices_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(devices_csv.text)))
    assert [r["device_id"] for r in rows] == ["dev-a"] and rows[0]["tags"] == "floor-a"
    devices_json = (
        await client.get("/customer/export/devices", headers=headers, params={"format": "json"})
    ).json()
    assert devices_json["count"] == 1 and devices_json["devices"][0]["device_id"] == "dev-a"
    alerts = (
        await client.get(
            "/customer/export/alerts", headers=headers, params={"format": "json", "status": "OPEN"}
        )
    ).json()
    assert alerts["count"] == 1 and alerts["alerts"][0]["device_id"] == "dev-a"
    assert (
        await client.get("/customer/export/alerts", headers=headers, params={"days": 0})
    ).status_code == 422
    async with operator_tx(pool, "test") as conn:
        runs = await conn.fetch(
            "SELECT report_type, row_count FROM report_runs WHERE tenant_id = $1 ORDER BY run_id", tenants[0]
        )
    assert [(r["report_type"], r["row_count"]) for r in runs] == [
        ("device_export", 1),
        ("device_export", 1),
        ("alert_export", 1),
    ]


async def test_csv_export_neutralises_formulas(app, client, pool, tenants) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    await client.post(
        "/customer/devices", headers=admin, json={"device_id": "d1", "site_id": "s1", "name": "=HYPERLINK(1)"}
    )
    text = (await client.get("/customer/export/devices", headers=admin)).text
    assert "'=HYPERLINK(1)" in text


async def test_export_filter_postgresql_refuses_is_an_error_not_a_cut_stream(
    app, client, pool, tenants
) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    response = await client.get("/customer/export/devices?site_id=%00", headers=admin)
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"
