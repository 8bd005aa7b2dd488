"""The tenant lifecycle, enforced in one place for every kind of entry: the customer API, /api/v2, the
exports (which stream from a transaction of their own), the WebSocket, and the issuer's login, refresh
and client credentials. A deleted tenant gets nothing; a suspended tenant signs in and reads, and
every write gets 403 `tenant_suspended`."""

from __future__ import annotations

import contextlib
import json

import websockets

from pulse.db.tx import operator_tx
from pulse.identity import api_clients
from tests.integration.api.helpers import authorize_params, bearer, csrf_from, login, make_user, pkce_pair
from tests.integration.api.helpers import seed_resources as seed
from tests.integration.api.live_server import serve


async def _set_status(client, app, tenant: str, status: str) -> None:
    admin = await bearer(app, ["operator-admin"], None)
    if status == "DELETED":
        response = await client.delete(f"/operator/tenants/{tenant}", headers=admin)
    else:
        response = await client.patch(f"/operator/tenants/{tenant}", headers=admin, json={"status": status})
    assert response.status_code in (200, 204), response.text


async def _ws_close_code(address: str, headers: dict) -> int | None:
    token = headers["Authorization"].removeprefix("Bearer ")
    async with websockets.connect(f"ws://{address}/api/v2/ws") as ws:
        await ws.send(json.dumps({"action": "auth", "token": token}))
        with contextlib.suppress(websockets.ConnectionClosed):
            first = json.loads(await ws.recv())
            assert first["type"] == "hello"
            return None  # accepted
    return ws.close_code


async def _login_status(client, username: str, password: str) -> int:
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    page = await client.get("/oauth/authorize", params=params)
    form = {**params, "csrf_token": csrf_from(page.text), "username": username, "password": password}
    return (await client.post("/oauth/authorize", data=form)).status_code


async def _api_client(pool, tenant: str) -> tuple[str, str]:
    async with operator_tx(pool, "test") as conn:
        created = await api_clients.create_api_client(
            conn, name="script", tenant_id=tenant, role="tenant-admin", created_by="test"
        )
    return created.client_id, created.client_secret


def _entries(ids: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("GET", "/customer/devices"),
        ("GET", f"/customer/devices/{ids['device_id']}"),
        ("GET", "/api/v2/devices"),
        ("GET", f"/api/v2/devices/{ids['device_id']}"),
        ("GET", "/customer/export/devices"),
        ("GET", "/customer/export/alerts?format=json"),
        ("GET", "/customer/users"),
    ]


async def test_a_deleted_tenant_gets_nothing_anywhere(app, client, pool, tenants) -> None:
    tenant = tenants[0]
    ids = await seed(pool, tenant)
    _, password = await make_user(pool, "gone-user", ["tenant-admin"], tenant)
    tokens = await login(client, "gone-user", password)
    client_id, secret = await _api_client(pool, tenant)
    admin = await bearer(app, ["tenant-admin"], tenant)
    async with serve(app) as address:
        assert await _ws_close_code(address, admin) is None  # works before the deletion
        await _set_status(client, app, tenant, "DELETED")
        assert await _ws_close_code(address, admin) == 4003
    await app.state.live_hub.close()

    for method, url in _entries(ids):
        response = await client.request(method, url, headers=admin)
        assert response.status_code == 403, (url, response.status_code)
        assert response.json()["error"] == "tenant_unavailable", url
    write = await client.post("/customer/sites", headers=admin, json={"site_id": "s-new", "name": "New"})
    assert write.status_code == 403 and write.json()["error"] == "tenant_unavailable"

    assert await _login_status(client, "gone-user", password) == 403
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "pulse-ui",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 403 and refreshed.json()["error"] == "tenant_unavailable"
    credentials = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert credentials.status_code == 403 and credentials.json()["error"] == "tenant_unavailable"
    # A wrong password still gets the ordinary answer: the tenant check comes after the password.
    assert await _login_status(client, "gone-user", "not-the-password-at-all") == 401


async def test_a_suspended_tenant_reads_but_cannot_write(app, client, pool, tenants) -> None:
    tenant, other = tenants
    ids = await seed(pool, tenant)
    _, password = await make_user(pool, "paused-user", ["tenant-admin"], tenant)
    client_id, secret = await _api_client(pool, tenant)
    await _set_status(client, app, tenant, "SUSPENDED")
    admin = await bearer(app, ["tenant-admin"], tenant)

    for method, url in _entries(ids):
        response = await client.request(method, url, headers=admin)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
    writes = [
        ("POST", "/customer/sites", {"site_id": "s-new", "name": "New"}),
        ("PATCH", f"/customer/devices/{ids['device_id']}", {"notes": "x"}),
        ("PATCH", f"/customer/sites/{ids['site_id']}", {"name": "x"}),
        ("POST", "/customer/users", {"username": "newcomer"}),
    ]
    for method, url, body in writes:
        response = await client.request(method, url, headers=admin, json=body)
        assert response.status_code == 403, (url, response.status_code)
        assert response.json()["error"] == "tenant_suspended", url

    # Signing in and getting tokens still work; the other tenant is untouched.
    tokens = await login(client, "paused-user", password)
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "pulse-ui",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    credentials = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert credentials.status_code == 200
    async with serve(app) as address:
        assert await _ws_close_code(address, admin) is None
    await app.state.live_hub.close()
    other_admin = await bearer(app, ["tenant-admin"], other)
    created = await client.post("/customer/sites", headers=other_admin, json={"site_id": "s-b", "name": "B"})
    assert created.status_code == 201, created.text

    await _set_status(client, app, tenant, "ACTIVE")
    again = await client.post("/customer/sites", headers=admin, json={"site_id": "s-new", "name": "New"})
    assert again.status_code == 201, again.text
