"""The built-in issuer end to end: discovery, JWKS, the login page, PKCE, refresh rotation, reuse
detection, revocation, client credentials, rate limits and the CSRF check."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import jwt

from pulse.db.tx import operator_tx
from pulse.identity import api_clients
from tests.integration.api.helpers import (
    REDIRECT_URI,
    authorize_params,
    csrf_from,
    login,
    make_user,
    pkce_pair,
)


async def test_discovery_and_jwks(client, app) -> None:
    doc = (await client.get("/.well-known/openid-configuration")).json()
    base = app.state.settings.base_url
    assert doc["issuer"] == base
    assert doc["code_challenge_methods_supported"] == ["S256"]
    jwks = (await client.get(doc["jwks_uri"].removeprefix(base))).json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # no private parts


async def test_login_with_pkce_gives_tokens_with_the_expected_claims(client, app, pool, tenants) -> None:
    user, password = await make_user(pool, "alice", ["tenant-admin"], tenants[0])
    tokens = await login(client, "alice", password)
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and tokens["id_token"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["iss"] == app.state.settings.base_url
    assert claims["aud"] == "pulse-api"
    assert claims["sub"] == user.user_id
    assert claims["tenant_id"] == tenants[0]
    assert claims["realm_access"] == {"roles": ["tenant-admin"]}
    assert claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims["exp"] - claims["iat"] == app.state.settings.access_token_ttl_seconds
    me = await client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["tenant_id"] == tenants[0]


async def test_wrong_password_and_unknown_user_get_the_same_answer(client, pool, tenants) -> None:
    await make_user(pool, "bob", ["customer"], tenants[0])
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    answers = []
    for username in ("bob", "nobody-here"):
        page = await client.get("/oauth/authorize", params=params)
        form = {
            **params,
            "csrf_token": csrf_from(page.text),
            "username": username,
            "password": "wrong-password",
        }
        response = await client.post("/oauth/authorize", data=form)
        answers.append((response.status_code, "Invalid username or password." in response.text))
    assert answers == [(401, True), (401, True)]


async def test_login_page_escapes_what_it_echoes(client) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(challenge, state='"><script>alert(1)</script>')
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    # Escaped, and carried through unchanged (either spelling of the escaped quote is HTML).
    carried = re.search(r'name="state" value="([^"]*)"', page.text)
    assert carried and "&gt;&lt;script&gt;" in carried.group(1)
    assert html.unescape(carried.group(1)) == '"><script>alert(1)</script>'
    assert page.headers["x-frame-options"] == "DENY"


async def test_login_form_without_matching_csrf_cookie_is_refused(client, pool, tenants) -> None:
    _, password = await make_user(pool, "carol", ["customer"], tenants[0])
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    await client.get("/oauth/authorize", params=params)
    form = {**params, "csrf_token": "forged", "username": "carol", "password": password}
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


async def test_bad_authorization_requests_are_refused_without_redirect(client) -> None:
    _, challenge = pkce_pair()
    cases = [
        ({"client_id": "evil"}, "invalid_client"),
        ({"redirect_uri": "https://attacker.example/cb"}, "invalid_redirect_uri"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ]
    for override, error in cases:
        response = await client.get("/oauth/authorize", params=authorize_params(challenge, **override))
        assert response.status_code == 400, override
        assert response.json()["error"] == error
        assert "location" not in response.headers


async def _code(client, username: str, password: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = authorize_params(challenge)
    page = await client.get("/oauth/authorize", params=params)
    form = {**params, "csrf_token": csrf_from(page.text), "username": username, "password": password}
    response = await client.post("/oauth/authorize", data=form)
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0], verifier


async def test_code_needs_the_right_verifier_and_works_once(client, pool, tenants) -> None:
    _, password = await make_user(pool, "dave", ["customer"], tenants[0])
    code, verifier = await _code(client, "dave", password)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": "pulse-ui",
    }
    wrong = await client.post("/oauth/token", data={**exchange, "code_verifier": pkce_pair()[0]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    ok = await client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert ok.status_code == 200
    again = await client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_reuse_revokes_the_family(client, pool, tenants) -> None:
    _, password = await make_user(pool, "erin", ["customer"], tenants[0])
    first = (await login(client, "erin", password))["refresh_token"]
    refresh = {"grant_type": "refresh_token", "client_id": "pulse-ui"}
    second = await client.post("/oauth/token", data={**refresh, "refresh_token": first})
    assert second.status_code == 200
    second_token = second.json()["refresh_token"]
    assert second_token != first
    # The first token comes back: a thief has a copy. Both it and its successor stop working.
    reused = await client.post("/oauth/token", data={**refresh, "refresh_token": first})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    after = await client.post("/oauth/token", data={**refresh, "refresh_token": second_token})
    assert after.status_code == 400


async def test_revocation_and_logout_end_the_session(client, pool, tenants) -> None:
    _, password = await make_user(pool, "frank", ["customer"], tenants[0])
    token = (await login(client, "frank", password))["refresh_token"]
    assert (await client.post("/oauth/revoke", data={"token": token})).status_code == 200
    refused = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": "pulse-ui", "refresh_token": token}
    )
    assert refused.status_code == 400
    token = (await login(client, "frank", password))["refresh_token"]
    out = await client.get(
        "/oauth/logout", params={"refresh_token": token, "post_logout_redirect_uri": REDIRECT_URI}
    )
    assert out.status_code == 303 and out.headers["location"] == REDIRECT_URI
    bad = await client.get("/oauth/logout", params={"post_logout_redirect_uri": "https://evil.example/"})
    assert bad.status_code == 400


async def test_disabled_user_cannot_refresh(client, pool, tenants) -> None:
    user, password = await make_user(pool, "gina", ["customer"], tenants[0])
    token = (await login(client, "gina", password))["refresh_token"]
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE users SET status = 'DISABLED' WHERE user_id = $1::uuid", user.user_id)
    refused = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "client_id": "pulse-ui", "refresh_token": token}
    )
    assert refused.status_code == 400


async def test_login_is_rate_limited_per_user(client, pool, tenants, app) -> None:
    _, password = await make_user(pool, "hank", ["customer"], tenants[0])
    limit = app.state.settings.login_max_failures_per_user
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    statuses = []
    for attempt in range(limit + 1):
        page = await client.get("/oauth/authorize", params=params)
        pw = password if attempt == limit else "wrong-password"
        form = {**params, "csrf_token": csrf_from(page.text), "username": "hank", "password": pw}
        statuses.append((await client.post("/oauth/authorize", data=form)).status_code)
    # Even the right password is refused once the user is locked for the window.
    assert statuses == [401] * limit + [429]


async def test_login_is_rate_limited_per_ip(client, pool, tenants, app) -> None:
    app.state.issuer.limits = app.state.issuer.limits.__class__(100, 3, app.state.issuer.limits.window)
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    statuses = []
    for attempt in range(4):
        page = await client.get("/oauth/authorize", params=params)
        form = {**params, "csrf_token": csrf_from(page.text), "username": f"u{attempt}", "password": "x" * 12}
        statuses.append((await client.post("/oauth/authorize", data=form)).status_code)
    assert statuses == [401, 401, 401, 429]


async def test_service_accounts_cannot_use_the_login_page(client, pool, tenants) -> None:
    async with operator_tx(pool, "test") as conn:
        created = await api_clients.create_api_client(
            conn, name="exporter", tenant_id=tenants[0], role="customer", created_by="test"
        )
    _, challenge = pkce_pair()
    params = authorize_params(challenge)
    page = await client.get("/oauth/authorize", params=params)
    form = {
        **params,
        "csrf_token": csrf_from(page.text),
        "username": created.user.username,
        "password": "x" * 20,
    }
    assert (await client.post("/oauth/authorize", data=form)).status_code == 401


async def test_client_credentials(client, pool, tenants) -> None:
    async with operator_tx(pool, "test") as conn:
        created = await api_clients.create_api_client(
            conn, name="exporter", tenant_id=tenants[0], role="customer", created_by="test"
        )
    ok = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created.client_id, created.client_secret),
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["tenant_id"] == tenants[0] and claims["realm_access"]["roles"] == ["customer"]
    devices = await client.get("/api/v2/devices", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert devices.status_code == 200
    wrong = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": created.client_id, "client_secret": "nope"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    async with operator_tx(pool, "test") as conn:
        await api_clients.revoke_api_client(conn, created.client_id)
    revoked = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created.client_id, created.client_secret),
    )
    assert revoked.status_code == 401


async def test_token_endpoint_rejects_junk(client) -> None:
    for data in (
        {},
        {"grant_type": "password"},
        {"grant_type": "authorization_code"},
        {"grant_type": "x" * 5000},
    ):
        response = await client.post("/oauth/token", data=data)
        assert 400 <= response.status_code < 500, data
        assert "error" in response.json()
    bad_basic = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!!"}
    )
    assert bad_basic.status_code == 401
