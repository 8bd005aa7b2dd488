"""Helpers for API tests: users, bearer tokens from the app's own issuer, the login flow, seeded resources."""

from __future__ import annotations

import base64
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from pulse.db.tx import operator_tx
from pulse.identity.pkce import s256
from pulse.identity.tokens import access_claims
from pulse.identity.users import User, create_user

REDIRECT_URI = "http://127.0.0.1:9876/callback"


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=app.state.settings.base_url)


async def make_user(
    pool, username: str, roles: list[str], tenant_id: str | None, password: str | None = None
):
    password = password or secrets.token_urlsafe(16)
    async with operator_tx(pool, "test") as conn:
        user = await create_user(
            conn,
            username=username,
            password=password,
            roles=roles,
            tenant_id=tenant_id,
            email=f"{username}@example.com",
        )
    return user, password


async def bearer(app, roles: list[str], tenant_id: str | None, *, sub: str | None = None, **override) -> dict:
    """Authorization header with a token signed by the app's built-in issuer (no login round trip)."""
    issuer = app.state.issuer
    user = User(
        user_id=sub or f"user-{'-'.join(roles)}-{tenant_id or 'ops'}",
        tenant_id=tenant_id,
        username=f"{'-'.join(roles)}@{tenant_id or 'ops'}",
        email=None,
        display_name=None,
        roles=tuple(roles),
        status="ACTIVE",
        kind="person",
    )
    claims = access_claims(
        user, issuer=issuer.issuer, audience=issuer.audience, client_id="pulse-ui", scope="openid", ttl=300
    )
    claims.update(override)
    key = await issuer.keys.signing_key()
    token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    return {"Authorization": f"Bearer {token}"}


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return verifier, s256(verifier)


def authorize_params(challenge: str, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": "pulse-ui",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def csrf_from(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict:
    """The whole authorization-code + PKCE flow as a browser and a console would run it."""
    verifier, challenge = pkce_pair()
    params = authorize_params(challenge)
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    form = {**params, "csrf_token": csrf_from(page.text), "username": username, "password": password}
    submitted = await client.post("/oauth/authorize", data=form)
    assert submitted.status_code == 303, submitted.text
    query = parse_qs(urlsplit(submitted.headers["location"]).query)
    assert query["state"] == [params["state"]]
    tokens = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": "pulse-ui",
        },
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def now() -> int:
    return int(time.time())


async def seed_resources(pool, tenant_id: str, suffix: str = "1") -> dict[str, str]:
    """One of everything a tenant can own, written directly; returns the ids by path-parameter name.
    Ids end in `suffix`, so two tenants seeded with different suffixes share no id."""
    device_id, site_id, group_id, tag = f"dev-{suffix}", f"site-{suffix}", f"grp-{suffix}", f"floor-{suffix}"
    from pulse.provisioning.devices import register_device

    async with operator_tx(pool, "test") as conn:
        await register_device(
            conn, tenant_id, device_id, site_id, fields={"device_type": "sensor"}, credential="none"
        )
        await conn.execute(
            """INSERT INTO device_state (tenant_id, device_id, site_id, status, last_seen_at, state)
               VALUES ($1, $2, $3, 'ONLINE', now(), '{"temp_c": 21.5, "battery_pct": 12}')""",
            tenant_id,
            device_id,
            site_id,
        )
        await conn.execute(
            "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES ($1, $2, $3)",
            tenant_id,
            device_id,
            tag,
        )
        await conn.execute(
            "INSERT INTO device_groups (tenant_id, group_id, name) VALUES ($1, $2, 'Group')",
            tenant_id,
            group_id,
        )
        await conn.execute(
            "INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES ($1, $2, $3)",
            tenant_id,
            group_id,
            device_id,
        )
        token_id = await conn.fetchval(
            """INSERT INTO device_api_tokens (tenant_id, device_id, client_id, token_hash)
               VALUES ($1, $2, $3, 'h') RETURNING id""",
            tenant_id,
            device_id,
            f"client-{tenant_id}-{device_id}",
        )
        account_id = await conn.fetchval(
            """INSERT INTO tenant_broker_accounts (tenant_id, username, password_hash)
               VALUES ($1, $2, 'h') RETURNING id""",
            tenant_id,
            f"alerts:{tenant_id}:{suffix}",
        )
        alert_id = await conn.fetchval(
            """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, summary, severity)
               VALUES ($1, $2, $3, 'THRESHOLD', 'fp-' || $3, 'too hot', 4) RETURNING id""",
            tenant_id,
            site_id,
            device_id,
        )
        rule_id = await conn.fetchval(
            """INSERT INTO alert_rules (tenant_id, name, metric_name, operator, threshold)
               VALUES ($1, 'Hot', 'temp_c', 'GT', 50) RETURNING rule_id""",
            tenant_id,
        )
        window_id = await conn.fetchval(
            """INSERT INTO alert_maintenance_windows (tenant_id, window_id, name, starts_at)
               VALUES ($1, $2, 'Upgrade', now()) RETURNING window_id""",
            tenant_id,
            f"mw-{suffix}",
        )
        user_id = await conn.fetchval(
            """INSERT INTO users (tenant_id, username, password_hash, roles)
               VALUES ($1, 'viewer-' || $1, 'not-a-hash', '{customer}') RETURNING user_id""",
            tenant_id,
        )
        # Notifications. Targets are TEST-NET addresses: a stray test send is refused at once, offline.
        integration_id = await conn.fetchval(
            """INSERT INTO integrations (tenant_id, name, type, config_json)
               VALUES ($1, 'Hook', 'webhook', $2) RETURNING integration_id::text""",
            tenant_id,
            {"url": f"https://192.0.2.10/hook-{suffix}", "secret": "seed-secret-1234"},
        )
        route_id = await conn.fetchval(
            """INSERT INTO integration_routes (tenant_id, integration_id, name, deliver_on)
               VALUES ($1, $2, 'All', '{OPEN,CLOSED}') RETURNING route_id::text""",
            tenant_id,
            integration_id,
        )
        channel_id = await conn.fetchval(
            """INSERT INTO notification_channels (tenant_id, name, channel_type, config)
               VALUES ($1, 'Ops hook', 'webhook', $2) RETURNING channel_id""",
            tenant_id,
            {"url": f"https://192.0.2.11/hook-{suffix}"},
        )
        routing_rule_id = await conn.fetchval(
            """INSERT INTO notification_routing_rules (tenant_id, channel_id, min_severity)
               VALUES ($1, $2, 3) RETURNING rule_id""",
            tenant_id,
            channel_id,
        )
        event = {
            "event_id": 1,
            "tenant_id": tenant_id,
            "alert_id": alert_id,
            "event": "OPEN",
            "status": "OPEN",
            "site_id": site_id,
            "device_id": device_id,
            "alert_type": "THRESHOLD",
            "severity": 4,
            "summary": "too hot",
            "created_at": "2024-01-01T00:00:00+00:00",
        }
        job_id = await conn.fetchval(
            """INSERT INTO delivery_jobs (tenant_id, alert_id, integration_id, route_id, event, status, attempts,
                                          last_error, payload_json)
               VALUES ($1, $2, $3::uuid, $4::uuid, 'OPEN', 'FAILED', 1, 'server_error', $5) RETURNING job_id""",
            tenant_id,
            alert_id,
            integration_id,
            route_id,
            {"kind": "webhook", "event": event},
        )
        await conn.execute(
            """INSERT INTO delivery_attempts (tenant_id, job_id, attempt_no, ok, http_status, reason, latency_ms,
                                              error, finished_at)
               VALUES ($1, $2, 1, false, 503, 'server_error', 12, 'server_error: http_503', now())""",
            tenant_id,
            job_id,
        )
        await conn.execute(
            """INSERT INTO notification_log (tenant_id, channel_id, alert_id, event, routing_rule_id)
               VALUES ($1, $2, $3, 'OPEN', $4)""",
            tenant_id,
            channel_id,
            alert_id,
            routing_rule_id,
        )
        # On-call: a schedule with one layer rotating the seeded user, and an override.
        schedule_id = await conn.fetchval(
            "INSERT INTO oncall_schedules (tenant_id, name) VALUES ($1, 'Primary') RETURNING schedule_id",
            tenant_id,
        )
        layer_id = await conn.fetchval(
            """INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, start_date, participants)
               VALUES ($1, $2, 'Layer 1', 0, 'daily', current_date - 7, ARRAY[$3::uuid]) RETURNING layer_id""",
            tenant_id,
            schedule_id,
            user_id,
        )
        override_id = await conn.fetchval(
            """INSERT INTO oncall_overrides (tenant_id, schedule_id, user_id, start_at, end_at)
               VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '2 days') RETURNING override_id""",
            tenant_id,
            schedule_id,
            user_id,
        )
        oncall_ids = {
            "schedule_id": str(schedule_id),
            "layer_id": str(layer_id),
            "override_id": str(override_id),
        }
    # Escalation and people: a policy naming the seeded person and channel, a contact method of that
    # person, a message in the local outbox.
    async with operator_tx(pool, "test") as conn:
        policy_id = await conn.fetchval(
            "INSERT INTO escalation_policies (tenant_id, name) VALUES ($1, 'Page ops') RETURNING policy_id",
            tenant_id,
        )
        await conn.execute(
            "INSERT INTO escalation_levels (tenant_id, policy_id, level_number, delay_minutes, targets)"
            " VALUES ($1, $2, 1, 5, $3)",
            tenant_id,
            policy_id,
            [{"type": "user", "id": str(user_id)}, {"type": "channel", "id": channel_id}],
        )
        method_id = await conn.fetchval(
            "INSERT INTO user_contact_methods (tenant_id, user_id, kind, email)"
            " VALUES ($1, $2, 'email', $3) RETURNING method_id",
            tenant_id,
            user_id,
            f"pager-{suffix}@example.com",
        )
        message_id = await conn.fetchval(
            "INSERT INTO mail_outbox (tenant_id, job_id, to_address, subject, body_text)"
            " VALUES ($1, $2, $3, 'Alert too hot', 'too hot') RETURNING id",
            tenant_id,
            job_id,
            f"pager-{suffix}@example.com",
        )
    people = {"policy_id": str(policy_id), "method_id": str(method_id), "message_id": str(message_id)}
    return {
        **people,
        "device_id": device_id,
        "site_id": site_id,
        "group_id": group_id,
        "tag": tag,
        "token_id": str(token_id),
        "account_id": str(account_id),
        "alert_id": str(alert_id),
        "rule_id": rule_id,
        "window_id": window_id,
        "user_id": str(user_id),
        "tenant_id": tenant_id,
        "integration_id": integration_id,
        "route_id": route_id,
        "channel_id": str(channel_id),
        "routing_rule_id": str(routing_rule_id),
        "job_id": str(job_id),
        **oncall_ids,
    }
