"""Issue 11 part 3: the login throttle reserves each attempt before the password is hashed, slows
guessing per (user, address) without locking anyone out, bounds concurrent hashing, and the token
endpoint has a per-address budget. Tenant admins cannot probe user names outside their tenant."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx

from pulse.identity import issuer as issuer_module
from tests.integration.api.helpers import authorize_params, bearer, csrf_from, login, make_user, pkce_pair


def _client_from(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url=app.state.settings.base_url)


async def _attempt(client: httpx.AsyncClient, username: str, password: str) -> int:
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    page = await client.get("/oauth/authorize", params=params)
    form = {**params, "csrf_token": csrf_from(page.text), "username": username, "password": password}
    return (await client.post("/oauth/authorize", data=form)).status_code


def _count_hashes(monkeypatch) -> list[int]:
    calls: list[int] = []
    verify = issuer_module.verify_password_async

    async def counted(stored, password):
        calls.append(1)
        return await verify(stored, password)

    monkeypatch.setattr(issuer_module, "verify_password_async", counted)
    return calls


async def test_a_concurrent_burst_is_throttled_at_the_limit(app, pool, tenants, monkeypatch) -> None:
    _, password = await make_user(pool, "burst-user", ["customer"], tenants[0])
    app.state.issuer._hashing = asyncio.Semaphore(64)  # this test is about the throttle, not the bound
    limit = app.state.issuer.limits.free_failures
    hashed = _count_hashes(monkeypatch)
    async with _client_from(app, "10.1.0.1") as client:
        guesses = [f"wrong-password-{i}" for i in range(29)] + [password]
        statuses = await asyncio.gather(*(_attempt(client, "burst-user", g) for g in guesses))
    assert len(hashed) <= limit, statuses
    assert statuses.count(429) >= len(guesses) - limit
    assert set(statuses) <= {303, 401, 429}


async def test_the_address_budget_holds_under_concurrency(app, pool, tenants, monkeypatch) -> None:
    issuer = app.state.issuer
    issuer._hashing = asyncio.Semaphore(128)
    issuer.limits = dataclasses.replace(issuer.limits, max_per_ip=20)
    hashed = _count_hashes(monkeypatch)
    async with _client_from(app, "10.1.0.2") as client:
        statuses = await asyncio.gather(*(_attempt(client, f"who-{i}", "x" * 12) for i in range(40)))
    assert statuses.count(429) == 20 and statuses.count(401) == 20
    assert len(hashed) == 20


async def test_password_hashing_is_bounded(app, pool, tenants, monkeypatch) -> None:
    """With every hashing slot taken, a login is answered 503 at once instead of queueing."""
    app.state.issuer._hashing = asyncio.Semaphore(1)
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(stored, password):
        started.set()
        await release.wait()
        return False

    monkeypatch.setattr(issuer_module, "verify_password_async", slow)
    async with _client_from(app, "10.1.0.3") as client:
        first = asyncio.create_task(_attempt(client, "someone", "x" * 12))
        await started.wait()
        async with asyncio.timeout(30):  # a guard against hanging, not a timing assertion
            second = await _attempt(client, "someone-else", "x" * 12)
        release.set()
        assert await first == 401
    assert second == 503


async def test_failures_from_one_address_do_not_lock_out_the_operator(app, pool, tenants) -> None:
    _, password = await make_user(pool, "root-op", ["operator-admin"], None)
    _, other_password = await make_user(pool, "b-user", ["customer"], tenants[1])
    async with _client_from(app, "10.1.0.4") as attacker:
        statuses = [await _attempt(attacker, name, "wrong-password-x") for name in ["root-op", "b-user"] * 8]
        assert 429 in statuses
        # The attacker's own address now waits, even with the right password.
        assert await _attempt(attacker, "root-op", password) == 429
    async with _client_from(app, "10.1.0.5") as owner:
        assert (await login(owner, "root-op", password))["access_token"]
        assert (await login(owner, "b-user", other_password))["access_token"]


async def test_tenant_admin_cannot_learn_names_outside_the_tenant(app, client, pool, tenants) -> None:
    a, b = tenants
    _, op_password = await make_user(pool, "operator", ["operator"], None)
    await make_user(pool, "carol", ["customer"], b)
    admin = await bearer(app, ["tenant-admin"], a)
    answers = []
    for name in ["operator", "carol", "nobody-has-this"]:
        created = await client.post("/customer/users", headers=admin, json={"username": name})
        answers.append((created.status_code, created.json()["user"]["username"]))
    # The same answer whether the name exists elsewhere or nowhere: the name lives in the tenant.
    assert answers == [(201, f"{a}/operator"), (201, f"{a}/carol"), (201, f"{a}/nobody-has-this")]
    again = await client.post("/customer/users", headers=admin, json={"username": "carol"})
    assert again.status_code == 409 and again.json()["error"] == "username_taken"
    async with _client_from(app, "10.1.0.6") as operator:  # the real operator is untouched
        assert (await login(operator, "operator", op_password))["access_token"]


async def test_the_token_endpoint_is_rate_limited(app, pool, tenants) -> None:
    app.state.issuer.token_limit_per_ip = 3
    async with _client_from(app, "10.1.0.7") as client:
        statuses = []
        for _ in range(5):
            response = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
            )
            statuses.append(response.status_code)
        assert response.json()["error"] == "rate_limited"
    assert statuses == [401, 401, 401, 429, 429]
    async with _client_from(app, "10.1.0.8") as other:  # another address has its own budget
        response = await other.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
        )
        assert response.status_code == 401
