"""The provisioning admin API: key check, tenants, devices, activation, rotation, revocation, limits."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from pulse.api.app import create_admin_app
from pulse.db.tx import operator_tx
from pulse.provisioning.tokens import secret_matches

KEY = "test-admin-key-0123456789"


@pytest.fixture
async def admin(settings, pool):
    app = create_admin_app(settings, pool, KEY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"X-Admin-Key": KEY}
    ) as client:
        yield client


async def _tenant(admin, tenant_id: str = "acme", device_limit: int = 10) -> dict:
    response = await admin.post(
        "/api/admin/tenants", json={"tenant_id": tenant_id, "name": "Acme", "device_limit": device_limit}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _device(admin, device_id: str, tenant_id: str = "acme") -> httpx.Response:
    return await admin.post(
        "/api/admin/devices", json={"tenant_id": tenant_id, "device_id": device_id, "site_id": "hq"}
    )


@pytest.mark.parametrize("headers", [{}, {"X-Admin-Key": "wrong-key-0123456789"}, {"X-Admin-Key": ""}])
async def test_admin_key_required(admin, headers) -> None:
    admin.headers.pop("X-Admin-Key")
    response = await admin.get("/api/admin/devices", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_create_tenant_with_main_subscription(admin, pool) -> None:
    body = await _tenant(admin, device_limit=25)
    assert body["subscription_id"].startswith("SUB-")
    async with operator_tx(pool, "test") as conn:
        sub = await conn.fetchrow("SELECT * FROM subscriptions WHERE tenant_id = 'acme'")
    assert (sub["subscription_type"], sub["status"], sub["device_limit"]) == ("MAIN", "ACTIVE", 25)
    again = await admin.post("/api/admin/tenants", json={"tenant_id": "acme", "name": "x", "device_limit": 1})
    assert (again.status_code, again.json()["error"]) == (409, "tenant_exists")


@pytest.mark.parametrize("tenant_id", ["Acme", "-acme", "a/b", "x" * 65, ""])
async def test_tenant_id_is_validated(admin, tenant_id: str) -> None:
    response = await admin.post(
        "/api/admin/tenants", json={"tenant_id": tenant_id, "name": "x", "device_limit": 1}
    )
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")


async def test_activation_flow(admin, pool) -> None:
    await _tenant(admin)
    created = (await _device(admin, "sensor-1")).json()
    assert created["activation_code"] and created["expires_at"]
    activation = {"tenant_id": "acme", "device_id": "sensor-1", "activation_code": created["activation_code"]}
    wrong = await admin.post("/api/device/activate", json=activation | {"activation_code": "guess"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_activation_code")
    ok = await admin.post("/api/device/activate", json=activation)
    assert ok.status_code == 200
    token = ok.json()["provision_token"]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    async with operator_tx(pool, "test") as conn:
        stored = await conn.fetchval(
            "SELECT provision_token_hash FROM device_registry WHERE device_id = 'sensor-1'"
        )
    assert secret_matches(token, stored) and token not in stored
    used = await admin.post("/api/device/activate", json=activation)
    assert (used.status_code, used.json()["error"]) == (400, "activation_code_used")


async def test_expired_activation_code(admin, pool) -> None:
    await _tenant(admin)
    created = (await _device(admin, "sensor-1")).json()
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE device_activation SET expires_at = now() - interval '1 second'")
    response = await admin.post(
        "/api/device/activate",
        json={"tenant_id": "acme", "device_id": "sensor-1", "activation_code": created["activation_code"]},
    )
    assert (response.status_code, response.json()["error"]) == (400, "activation_code_expired")


async def test_rotate_and_revoke(admin, pool) -> None:
    await _tenant(admin)
    code = (await _device(admin, "sensor-1")).json()["activation_code"]
    first = (
        await admin.post(
            "/api/device/activate",
            json={"tenant_id": "acme", "device_id": "sensor-1", "activation_code": code},
        )
    ).json()["provision_token"]
    rotated = await admin.post("/api/admin/devices/acme/sensor-1/rotate-token")
    second = rotated.json()["new_provision_token"]
    async with operator_tx(pool, "test") as conn:
        stored = await conn.fetchval(
            "SELECT provision_token_hash FROM device_registry WHERE device_id = 'sensor-1'"
        )
        history = await conn.fetch("SELECT revoked_at, reason FROM device_token_history ORDER BY id")
    assert secret_matches(second, stored) and not secret_matches(first, stored)
    assert [h["reason"] for h in history] == ["ROTATED", None]
    revoked = await admin.post("/api/admin/devices/acme/sensor-1/revoke")
    assert revoked.json() == {"ok": True}
    listed = (await admin.get("/api/admin/devices", params={"tenant_id": "acme"})).json()
    assert listed["count"] == 1
    assert listed["data"][0] | {"provisioned_at": None} == {
        "tenant_id": "acme", "device_id": "sensor-1", "site_id": "hq", "status": "REVOKED",
        "subscription_id": listed["data"][0]["subscription_id"], "provisioned_at": None,
        "fw_version": None, "token_set": True,
    }  # fmt: skip
    missing = await admin.post("/api/admin/devices/acme/nope/revoke")
    assert (missing.status_code, missing.json()["error"]) == (404, "device_not_found")


async def test_device_limit_on_create_and_reactivation(admin, pool) -> None:
    await _tenant(admin, device_limit=2)
    assert (await _device(admin, "d1")).status_code == 201
    assert (await _device(admin, "d2")).status_code == 201
    full = await _device(admin, "d3")
    assert full.status_code == 409
    assert full.json()["error"] == "device_limit_reached"
    assert "(2/2)" in full.json()["detail"]
    await admin.post("/api/admin/devices/acme/d1/revoke")  # frees a slot
    assert (await _device(admin, "d3")).status_code == 201
    # d1 coming back needs a slot again: re-registering it is refused while the subscription is full.
    again = await _device(admin, "d1")
    assert again.status_code == 409
    async with operator_tx(pool, "test") as conn:
        count = await conn.fetchval("SELECT active_device_count FROM subscriptions WHERE tenant_id = 'acme'")
    assert count == 2


async def test_concurrent_creates_never_exceed_the_limit(admin) -> None:
    await _tenant(admin, device_limit=3)
    responses = await asyncio.gather(*(_device(admin, f"d{i}") for i in range(8)))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 5


async def test_no_usable_subscription(admin, pool) -> None:
    await _tenant(admin)
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE subscriptions SET status = 'SUSPENDED'")
    response = await _device(admin, "d1")
    assert (response.status_code, response.json()["error"]) == (403, "no_subscription")


async def test_unknown_tenant(admin) -> None:
    response = await _device(admin, "d1", tenant_id="nobody")
    assert (response.status_code, response.json()["error"]) == (404, "tenant_not_found")


def _bulk(count: int, prefix: str = "b", **extra) -> list[dict]:
    return [{"device_id": f"{prefix}{i}", "site_id": "hq", **extra} for i in range(count)]


async def test_bulk_provisioning_needs_the_key_and_bounds_its_list(admin) -> None:
    await _tenant(admin)
    unkeyed = await admin.post(
        "/api/admin/devices/bulk",
        json={"tenant_id": "acme", "devices": _bulk(1)},
        headers={"X-Admin-Key": "wrong-key-0123456789"},
    )
    assert unkeyed.status_code == 401
    for devices in ([], _bulk(1001), [{"device_id": "a/b", "site_id": "hq"}]):
        response = await admin.post("/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": devices})
        assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
    twice = await admin.post(
        "/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": _bulk(2) + _bulk(1)}
    )
    assert (twice.status_code, twice.json()["error"]) == (422, "duplicate_device")
    listed = (await admin.get("/api/admin/devices", params={"tenant_id": "acme"})).json()
    assert listed["count"] == 0


async def test_bulk_provisioning_is_all_or_nothing_under_the_device_limit(admin, pool) -> None:
    await _tenant(admin, device_limit=5)
    assert (await _device(admin, "single")).status_code == 201
    over = await admin.post("/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": _bulk(5)})
    assert (over.status_code, over.json()["error"]) == (409, "device_limit_reached")
    assert "b4" in over.json()["detail"]
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM device_registry WHERE tenant_id = 'acme'") == 1
    ok = await admin.post("/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": _bulk(4)})
    assert ok.status_code == 201, ok.text
    # Re-registering the same devices takes no new slot and issues new tokens.
    again = await admin.post("/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": _bulk(4)})
    assert again.status_code == 201, again.text
    old = {d["device_id"]: d["provision_token"] for d in ok.json()["devices"]}
    assert all(old[d["device_id"]] != d["provision_token"] for d in again.json()["devices"])
    async with operator_tx(pool, "test") as conn:
        count = await conn.fetchval("SELECT active_device_count FROM subscriptions WHERE tenant_id = 'acme'")
    assert count == 5
    unknown = await admin.post("/api/admin/devices/bulk", json={"tenant_id": "nobody", "devices": _bulk(1)})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "tenant_not_found")


async def test_bulk_tokens_work_for_http_ingest(admin, ingest_settings, pool) -> None:
    from pulse.api.app import create_app
    from pulse.api.routes import ingest as ingest_routes
    from pulse.ingest.pipeline import build_ingestor, wait_for_limits

    await _tenant(admin, device_limit=100)
    response = await admin.post(
        "/api/admin/devices/bulk",
        json={"tenant_id": "acme", "devices": _bulk(50, device_type="meter", fw_version="1.2")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 50 and body["broker_url"] == ingest_settings.mqtt_url
    first = body["devices"][0]
    assert first["mqtt_username"] == first["mqtt_client_id"] == "acme/b0"
    ingestor = build_ingestor(ingest_settings, pool, "mqtt")
    await wait_for_limits(ingestor)
    writer = asyncio.create_task(ingestor.writer.run())
    api = create_app(ingest_settings, pool)
    ingest_routes.mount(api, ingestor)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://test") as http:
            for device in body["devices"][:3] + body["devices"][-2:]:
                sent = await http.post(
                    f"/ingest/v1/tenant/acme/device/{device['device_id']}/telemetry",
                    json={"site_id": "hq", "metrics": {"t": 1.0}},
                    headers={"X-Provision-Token": device["provision_token"]},
                )
                assert sent.status_code == 202, sent.text
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM telemetry WHERE tenant_id = 'acme'") == 5
        fw = await conn.fetchval("SELECT fw_version FROM device_registry WHERE device_id = 'b7'")
    assert fw == "1.2"
