"""The broker HTTP hook (EMQX 5 http authenticator/authorizer), called exactly as EMQX calls it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pulse.api.app import create_app
from pulse.broker import access
from tests.factories import make_device, make_tenant
from tests.integration.api.helpers import client_for
from tests.integration.broker.helpers import SERVICE_SECRET

SECRET = "hook-secret-0123456789abcdef"
HEADERS = {"X-Pulse-Broker-Secret": SECRET, "Content-Type": "application/json"}
ALLOW = {"result": "allow", "is_superuser": False}
DENY = {"result": "deny", "is_superuser": False}


@pytest.fixture
async def hook(settings, pool):
    access.forget_accounts()
    await make_tenant(pool, "acme")
    await make_tenant(pool, "other")
    devices = {}
    for tenant, device in (("acme", "dev-a"), ("acme", "dev-b"), ("other", "dev-o")):
        d = await make_device(pool, tenant, device)
        await pool.execute(
            "UPDATE device_registry SET broker_password_hash = $3 WHERE tenant_id = $1 AND device_id = $2",
            tenant, device, access.hash_password(d.token),
        )  # fmt: skip
        devices[device] = d
    s = settings.model_copy(
        update={"broker_hook_secret": SecretStr(SECRET), "mqtt_auth": "none", "mqtt_service_secret": SERVICE_SECRET,
                "ingest_shared_group": "pulse-ingest"}
    )  # fmt: skip
    app = create_app(s, pool)
    async with client_for(app) as http:
        yield http, s, devices
    access.forget_accounts()


async def authn(http, username, password, clientid, headers=HEADERS):
    body = {"username": username, "password": password, "clientid": clientid}
    r = await http.post("/broker/auth", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def authz(http, username, clientid, action, topic):
    body = {"username": username, "clientid": clientid, "topic": topic, "action": action}
    r = await http.post("/broker/acl", headers=HEADERS, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_device_login(hook, pool):
    http, _, devices = hook
    a = devices["dev-a"]
    assert await authn(http, "acme/dev-a", a.token, "acme/dev-a") == ALLOW
    assert await authn(http, "acme/dev-a", "wrong", "acme/dev-a") == DENY
    assert await authn(http, "acme/dev-a", "", "acme/dev-a") == DENY
    assert await authn(http, "acme/dev-a", a.token, "acme/dev-b") == DENY  # client id bound
    assert await authn(http, "acme/dev-a", a.token, "pulse-ingest-x") == DENY
    assert await authn(http, "acme/nope", a.token, "acme/nope") == DENY
    assert await authn(http, None, None, "anything") == DENY  # anonymous devices off
    await pool.execute(
        "UPDATE device_registry SET status = 'REVOKED' WHERE tenant_id = 'acme' AND device_id = 'dev-a'"
    )
    assert await authn(http, "acme/dev-a", a.token, "acme/dev-a") == DENY
    assert (
        await authz(http, "acme/dev-a", "acme/dev-a", "publish", "tenant/acme/device/dev-a/telemetry") == DENY
    )


async def test_service_logins(hook):
    http, s, _ = hook
    for name in access.SERVICE_NAMES:
        username, password = f"pulse-{name}", access.service_password(s, name)
        assert await authn(http, username, password, f"pulse-{name}-host1") == ALLOW
        assert await authn(http, username, password + "x", f"pulse-{name}-host1") == DENY


async def test_device_topics(hook):
    http, _, _ = hook
    dev = ("acme/dev-a", "acme/dev-a")
    assert await authz(http, *dev, "publish", "tenant/acme/device/dev-a/telemetry") == ALLOW
    assert await authz(http, *dev, "publish", "tenant/acme/device/dev-b/telemetry") == DENY
    assert await authz(http, *dev, "publish", "tenant/other/device/dev-o/telemetry") == DENY
    assert await authz(http, *dev, "publish", "tenant/acme/device/dev-a/x/y") == DENY
    assert await authz(http, *dev, "publish", "tenant/acme/device/dev-a/+") == DENY
    assert await authz(http, *dev, "publish", "alerts/acme/x") == DENY
    assert await authz(http, *dev, "subscribe", "#") == DENY
    assert await authz(http, *dev, "subscribe", "tenant/acme/device/dev-a/commands/#") == ALLOW
    assert await authz(http, *dev, "subscribe", "tenant/acme/device/dev-a/commands/reboot") == ALLOW
    assert await authz(http, *dev, "subscribe", "tenant/acme/device/dev-b/commands/#") == DENY
    assert await authz(http, *dev, "subscribe", "tenant/acme/device/+/commands/#") == DENY
    assert await authz(http, *dev, "subscribe", "$share/pulse-ingest/tenant/+/device/+/+") == DENY
    assert (
        await authz(http, "acme/dev-a", "acme/dev-b", "publish", "tenant/acme/device/dev-a/telemetry") == DENY
    )
    assert await authz(http, *dev, "all", "tenant/acme/device/dev-a/telemetry") == DENY


async def test_services_topics(hook):
    http, s, _ = hook
    shared = access.ingest_subscription(s)
    assert shared == "$share/pulse-ingest/tenant/+/device/+/+"
    ingest, notify = ("pulse-ingest", "pulse-ingest-h"), ("pulse-notify", "pulse-notify-h")
    assert await authz(http, *ingest, "subscribe", shared) == ALLOW
    assert await authz(http, *ingest, "subscribe", "$share/other/tenant/+/device/+/+") == DENY
    assert await authz(http, *ingest, "subscribe", "#") == DENY
    assert await authz(http, *ingest, "publish", "tenant/acme/device/dev-a/telemetry") == DENY
    assert await authz(http, *notify, "subscribe", shared) == DENY
    assert await authz(http, *notify, "publish", "alerts/acme/site/dev") == ALLOW
    assert await authz(http, *notify, "publish", "tenant/acme/device/dev-a/telemetry") == DENY
    assert await authz(http, *notify, "subscribe", "alerts/#") == DENY
    assert await authz(http, "acme/dev-a", "acme/dev-a", "publish", "alerts/acme/site/dev") == DENY


async def test_anonymous_devices_when_enabled(hook, pool):
    _, s, _ = hook
    app = create_app(s.model_copy(update={"mqtt_anonymous_devices": True}), pool)
    async with client_for(app) as http:
        assert await authn(http, None, None, "sensor-17") == ALLOW
        assert await authn(http, "", "", "sensor-17") == ALLOW
        assert await authn(http, None, None, "pulse-ingest-h") == DENY  # never a service's or device's id
        assert await authn(http, None, None, "acme/dev-a") == DENY
        assert await authz(http, None, "sensor-17", "publish", "tenant/acme/device/dev-a/telemetry") == ALLOW
        assert await authz(http, None, "sensor-17", "publish", "alerts/acme/x") == DENY
        assert (
            await authz(http, None, "sensor-17", "subscribe", "tenant/acme/device/dev-a/commands/#") == DENY
        )
        assert await authz(http, None, "sensor-17", "subscribe", "#") == DENY


async def test_secret_required(hook, settings, pool):
    http, _, devices = hook
    body = {"username": "acme/dev-a", "password": devices["dev-a"].token, "clientid": "acme/dev-a"}
    for headers in ({}, {"X-Pulse-Broker-Secret": "wrong"}, {"X-Pulse-Broker-Secret": ""}):
        for path in ("/broker/auth", "/broker/acl"):
            r = await http.post(path, headers=headers, json=body)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized", r.text
    app = create_app(settings.model_copy(update={"broker_hook_secret": None}), pool)
    async with client_for(app) as plain:
        r = await plain.post("/broker/auth", headers=HEADERS, json=body)
        assert r.status_code == 404 and r.json()["error"] == "not_found", r.text


def test_topic_rules_are_the_dynsec_rules(settings):
    """The file and the hook read one table: every dynsec role is account_acls of its account."""
    s = settings.model_copy(update={"mqtt_service_secret": SERVICE_SECRET, "ingest_shared_group": "g"})
    roles = {r["rolename"]: [(a["acltype"], a["topic"]) for a in r["acls"]] for r in access.service_roles(s)}
    assert roles["pulse-ingest"] == access.account_acls(access.service_account("ingest"), s)
    assert roles[access.ANONYMOUS_GROUP] == access.account_acls(access.ANONYMOUS, s)
    role = access.device_role("acme", "dev-a")
    assert [(a["acltype"], a["topic"]) for a in role["acls"]] == access.account_acls(
        access.device_account("acme/dev-a", "acme", "dev-a")
    )


async def test_alert_readers(hook, pool):
    http, _, _ = hook
    name = access.alerts_username("acme")
    await pool.execute(
        "INSERT INTO tenant_broker_accounts (tenant_id, username, password_hash) VALUES ('acme', $1, $2)",
        name,
        access.hash_password("reader-password-0123456789"),
    )
    assert await authn(http, name, "reader-password-0123456789", name) == ALLOW
    assert await authn(http, name, "wrong", name) == DENY
    assert await authn(http, name, "reader-password-0123456789", "other-id") == DENY
    assert await authz(http, name, name, "subscribe", "alerts/acme/#") == ALLOW
    assert await authz(http, name, name, "subscribe", "alerts/other/#") == DENY
    assert await authz(http, name, name, "subscribe", "#") == DENY
    assert await authz(http, name, name, "publish", "alerts/acme/x") == DENY
    await pool.execute("UPDATE tenant_broker_accounts SET revoked_at = now() WHERE username = $1", name)
    assert await authn(http, name, "reader-password-0123456789", name) == DENY
