"""/operator: tenants CRUD (with the MAIN subscription), cross-tenant devices and alerts, settings,
the audit log."""

from __future__ import annotations

from tests.integration.api.helpers import bearer, seed_resources


async def test_tenant_crud_creates_the_main_subscription(app, client, pool) -> None:
    admin = await bearer(app, ["operator-admin"], None)
    created = await client.post(
        "/operator/tenants",
        headers=admin,
        json={"tenant_id": "acme", "name": "Acme", "contact_email": "ops@acme.example", "device_limit": 7},
    )
    assert created.status_code == 201, created.text
    assert created.json()["subscription_id"].startswith("SUB-")
    async with pool.acquire() as conn:
        sub = await conn.fetchrow(
            "SELECT subscription_type, device_limit, status FROM subscriptions WHERE tenant_id = 'acme'"
        )
    assert dict(sub) == {"subscription_type": "MAIN", "device_limit": 7, "status": "ACTIVE"}
    # the new tenant can register devices right away
    tenant_admin = await bearer(app, ["tenant-admin"], "acme")
    assert (
        await client.post("/customer/devices", headers=tenant_admin, json={"device_id": "d", "site_id": "s"})
    ).status_code == 201

    assert (
        await client.post("/operator/tenants", headers=admin, json={"tenant_id": "acme", "name": "Again"})
    ).status_code == 409
    for bad in (
        {"tenant_id": "Bad_ID", "name": "x"},
        {"tenant_id": "-x", "name": "x"},
        {"tenant_id": "ok", "name": ""},
    ):
        assert (await client.post("/operator/tenants", headers=admin, json=bad)).status_code == 422, bad
    suspended = await client.patch(
        "/operator/tenants/acme", headers=admin, json={"status": "SUSPENDED", "name": "Acme Inc"}
    )
    assert suspended.json()["status"] == "SUSPENDED" and suspended.json()["deleted_at"] is None
    deleted = await client.delete("/operator/tenants/acme", headers=admin)
    assert deleted.json()["status"] == "DELETED" and deleted.json()["deleted_at"]
    assert (await client.get("/operator/tenants", headers=admin, params={"status": "DELETED"})).json()[
        "total"
    ] == 1
    assert (await client.get("/operator/tenants/ghost", headers=admin)).status_code == 404
    assert (
        await client.patch("/operator/tenants/ghost", headers=admin, json={"name": "x"})
    ).status_code == 404


async def test_cross_tenant_reads(app, client, pool, tenants) -> None:
    ids_a = await seed_resources(pool, tenants[0], "a")
    await seed_resources(pool, tenants[1], "b")
    operator = await bearer(app, ["operator"], None)
    everything = (await client.get("/operator/devices", headers=operator)).json()
    assert {d["tenant_id"] for d in everything["devices"]} == set(tenants)
    only_a = (
        await client.get("/operator/devices", headers=operator, params={"tenant_filter": tenants[0]})
    ).json()
    assert [d["device_id"] for d in only_a["devices"]] == ["dev-a"]
    assert (
        await client.get(f"/operator/tenants/{tenants[0]}/devices/dev-a", headers=operator)
    ).status_code == 200
    assert (
        await client.get(f"/operator/tenants/{tenants[1]}/devices/dev-a", headers=operator)
    ).status_code == 404
    alerts = (await client.get("/operator/alerts", headers=operator)).json()
    assert alerts["total"] == 2
    assert (await client.get(f"/operator/alerts/{ids_a['alert_id']}", headers=operator)).json()[
        "tenant_id"
    ] == tenants[0]
    # operators read, only operator-admins change tenants
    assert (
        await client.post("/operator/tenants", headers=operator, json={"tenant_id": "x", "name": "x"})
    ).status_code == 403
    assert (await client.delete(f"/operator/tenants/{tenants[0]}", headers=operator)).status_code == 403


async def test_settings(app, client) -> None:
    admin = await bearer(app, ["operator-admin"], None)
    operator = await bearer(app, ["operator"], None)
    current = {
        s["key"]: s["value"]
        for s in (await client.get("/operator/settings", headers=operator)).json()["settings"]
    }
    assert current["MODE"] == "PROD"
    changed = await client.put(
        "/operator/settings", headers=admin, json={"values": {"MODE": "DEV", "RATE_LIMIT_RPS": "20"}}
    )
    assert changed.status_code == 200
    assert {s["key"]: s["value"] for s in changed.json()["settings"]}["RATE_LIMIT_RPS"] == "20"
    bad = await client.put(
        "/operator/settings", headers=admin, json={"values": {"MODE": "CHAOS", "nope": "1"}}
    )
    assert bad.status_code == 400 and set(bad.json()["detail"]) == {"MODE", "nope"}
    assert (
        await client.put("/operator/settings", headers=operator, json={"values": {"MODE": "DEV"}})
    ).status_code == 403


async def test_audit_log_lists_operator_requests(app, client) -> None:
    operator = await bearer(app, ["operator"], None, sub="op-1")
    await client.get("/operator/tenants", headers=operator, params={"limit": 5})
    log = (await client.get("/operator/audit-log", headers=operator, params={"user_id": "op-1"})).json()
    assert [e["action"] for e in log["entries"]] == ["view_audit_log", "list_tenants"]
    assert log["entries"][1]["ip_address"] == "127.0.0.1"


async def test_a_deleted_tenants_tokens_stop_working(app, client, pool, tenants) -> None:
    viewer = await bearer(app, ["customer"], tenants[0])
    assert (await client.get("/api/v2/devices", headers=viewer)).status_code == 200
    admin = await bearer(app, ["operator-admin"], None)
    await client.delete(f"/operator/tenants/{tenants[0]}", headers=admin)
    refused = await client.get("/api/v2/devices", headers=viewer)
    assert refused.status_code == 403 and refused.json()["error"] == "tenant_unavailable"
    unknown = await bearer(app, ["customer"], "never-created")
    assert (await client.get("/api/v2/devices", headers=unknown)).status_code == 403


async def test_deliveries_across_tenants(app, client, pool, tenants) -> None:
    await seed_resources(pool, tenants[0], "a")  # one FAILED job with an attempt
    await seed_resources(pool, tenants[1], "b")
    operator = await bearer(app, ["operator"], None)
    summary = (await client.get("/operator/deliveries/summary", headers=operator)).json()["tenants"]
    assert {(t["tenant_id"], t["failed_24h"], t["pending"]) for t in summary} == {
        (tenants[0], 1, 0),
        (tenants[1], 1, 0),
    }
    failed = (
        await client.get(
            "/operator/deliveries/jobs",
            headers=operator,
            params={"status": "FAILED", "tenant_filter": tenants[1]},
        )
    ).json()
    assert failed["total"] == 1 and [j["tenant_id"] for j in failed["jobs"]] == [tenants[1]]
    customer = await bearer(app, ["tenant-admin"], tenants[0])
    assert (await client.get("/operator/deliveries/jobs", headers=customer)).status_code == 403
