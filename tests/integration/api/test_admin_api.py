"""The provisioning admin API: key check, tenants, devices, activation, rotation, revocation, limits."""

from __future__ import annotations

import asyncio

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
