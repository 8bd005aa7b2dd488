"""/customer devices: create within the device limit with a real provision token, update, tags,
metadata, decommission, delete, device API tokens, bulk CSV import, sites and groups."""

from __future__ import annotations

from pulse.db.tx import operator_tx
from pulse.provisioning.tokens import secret_matches
from tests.factories import make_tenant
from tests.integration.api.helpers import bearer


async def _admin(app, tenant: str) -> dict:
    return await bearer(app, ["tenant-admin"], tenant)


async def test_create_device_issues_a_working_token_and_respects_the_limit(app, client, pool) -> None:
    await make_tenant(pool, "small", device_limit=2)
    admin = await _admin(app, "small")
    created = await client.post(
        "/customer/devices",
        headers=admin,
        json={
            "device_id": "pump-1",
            "site_id": "plant",
            "name": "Pump",
            "tags": ["wet", "wet", "b"],
            "metadata": {"k": 1},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (
        body["device"]["name"] == "Pump"
        and body["device"]["tags"] == ["b", "wet"]
        and body["device"]["provisioned"]
    )
    assert body["mqtt_topic"] == "tenant/small/device/pump-1/telemetry"
    async with operator_tx(pool, "test") as conn:
        stored = await conn.fetchval(
            "SELECT provision_token_hash FROM device_registry WHERE tenant_id = 'small' AND device_id = 'pump-1'"
        )
    assert secret_matches(body["provision_token"], stored)
    assert (
        await client.post(
            "/customer/devices", headers=admin, json={"device_id": "pump-1", "site_id": "plant"}
        )
    ).status_code == 409
    assert (
        await client.post(
            "/customer/devices", headers=admin, json={"device_id": "pump-2", "site_id": "plant"}
        )
    ).status_code == 201
    full = await client.post(
        "/customer/devices", headers=admin, json={"device_id": "pump-3", "site_id": "plant"}
    )
    assert full.status_code == 409 and full.json()["error"] == "device_limit_reached"
    # deleting frees a slot
    assert (await client.delete("/customer/devices/pump-2", headers=admin)).status_code == 200
    assert (
        await client.post(
            "/customer/devices", headers=admin, json={"device_id": "pump-3", "site_id": "plant"}
        )
    ).status_code == 201


async def test_create_device_rejects_hostile_input(app, client, tenants) -> None:
    admin = await _admin(app, tenants[0])
    for body in (
        {"device_id": "a/b", "site_id": "s"},
        {"device_id": "x", "site_id": "s", "tenant_id": "tenant-b"},  # tenant never from the body
        {"device_id": "x", "site_id": "s", "metadata": {"blob": "x" * 20000}},
        {"device_id": "x", "site_id": "s", "tags": ["t"] * 51},
        {"device_id": "x", "site_id": "s", "latitude": 91},
        {"device_id": "x" * 200, "site_id": "s"},
    ):
        response = await client.post("/customer/devices", headers=admin, json=body)
        assert response.status_code == 422, body
    junk = await client.post(
        "/customer/devices", headers={**admin, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert junk.status_code == 422


async def test_update_tags_decommission_and_delete(app, client, tenants) -> None:
    admin = await _admin(app, tenants[0])
    await client.post("/customer/devices", headers=admin, json={"device_id": "d1", "site_id": "s1"})
    patched = await client.patch(
        "/customer/devices/d1",
        headers=admin,
        json={"latitude": 48.1, "longitude": 11.5, "site_id": "s2", "metadata": {"a": 1}},
    )
    assert patched.status_code == 200
    device = patched.json()["device"]
    assert (
        device["location_source"] == "manual" and device["site_id"] == "s2" and device["metadata"] == {"a": 1}
    )
    assert (await client.patch("/customer/devices/d1", headers=admin, json={})).status_code == 400

    assert (await client.put("/customer/devices/d1/tags", headers=admin, json={"tags": [" x ", "y"]})).json()[
        "tags"
    ] == ["x", "y"]
    assert (await client.post("/customer/devices/d1/tags/z", headers=admin)).json()["tags"] == ["x", "y", "z"]
    assert (await client.delete("/customer/devices/d1/tags/x", headers=admin)).json()["tags"] == ["y", "z"]
    assert (await client.get("/customer/tags", headers=admin)).json()["tags"] == ["y", "z"]

    new_token = await client.post("/customer/devices/d1/provision-token", headers=admin)
    assert new_token.status_code == 200 and len(new_token.json()["provision_token"]) >= 43

    decommissioned = await client.patch("/customer/devices/d1/decommission", headers=admin)
    assert decommissioned.status_code == 200 and decommissioned.json()["decommissioned_at"]
    assert (await client.patch("/customer/devices/d1/decommission", headers=admin)).status_code == 409
    listed = (await client.get("/customer/devices", headers=admin)).json()
    assert listed["total"] == 0
    assert (
        await client.get("/customer/devices", headers=admin, params={"include_decommissioned": True})
    ).json()["total"] == 1

    assert (await client.delete("/customer/devices/d1", headers=admin)).json() == {
        "device_id": "d1",
        "status": "deleted",
        "decommissioned_at": None,
    }
    assert (await client.get("/customer/devices/d1", headers=admin)).status_code == 404
    assert (await client.delete("/customer/devices/d1", headers=admin)).status_code == 404


async def test_device_api_tokens(app, client, tenants, pool) -> None:
    admin = await _admin(app, tenants[0])
    await client.post("/customer/devices", headers=admin, json={"device_id": "gw", "site_id": "s1"})
    first = (
        await client.post("/customer/devices/gw/tokens/rotate", headers=admin, json={"label": "v1"})
    ).json()
    second = await client.post("/customer/devices/gw/tokens/rotate", headers=admin)
    assert second.status_code == 201
    tokens = (await client.get("/customer/devices/gw/tokens", headers=admin)).json()
    assert tokens["total"] == 1 and tokens["tokens"][0]["client_id"] == second.json()["client_id"]
    assert "password" not in tokens["tokens"][0] and first["client_id"] != second.json()["client_id"]
    token_id = tokens["tokens"][0]["id"]
    assert (await client.delete(f"/customer/devices/gw/tokens/{token_id}", headers=admin)).status_code == 204
    assert (await client.delete(f"/customer/devices/gw/tokens/{token_id}", headers=admin)).status_code == 404
    assert (await client.delete("/customer/devices/gw/tokens/not-a-uuid", headers=admin)).status_code == 422


async def test_csv_import_reports_each_row(app, client, pool) -> None:
    await make_tenant(pool, "imp", device_limit=3)
    admin = await _admin(app, "imp")
    csv = (
        "name,device_type,site_id,tags\n"
        'Boiler 1,temperature,hall,"a,b"\n'
        ",temperature,hall,\n"  # no name, no device_id
        "Boiler 2,temperature,,\n"  # default site
        "Boiler 3,temperature,hall,\n"
        "Boiler 4,temperature,hall,\n"  # over the device limit of 3
    )
    response = await client.post(
        "/customer/devices/import", headers=admin, files={"file": ("d.csv", csv.encode())}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["total"], result["imported"], result["failed"]) == (5, 3, 2)
    statuses = [(r["row"], r["status"]) for r in result["results"]]
    assert statuses == [(1, "ok"), (2, "error"), (3, "ok"), (4, "ok"), (5, "error")]
    assert (
        result["results"][0]["device_id"].startswith("BOILER-1-") and result["results"][0]["provision_token"]
    )
    devices = (await client.get("/customer/devices", headers=admin)).json()["devices"]
    assert {d["site_id"] for d in devices} == {"hall", "default-site"}
    assert any(d["tags"] == ["a", "b"] for d in devices)


async def test_csv_import_refuses_bad_files(app, client, tenants) -> None:
    admin = await _admin(app, tenants[0])
    cases = [
        (b"\xff\xfe\x00bad", 400),
        (b"colour,size\nred,1\n", 400),
        (b"name\n" + b"x\n" * 501, 400),
        (b"name\n" + b"x" * (1024 * 1024 + 10), 413),
    ]
    for content, status in cases:
        response = await client.post(
            "/customer/devices/import", headers=admin, files={"file": ("d.csv", content)}
        )
        assert response.status_code == status, (content[:20], response.text)
    assert (await client.post("/customer/devices/import", headers=admin)).status_code == 422


async def test_sites_and_groups(app, client, tenants) -> None:
    admin = await _admin(app, tenants[0])
    assert (
        await client.post("/customer/sites", headers=admin, json={"site_id": "hq", "name": "HQ"})
    ).status_code == 201
    assert (
        await client.post("/customer/sites", headers=admin, json={"site_id": "hq", "name": "HQ"})
    ).status_code == 409
    await client.post("/customer/devices", headers=admin, json={"device_id": "d1", "site_id": "hq"})
    site = (await client.get("/customer/sites/hq", headers=admin)).json()
    assert site["device_count"] == 1 and site["offline_count"] == 1
    assert (await client.patch("/customer/sites/hq", headers=admin, json={"location": "Berlin"})).json()[
        "location"
    ] == "Berlin"
    assert (await client.delete("/customer/sites/hq", headers=admin)).status_code == 409
    assert (await client.get("/customer/sites", headers=admin)).json()["total"] == 1

    group = await client.post("/customer/device-groups", headers=admin, json={"name": "Boilers"})
    assert group.status_code == 201
    gid = group.json()["group_id"]
    assert (await client.put(f"/customer/device-groups/{gid}/devices/d1", headers=admin)).json()[
        "member_count"
    ] == 1
    assert (await client.get(f"/customer/device-groups/{gid}/devices", headers=admin)).json()[
        "device_ids"
    ] == ["d1"]
    assert (
        await client.put(f"/customer/device-groups/{gid}/devices/ghost", headers=admin)
    ).status_code == 404
    assert (await client.patch(f"/customer/device-groups/{gid}", headers=admin, json={"name": "B"})).json()[
        "name"
    ] == "B"
    assert (await client.delete(f"/customer/device-groups/{gid}/devices/d1", headers=admin)).json()[
        "member_count"
    ] == 0
    assert (await client.delete(f"/customer/device-groups/{gid}", headers=admin)).status_code == 204
    assert (await client.get(f"/customer/device-groups/{gid}", headers=admin)).status_code == 404
