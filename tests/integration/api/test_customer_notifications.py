"""/customer notification API: integrations and their routes, notification channels and routing rules,
test sends, delivery jobs (re-drive) and the notification log."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

import asyncpg
import httpx
import pytest

from pulse import crypto
from pulse.notify import configs, signing, ssrf
from pulse.notify.configs import MASK
from pulse.notify.dispatch import Dispatcher
from pulse.notify.worker import RetryPolicy, Worker
from tests.conftest import TEST_SECRETS_KEY
from tests.factories import make_alert, make_integration
from tests.integration.api.helpers import bearer, seed_resources
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA=="
TOKEN = "Bearer tok-abcdef123456"


@pytest.fixture
def settings(settings):
    """Local receivers listen on loopback; private and metadata addresses stay refused regardless."""
    return settings.model_copy(update={"notify_allow_loopback": True})


@pytest.fixture
async def admin(app, tenants) -> dict:
    return await bearer(app, ["tenant-admin"], tenants[0], sub="sub-ann", preferred_username="ann")


def verify(request, secret: str) -> None:
    """The request carries valid Standard Webhooks and legacy signatures made with `secret`."""
    headers = request.headers
    expected = signing.standard_signature(
        secret, headers["webhook-id"], int(headers["webhook-timestamp"]), request.body
    )
    assert headers["webhook-signature"] == expected
    assert headers["x-signature-sha256"] == signing.legacy_signature(secret, request.body)


def opened(kind: str, stored: dict, *plaintexts: str) -> dict:
    """A stored config with its secrets decrypted, after checking the row holds none of `plaintexts`."""
    for secret in plaintexts:
        assert secret not in str(stored)
    return configs.unseal(kind, stored, crypto.Keyring.parse(TEST_SECRETS_KEY))


async def create(client, headers, path: str, body: dict) -> dict:
    response = await client.post(path, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


# --- integrations ----------------------------------------------------------------------------------


async def test_integration_crud_masks_secrets_and_keeps_them(app, client, pool, admin) -> None:
    async with Receiver() as receiver:
        hook = receiver.url
        config = {"url": receiver.url, "secret": SECRET, "headers": {"Authorization": TOKEN}}
        created = await create(
            client, admin, "/customer/integrations", {"name": "Ops hook", "type": "webhook", "config": config}
        )
        assert created["config"] == {"url": receiver.url, "secret": MASK, "headers": {"Authorization": MASK}}
        assert created["enabled"] and created["type"] == "webhook"
        url = f"/customer/integrations/{created['integration_id']}"
        assert (await client.get(url, headers=admin)).json() == created
        listed = (await client.get("/customer/integrations", headers=admin)).json()
        assert listed["total"] == 1 and listed["integrations"][0]["config"]["secret"] == MASK
        for params, total in (({"type": "slack"}, 0), ({"enabled": "false"}, 0), ({"type": "webhook"}, 1)):
            assert (await client.get("/customer/integrations", headers=admin, params=params)).json()[
                "total"
            ] == total

        # The masked config sent back to a new URL would send the hidden secrets there: refused,
        # naming the masked fields; nothing changes.
        moved = {**created["config"], "url": receiver.url + "/v2"}
        refused = await client.patch(url, headers=admin, json={"name": "Renamed", "config": moved})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "invalid_config"
        assert refused.json()["detail"]["fields"] == ["secret", "headers.Authorization"]
        assert "url changed" in refused.json()["detail"]["message"]
        assert (await client.get(url, headers=admin)).json() == created
        # A form round trip to the same URL keeps the secrets.
        patched = await client.patch(
            url, headers=admin, json={"name": "Renamed", "config": created["config"], "type": "webhook"}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Renamed"
        assert patched.json()["config"] == created["config"]
        (stored,) = await fetch(pool, "SELECT config_json FROM integrations")
        secrets = opened("webhook", stored["config_json"], SECRET, TOKEN)
        assert secrets["secret"] == SECRET and secrets["headers"] == {"Authorization": TOKEN}
        # A new URL with the secrets typed again is a plain update.
        retyped = {"url": receiver.url + "/v2", "secret": SECRET, "headers": {"Authorization": TOKEN}}
        moved_ok = await client.patch(url, headers=admin, json={"config": retyped})
        assert moved_ok.status_code == 200, moved_ok.text

        sent = await client.post(f"{url}/test", headers=admin)
        assert sent.status_code == 200, sent.text
        assert sent.json()["ok"] and sent.json()["http_status"] == 200 and sent.json()["error"] is None
        (request,) = receiver.requests
        assert request.path == "/hook/v2" and request.headers["authorization"] == TOKEN
        assert request.headers["webhook-id"] == sent.json()["message_id"]
        assert sent.json()["message_id"].startswith("pulse-test-")
        verify(request, SECRET)
        body = request.json()
        assert (body["alert_id"], body["alert_type"], body["device_id"]) == (0, "TEST", "test-device")
        assert (body["severity"], body["event"], body["tenant_id"]) == (3, "OPEN", "tenant-a")

    # dropping a secret is explicit: leave it out
    no_secret = await client.patch(url, headers=admin, json={"config": {"url": hook}})
    assert no_secret.json()["config"] == {"url": hook, "headers": {}}
    assert (await client.patch(url, headers=admin, json={"enabled": False})).json()["enabled"] is False

    changed_type = await client.patch(url, headers=admin, json={"type": "slack"})
    assert changed_type.status_code == 422 and changed_type.json()["error"] == "type_immutable"
    for bad, status in (({}, 400), ({"name": None}, 400), ({"name": ""}, 422), ({"tenant_id": "x"}, 422)):
        response = await client.patch(url, headers=admin, json=bad)
        assert response.status_code == status, (bad, response.text)
        assert set(response.json()) == {"error", "detail"}

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404
    assert (await client.get("/customer/integrations/not-a-uuid", headers=admin)).status_code == 422


async def test_every_kind_hides_its_secrets(client, pool, admin) -> None:
    kinds = {
        "slack": ({"url": "http://127.0.0.1:9/services/T/B/XSECRET"}, {"url": MASK}),
        "teams": ({"url": "http://127.0.0.1:9/webhookb2/SECRET"}, {"url": MASK}),
        "pagerduty": (
            {"routing_key": "R0UT1NGKEY", "url": "http://127.0.0.1:9/v2/enqueue"},
            {"routing_key": MASK, "url": "http://127.0.0.1:9/v2/enqueue"},
        ),
    }
    for kind, (config, shown) in kinds.items():
        created = await create(
            client, admin, "/customer/integrations", {"name": kind, "type": kind, "config": config}
        )
        assert created["config"] == shown, kind
        channel = await create(
            client,
            admin,
            "/customer/notification-channels",
            {"name": kind, "channel_type": kind, "config": config},
        )
        assert channel["config"] == shown, kind
    listed = await client.get("/customer/integrations", headers=admin)
    assert "SECRET" not in listed.text and "R0UT1NGKEY" not in listed.text
    channels = await client.get("/customer/notification-channels", headers=admin)
    assert "SECRET" not in channels.text and "R0UT1NGKEY" not in channels.text


async def test_bad_configs_are_422_naming_the_field(client, admin) -> None:
    cases = [
        ({"type": "webhook", "config": {}}, "invalid_config", ["url"]),
        ({"type": "webhook", "config": {"url": "not a url"}}, "invalid_config", ["url"]),
        (
            {"type": "webhook", "config": {"url": "https://x.example", "bogus": 1}},
            "invalid_config",
            ["bogus"],
        ),
        ({"type": "pagerduty", "config": {}}, "invalid_config", ["routing_key"]),
        ({"type": "slack", "config": {"url": MASK}}, "invalid_config", ["url"]),
        (
            {"type": "webhook", "config": {"url": "https://x.example", "headers": {"X-Key": MASK}}},
            "invalid_config",
            ["headers.X-Key"],
        ),
    ]
    for body, error, fields in cases:
        for path, kind_field in (
            ("/customer/integrations", "type"),
            ("/customer/notification-channels", "channel_type"),
        ):
            payload = {"name": "n", kind_field: body["type"], "config": body["config"]}
            response = await client.post(path, headers=admin, json=payload)
            assert response.status_code == 422, (path, body, response.text)
            assert response.json()["error"] == error
            assert response.json()["detail"]["fields"] == fields, response.json()
    for body in (
        {"name": "n", "type": "carrier-pigeon", "config": {}},
        {"name": "n", "type": "webhook"},
        {"name": "", "type": "webhook", "config": {"url": "https://x.example"}},
        {"name": "x" * 101, "type": "webhook", "config": {"url": "https://x.example"}},
        {"name": "n", "type": "webhook", "config": {"url": "https://x.example"}, "extra": True},
        {"name": "n", "type": "webhook", "config": {"url": "https://x.example", "pad": "x" * 20_000}},
    ):
        response = await client.post("/customer/integrations", headers=admin, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "invalid_request"


async def test_private_and_metadata_targets_are_refused(app, client, admin) -> None:
    for url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::ffff:10.0.0.1]/"):
        for path, kind_field in (
            ("/customer/integrations", "type"),
            ("/customer/notification-channels", "channel_type"),
        ):
            body = {"name": "n", kind_field: "webhook", "config": {"url": url}}
            response = await client.post(path, headers=admin, json=body)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["error"] == "target_refused"
            assert "url_blocked" in response.json()["detail"]
    pd = {"name": "n", "type": "pagerduty", "config": {"routing_key": "k", "url": "http://192.168.1.2/"}}
    assert (await client.post("/customer/integrations", headers=admin, json=pd)).json()[
        "error"
    ] == "target_refused"

    async with Receiver() as receiver:
        created = await create(
            client, admin, "/customer/integrations", {"name": "n", "config": {"url": receiver.url}}
        )
        # without the loopback allowance a local target is refused at save time and at send time
        app.state.settings = app.state.settings.model_copy(update={"notify_allow_loopback": False})
        refused = await client.post(
            "/customer/integrations", headers=admin, json={"name": "n", "config": {"url": receiver.url}}
        )
        assert refused.status_code == 422 and "loopback" in refused.json()["detail"]
        sent = await client.post(f"/customer/integrations/{created['integration_id']}/test", headers=admin)
        assert sent.status_code == 200
        assert sent.json()["ok"] is False and sent.json()["reason"] == "ssrf_blocked"
        assert receiver.requests == []


async def test_test_send_is_limited_to_five_a_minute_and_leaves_no_job(client, pool, admin) -> None:
    async with Receiver() as receiver:
        created = await create(
            client,
            admin,
            "/customer/integrations",
            {"name": "n", "config": {"url": receiver.url, "secret": SECRET}, "enabled": False},
        )
        url = f"/customer/integrations/{created['integration_id']}/test"
        # concurrent requests cannot exceed the limit: the slot is taken under a lock
        responses = await asyncio.gather(*(client.post(url, headers=admin) for _ in range(8)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 5 + [429] * 3
        limited = next(r for r in responses if r.status_code == 429)
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert len(receiver.requests) == 5  # a disabled integration can be tested
        for request in receiver.requests:
            verify(request, SECRET)
    jobs = await fetch(pool, "SELECT count(*) AS n FROM delivery_jobs")
    assert jobs[0]["n"] == 0
    slots = await fetch(pool, "SELECT action FROM rate_limits ORDER BY action")
    actions = [r["action"] for r in slots]
    assert actions[:5] == ["test_send"] * 5 and len(set(actions[5:])) == 1
    assert actions[5].startswith("test_send:") and "127.0.0.1" not in actions[5]


async def test_test_sends_are_limited_per_destination_and_per_tenant(client, admin) -> None:
    async with Receiver() as receiver:
        # a second integration and a channel with the same URL share the destination's five
        same = [
            await create(
                client, admin, "/customer/integrations", {"name": f"i{i}", "config": {"url": receiver.url}}
            )
            for i in range(2)
        ]
        channel = await create(
            client,
            admin,
            "/customer/notification-channels",
            {"name": "c", "channel_type": "webhook", "config": {"url": receiver.url}},
        )
        urls = [f"/customer/integrations/{t['integration_id']}/test" for t in same]
        urls.append(f"/customer/notification-channels/{channel['channel_id']}/test")
        statuses = [(await client.post(urls[i % 3], headers=admin)).status_code for i in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        assert len(receiver.requests) == 5
        limited = await client.post(urls[2], headers=admin)
        assert "destination" in limited.json()["detail"]

        # other destinations of the tenant: 20 a minute in all, whatever the URLs
        others = [
            await create(
                client,
                admin,
                "/customer/integrations",
                {"name": f"o{i}", "config": {"url": f"{receiver.url}/{i}"}},
            )
            for i in range(4)
        ]
        sent = []
        for i in range(16):
            url = f"/customer/integrations/{others[i % 4]['integration_id']}/test"
            sent.append((await client.post(url, headers=admin)).status_code)
        assert sent == [200] * 15 + [429]
        assert "tenant" in (await client.post(url, headers=admin)).json()["detail"]


async def test_pagerduty_test_send_resolves_the_incident_it_opened(client, admin) -> None:
    async with Receiver() as receiver:
        body = {
            "name": "pd",
            "type": "pagerduty",
            "config": {"routing_key": "RK-123456", "url": receiver.url},
        }
        created = await create(client, admin, "/customer/integrations", body)
        sent = await client.post(f"/customer/integrations/{created['integration_id']}/test", headers=admin)
    assert sent.json()["ok"] is True
    actions = [(r.json()["event_action"], r.json()["dedup_key"]) for r in receiver.requests]
    assert actions == [("trigger", "alert-0"), ("resolve", "alert-0")]


async def test_test_send_reports_failures_without_secrets(client, admin) -> None:
    echo = Answer(400, body=f"bad request: signature secret {SECRET} rejected")
    async with Receiver(echo) as receiver:
        created = await create(
            client,
            admin,
            "/customer/integrations",
            {"name": "n", "config": {"url": receiver.url, "secret": SECRET}},
        )
        sent = (
            await client.post(f"/customer/integrations/{created['integration_id']}/test", headers=admin)
        ).json()
    assert sent["ok"] is False and sent["reason"] == "client_error" and sent["http_status"] == 400
    assert SECRET not in sent["error"] and "***" in sent["error"]

    async with Receiver() as closed:
        dead_url = closed.url
    created = await create(
        client, admin, "/customer/integrations", {"name": "n", "config": {"url": dead_url}}
    )
    sent = (
        await client.post(f"/customer/integrations/{created['integration_id']}/test", headers=admin)
    ).json()
    assert sent["ok"] is False and sent["reason"] == "network" and sent["http_status"] is None
    assert "127.0.0.1:" not in sent["error"]  # URLs are reduced to scheme and host


# --- integration routes ----------------------------------------------------------------------------


async def test_integration_routes_crud(app, client, pool, tenants, admin) -> None:
    ids_b = await seed_resources(pool, tenants[1], "b")
    integration = await create(
        client, admin, "/customer/integrations", {"name": "n", "config": {"url": "https://93.184.215.14/h"}}
    )
    route = await create(
        client,
        admin,
        "/customer/integration-routes",
        {"integration_id": integration["integration_id"]},  # the reference failed without a name
    )
    assert route["name"] is None and route["deliver_on"] == ["OPEN"] and route["severities"] == []
    assert route["integration_name"] == "n" and route["integration_type"] == "webhook"
    full = await create(
        client,
        admin,
        "/customer/integration-routes",
        {
            "integration_id": integration["integration_id"],
            "name": "Critical pumps",
            "min_severity": 3,
            "severities": ["CRITICAL", "WARNING", "CRITICAL"],
            "alert_types": ["THRESHOLD", "NO_HEARTBEAT"],
            "site_ids": ["site-1"],
            "device_prefixes": ["pump-"],
            "deliver_on": ["OPEN", "ESCALATED", "CLOSED"],
            "priority": 10,
        },
    )
    assert full["severities"] == ["CRITICAL", "WARNING"]  # repeats dropped
    listed = (await client.get("/customer/integration-routes", headers=admin)).json()
    assert [r["route_id"] for r in listed["routes"]] == [full["route_id"], route["route_id"]]  # by priority
    assert (
        await client.get(
            "/customer/integration-routes",
            headers=admin,
            params={"integration_id": ids_b["integration_id"]},
        )
    ).json()["total"] == 0

    for bad in (
        {"integration_id": integration["integration_id"], "alert_types": ["SYSTEM_HEALTH"]},
        {"integration_id": integration["integration_id"], "severities": ["HIGH"]},
        {"integration_id": integration["integration_id"], "deliver_on": []},
        {"integration_id": integration["integration_id"], "deliver_on": ["UPDATED"]},
        {"integration_id": integration["integration_id"], "min_severity": 6},
        {"integration_id": integration["integration_id"], "device_prefixes": ["p"] * 101},
        {"integration_id": integration["integration_id"], "unknown": 1},
        {"integration_id": "not-a-uuid"},
    ):
        response = await client.post("/customer/integration-routes", headers=admin, json=bad)
        assert response.status_code == 422, (bad, response.text)
    foreign = await client.post(
        "/customer/integration-routes", headers=admin, json={"integration_id": ids_b["integration_id"]}
    )
    assert foreign.status_code == 404 and foreign.json()["error"] == "not_found"

    url = f"/customer/integration-routes/{full['route_id']}"
    patched = await client.patch(
        url, headers=admin, json={"enabled": False, "alert_types": None, "priority": 5}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["enabled"], patched.json()["alert_types"], patched.json()["priority"]) == (
        False,
        None,
        5,
    )
    assert (await client.patch(url, headers=admin, json={"deliver_on": None})).status_code == 400
    moved = await client.patch(url, headers=admin, json={"integration_id": ids_b["integration_id"]})
    assert moved.status_code == 404
    assert (await client.get(url, headers=admin)).json()["priority"] == 5
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


# --- notification channels and routing rules -------------------------------------------------------


async def test_channels_crud_put_keeps_masked_secrets_and_test_has_no_side_effects(
    client, pool, admin
) -> None:
    async with Receiver() as receiver:
        config = {"url": receiver.url, "secret": SECRET, "headers": {"X-Api-Key": "key-1234567890"}}
        channel = await create(
            client,
            admin,
            "/customer/notification-channels",
            {"name": "Ops", "channel_type": "webhook", "config": config},
        )
        assert channel["config"]["secret"] == MASK and channel["config"]["headers"] == {"X-Api-Key": MASK}
        url = f"/customer/notification-channels/{channel['channel_id']}"
        replaced = await client.put(
            url,
            headers=admin,
            json={
                "name": "Ops 2",
                "channel_type": "webhook",
                "config": channel["config"],
                "is_enabled": False,
            },
        )
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["name"] == "Ops 2" and replaced.json()["is_enabled"] is False
        (stored,) = await fetch(pool, "SELECT config FROM notification_channels")
        secrets = opened("webhook", stored["config"], SECRET, "key-1234567890")
        assert secrets["secret"] == SECRET and secrets["headers"]["X-Api-Key"] == "key-1234567890"
        other_kind = await client.put(
            url, headers=admin, json={"name": "x", "channel_type": "slack", "config": {"url": receiver.url}}
        )
        assert other_kind.status_code == 422 and other_kind.json()["error"] == "type_immutable"
        patched = await client.patch(
            url, headers=admin, json={"is_enabled": True, "config": channel["config"]}
        )
        assert patched.json()["is_enabled"] is True

        rules_before = (await client.get("/customer/notification-routing-rules", headers=admin)).json()[
            "total"
        ]
        sent = await client.post(f"{url}/test", headers=admin)
        assert sent.status_code == 200 and sent.json()["ok"], sent.text
        (request,) = receiver.requests
        verify(request, SECRET)
        assert request.headers["x-api-key"] == "key-1234567890"
        for _ in range(4):
            assert (await client.post(f"{url}/test", headers=admin)).status_code == 200
        limited = await client.post(f"{url}/test", headers=admin)
        assert limited.status_code == 429 and "retry-after" in limited.headers
    # the reference inserted a catch-all rule and sent through every rule; nothing of that here
    assert (await client.get("/customer/notification-routing-rules", headers=admin)).json()[
        "total"
    ] == rules_before
    counts = await fetch(
        pool,
        "SELECT (SELECT count(*) FROM delivery_jobs) AS jobs, (SELECT count(*) FROM notification_log) AS log,"
        " (SELECT count(*) FROM notification_routing_rules) AS rules",
    )
    assert dict(counts[0]) == {"jobs": 0, "log": 0, "rules": 0}

    listed = (await client.get("/customer/notification-channels", headers=admin)).json()
    assert listed["total"] == 1 and listed["channels"][0]["config"]["secret"] == MASK
    assert (await client.patch(url, headers=admin, json={})).status_code == 400
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.post(f"{url}/test", headers=admin)).status_code == 404


async def test_a_masked_secret_is_kept_only_for_the_same_smtp_server(client, pool, admin) -> None:
    config = {
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_user": "alerts",
        "smtp_password": "smtp-pass-123456",
        "from_address": "alerts@pulse.example",
        "to": ["ops@pulse.example"],
    }
    channel = await create(
        client,
        admin,
        "/customer/notification-channels",
        {"name": "Mail", "channel_type": "email", "config": config},
    )
    shown = channel["config"]
    assert shown["smtp_password"] == MASK
    url = f"/customer/notification-channels/{channel['channel_id']}"
    for moved in ({**shown, "smtp_host": "127.0.0.2"}, {**shown, "smtp_port": 25}):
        refused = await client.patch(url, headers=admin, json={"config": moved})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"]["fields"] == ["smtp_password"]
    kept = await client.patch(url, headers=admin, json={"config": {**shown, "to": ["noc@pulse.example"]}})
    assert kept.status_code == 200, kept.text
    (stored,) = await fetch(pool, "SELECT config FROM notification_channels")
    assert opened("email", stored["config"], "smtp-pass-123456")["smtp_password"] == "smtp-pass-123456"
    assert stored["config"]["smtp_host"] == "127.0.0.1" and stored["config"]["to"] == ["noc@pulse.example"]


async def test_routing_rules_crud(client, pool, tenants, admin) -> None:
    ids_b = await seed_resources(pool, tenants[1], "b")
    channel = await create(
        client,
        admin,
        "/customer/notification-channels",
        {"name": "Ops", "channel_type": "webhook", "config": {"url": "https://93.184.215.14/h"}},
    )
    rule = await create(
        client, admin, "/customer/notification-routing-rules", {"channel_id": channel["channel_id"]}
    )
    assert rule["deliver_on"] == ["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"]
    assert (rule["throttle_minutes"], rule["is_enabled"], rule["channel_name"]) == (0, True, "Ops")
    tagged = await create(
        client,
        admin,
        "/customer/notification-routing-rules",
        {
            "channel_id": channel["channel_id"],
            "min_severity": 4,
            "alert_type": "NO_HEARTBEAT",
            "device_tag_key": "zone",
            "device_tag_val": "north",
            "deliver_on": ["OPEN", "CLOSED"],
            "throttle_minutes": 30,
        },
    )
    assert (tagged["device_tag_key"], tagged["device_tag_val"]) == ("zone", "north")
    for bad in (
        {"channel_id": channel["channel_id"], "device_tag_val": "north"},
        {"channel_id": channel["channel_id"], "throttle_minutes": 1441},
        {"channel_id": channel["channel_id"], "min_severity": 0},
        {"channel_id": channel["channel_id"], "alert_type": "TEST"},
        {"channel_id": channel["channel_id"], "deliver_on": []},
        {"channel_id": channel["channel_id"], "device_tag_key": "a:b"},
        {"channel_id": channel["channel_id"], "extra": 1},
        {"channel_id": 0},
    ):
        response = await client.post("/customer/notification-routing-rules", headers=admin, json=bad)
        assert response.status_code == 422, (bad, response.text)
    foreign = await client.post(
        "/customer/notification-routing-rules", headers=admin, json={"channel_id": int(ids_b["channel_id"])}
    )
    assert foreign.status_code == 404

    by_channel = await client.get(
        "/customer/notification-routing-rules", headers=admin, params={"channel_id": channel["channel_id"]}
    )
    assert [r["rule_id"] for r in by_channel.json()["rules"]] == [rule["rule_id"], tagged["rule_id"]]
    url = f"/customer/notification-routing-rules/{tagged['rule_id']}"
    replaced = await client.put(
        url, headers=admin, json={"channel_id": channel["channel_id"], "min_severity": 2}
    )
    assert replaced.status_code == 200, replaced.text
    assert (
        replaced.json()["device_tag_key"] is None and replaced.json()["throttle_minutes"] == 0
    )  # full replace
    assert (await client.get(url, headers=admin)).json()["min_severity"] == 2
    assert (
        await client.put(url, headers=admin, json={"channel_id": int(ids_b["channel_id"])})
    ).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


# --- roles ------------------------------------------------------------------------------------------


async def test_customers_read_and_only_admins_write(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0], "a")
    viewer = await bearer(app, ["customer"], tenants[0])
    reads = [
        "/customer/integrations",
        f"/customer/integrations/{ids['integration_id']}",
        "/customer/integration-routes",
        f"/customer/integration-routes/{ids['route_id']}",
        "/customer/notification-channels",
        f"/customer/notification-channels/{ids['channel_id']}",
        "/customer/notification-routing-rules",
        f"/customer/notification-routing-rules/{ids['routing_rule_id']}",
        "/customer/delivery-jobs",
        f"/customer/delivery-jobs/{ids['job_id']}",
        f"/customer/delivery-jobs/{ids['job_id']}/attempts",
        "/customer/delivery-status",
        "/customer/notification-log",
    ]
    for path in reads:
        response = await client.get(path, headers=viewer)
        assert response.status_code == 200, (path, response.text)
    shown = (await client.get(f"/customer/integrations/{ids['integration_id']}", headers=viewer)).json()
    assert shown["config"]["secret"] == MASK
    writes = [
        ("POST", "/customer/integrations", {"name": "n", "config": {"url": "https://93.184.215.14/"}}),
        ("PATCH", f"/customer/integrations/{ids['integration_id']}", {"name": "x"}),
        ("POST", f"/customer/integrations/{ids['integration_id']}/test", None),
        ("POST", "/customer/integration-routes", {"integration_id": ids["integration_id"]}),
        ("POST", f"/customer/notification-channels/{ids['channel_id']}/test", None),
        ("PUT", f"/customer/notification-routing-rules/{ids['routing_rule_id']}", {"channel_id": 1}),
        ("POST", f"/customer/delivery-jobs/{ids['job_id']}/redrive", None),
        ("POST", "/customer/delivery-jobs/redrive", {}),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, headers=viewer, json=body)
        assert response.status_code == 403, (method, path, response.text)
    (job,) = await fetch(pool, "SELECT status FROM delivery_jobs WHERE job_id = $1", int(ids["job_id"]))
    assert job["status"] == "FAILED"


# --- delivery jobs ----------------------------------------------------------------------------------


async def _listen(settings) -> tuple[asyncpg.Connection, list[str]]:
    heard: list[str] = []
    conn = await asyncpg.connect(settings.database_url)
    await conn.add_listener("new_delivery_job", lambda _conn, _pid, channel, _payload: heard.append(channel))
    return conn, heard


async def test_delivery_jobs_and_redrive(app, client, pool, settings, tenants, admin) -> None:
    ids = await seed_resources(pool, tenants[0], "a")
    ids_b = await seed_resources(pool, tenants[1], "b")
    jobs = (await client.get("/customer/delivery-jobs", headers=admin)).json()
    assert jobs["total"] == 1
    (job,) = jobs["jobs"]
    assert (job["job_id"], job["status"], job["attempts"], job["integration_id"]) == (
        int(ids["job_id"]),
        "FAILED",
        1,
        ids["integration_id"],
    )
    for params, total in (
        ({"status": "FAILED"}, 1),
        ({"status": "PENDING"}, 0),
        ({"integration_id": ids["integration_id"]}, 1),
        ({"channel_id": ids["channel_id"]}, 0),
        ({"alert_id": ids["alert_id"]}, 1),
        ({"event": "CLOSED"}, 0),
    ):
        assert (await client.get("/customer/delivery-jobs", headers=admin, params=params)).json()[
            "total"
        ] == total
    assert (
        await client.get("/customer/delivery-jobs", headers=admin, params={"status": "DONE"})
    ).status_code == 422
    url = f"/customer/delivery-jobs/{ids['job_id']}"
    detail = (await client.get(url, headers=admin)).json()
    assert detail["payload"]["alert_type"] == "THRESHOLD" and detail["attempts_base"] == 0
    attempts = (await client.get(f"{url}/attempts", headers=admin)).json()
    assert attempts["job_id"] == int(ids["job_id"])
    assert [(a["attempt_no"], a["ok"], a["http_status"]) for a in attempts["attempts"]] == [(1, False, 503)]
    status = (await client.get("/customer/delivery-status", headers=admin)).json()
    assert [a["job_id"] for a in status["attempts"]] == [int(ids["job_id"])]

    # tenant B sees none of it and cannot re-drive it
    intruder = await bearer(app, ["tenant-admin"], tenants[1])
    for method, path in (("GET", url), ("GET", f"{url}/attempts"), ("POST", f"{url}/redrive")):
        assert (await client.request(method, path, headers=intruder)).status_code == 404
    b_jobs = (await client.get("/customer/delivery-jobs", headers=intruder)).json()
    assert [j["job_id"] for j in b_jobs["jobs"]] == [int(ids_b["job_id"])]
    redriven_by_b = await client.post(
        "/customer/delivery-jobs/redrive", headers=intruder, json={"integration_id": ids["integration_id"]}
    )
    assert redriven_by_b.status_code == 404

    listener, heard = await _listen(settings)
    try:
        redriven = await client.post(f"{url}/redrive", headers=admin)
        assert redriven.status_code == 200, redriven.text
        body = redriven.json()
        assert (body["status"], body["attempts"], body["attempts_base"], body["redriven_by"]) == (
            "PENDING",
            1,
            1,
            "sub-ann",
        )
        assert body["redriven_at"] is not None
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == ["new_delivery_job"]  # the workers were woken
    finally:
        await listener.close()
    again = await client.post(f"{url}/redrive", headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "not_failed"
    assert (await client.post("/customer/delivery-jobs/999999/redrive", headers=admin)).status_code == 404
    (row,) = await fetch(
        pool, "SELECT status, tenant_id FROM delivery_jobs WHERE job_id = $1", int(ids_b["job_id"])
    )
    assert row["status"] == "FAILED"  # B's own job untouched by A


async def test_bulk_redrive(client, pool, tenants, admin) -> None:
    ids = await seed_resources(pool, tenants[0], "a")
    await seed_resources(pool, tenants[1], "b")  # another tenant's FAILED job, left alone
    await fetch(
        pool,
        """INSERT INTO delivery_jobs (tenant_id, alert_id, integration_id, event, status, attempts, payload_json)
           SELECT tenant_id, alert_id, integration_id, 'CLOSED', s, 3, payload_json
             FROM delivery_jobs, unnest(ARRAY['FAILED', 'FAILED', 'COMPLETED']) AS s
            WHERE job_id = $1""",
        int(ids["job_id"]),
    )
    other = await client.post(
        "/customer/delivery-jobs/redrive", headers=admin, json={"channel_id": int(ids["channel_id"])}
    )
    assert other.json() == {"redriven": 0, "more": False}
    later = await client.post(
        "/customer/delivery-jobs/redrive", headers=admin, json={"created_after": "2999-01-01T00:00:00"}
    )
    assert later.json()["redriven"] == 0
    done = await client.post(
        "/customer/delivery-jobs/redrive", headers=admin, json={"integration_id": ids["integration_id"]}
    )
    assert done.status_code == 200 and done.json() == {"redriven": 3, "more": False}
    rows = await fetch(
        pool, "SELECT tenant_id, status, attempts, attempts_base FROM delivery_jobs ORDER BY job_id"
    )
    a_rows = [r for r in rows if r["tenant_id"] == tenants[0]]
    assert sorted(r["status"] for r in a_rows) == ["COMPLETED", "PENDING", "PENDING", "PENDING"]
    assert all(r["attempts_base"] == r["attempts"] for r in a_rows if r["status"] == "PENDING")
    assert [r["status"] for r in rows if r["tenant_id"] == tenants[1]] == ["FAILED"]
    assert (
        await client.post("/customer/delivery-jobs/redrive", headers=admin, json={"x": 1})
    ).status_code == 422


async def test_redrive_gives_a_worker_failure_a_fresh_budget(client, pool, tenants, admin) -> None:
    """The real engine: a dead target fails the job after its one allowed attempt; re-driven via the API,
    the worker tries again (a fresh budget) and delivers to the target that is back."""
    async with Receiver() as receiver:
        port_url = receiver.url
    integration_id, _ = await make_integration(pool, tenants[0], {"url": port_url, "secret": SECRET})
    await make_alert(pool, tenants[0])
    assert await dispatch(pool, Dispatcher()) == 1
    async with httpx.AsyncClient(timeout=5.0) as http:
        worker = Worker(
            pool,
            http,
            ssrf.Policy(allow_loopback=True),
            retry=RetryPolicy(max_attempts=1, base_seconds=0.001, max_seconds=0.001),
            stuck_after=timedelta(seconds=300),
            rng=random.Random(1),
        )
        (job,) = await worker.claim(10)
        assert not (await worker.process(job)).ok
        failed = (
            await client.get("/customer/delivery-jobs", headers=admin, params={"status": "FAILED"})
        ).json()["jobs"]
        assert [j["job_id"] for j in failed] == [job["job_id"]]
        assert failed[0]["last_error"].startswith("network")

        host, port = port_url.removeprefix("http://").split("/")[0].split(":")
        redriven = await client.post(f"/customer/delivery-jobs/{job['job_id']}/redrive", headers=admin)
        assert redriven.json()["status"] == "PENDING"
        server = await _serve_on(host, int(port))
        try:
            (again,) = await worker.claim(10)
            result = await worker.process(again)
        finally:
            server.close()
    assert result.ok, result
    attempts = (await client.get(f"/customer/delivery-jobs/{job['job_id']}/attempts", headers=admin)).json()
    assert [(a["attempt_no"], a["ok"]) for a in attempts["attempts"]] == [(1, False), (2, True)]
    detail = (await client.get(f"/customer/delivery-jobs/{job['job_id']}", headers=admin)).json()
    assert (detail["status"], detail["attempts"], detail["attempts_base"]) == ("COMPLETED", 2, 1)
    assert detail["integration_id"] == integration_id


async def _serve_on(host: str, port: int) -> asyncio.Server:
    """A minimal 200-answering HTTP server on a given port (the target coming back)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            length = 0
            while (line := (await reader.readline()).decode().strip()) != "":
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)


async def test_notification_log(app, client, pool, tenants, admin) -> None:
    ids = await seed_resources(pool, tenants[0], "a")
    await seed_resources(pool, tenants[1], "b")
    log = (await client.get("/customer/notification-log", headers=admin)).json()
    assert log["total"] == 1
    (entry,) = log["entries"]
    assert (entry["channel_id"], entry["channel_name"], entry["alert_id"], entry["event"]) == (
        int(ids["channel_id"]),
        "Ops hook",
        int(ids["alert_id"]),
        "OPEN",
    )
    assert entry["routing_rule_id"] == int(ids["routing_rule_id"])
    for params, total in (
        ({"channel_id": ids["channel_id"]}, 1),
        ({"alert_id": 0}, 0),
        ({"channel_id": 999999}, 0),
    ):
        assert (await client.get("/customer/notification-log", headers=admin, params=params)).json()[
            "total"
        ] == total
