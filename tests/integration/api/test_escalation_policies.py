"""/customer/escalation-policies, contact methods (/customer/users/{id}/… and /customer/me/…) and the
local mail outbox (/customer/outbox, /operator/outbox), against a real database."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pulse.db.tx import operator_tx
from pulse.notify.outbox_view import NOTICE
from tests.factories import make_alert, make_channel
from tests.integration.api.helpers import bearer, make_user

POLICIES = "/customer/escalation-policies"


async def _schedule(pool, tenant: str, name: str = "Primary") -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "INSERT INTO oncall_schedules (tenant_id, name) VALUES ($1, $2) RETURNING schedule_id",
            tenant,
            name,
        )


@pytest.fixture
async def refs(pool, tenants) -> dict:
    """A schedule, a person and a channel in each tenant: tenant A's under plain names, B's as `other_*`."""
    a, b = tenants
    found = {}
    for tenant, prefix in ((a, ""), (b, "other_")):
        user, _ = await make_user(pool, f"{prefix}ann-{tenant}", ["customer"], tenant)
        found[f"{prefix}schedule"] = await _schedule(pool, tenant)
        found[f"{prefix}user"] = user.user_id
        found[f"{prefix}username"] = user.username
        found[f"{prefix}channel"] = await make_channel(pool, tenant, {"url": "https://192.0.2.1/h"})
    return found


def _policy(refs: dict, **fields) -> dict:
    body = {
        "name": "Ops",
        "levels": [
            {
                "delay_minutes": 0,
                "targets": [
                    {"type": "schedule", "id": refs["schedule"]},
                    {"type": "user", "id": refs["user"]},
                ],
            },
            {"delay_minutes": 15, "targets": [{"type": "channel", "id": refs["channel"]}]},
        ],
    }
    return body | fields


async def test_policy_crud_with_target_names(app, client, pool, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    created = await client.post(
        POLICIES, headers=admin, json=_policy(refs, description="Day shift", repeat_count=2)
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["description"] == "Day shift" and policy["repeat_count"] == 2
    assert [(lv["level_number"], lv["delay_minutes"]) for lv in policy["levels"]] == [(1, 0), (2, 15)]
    assert policy["levels"][0]["targets"] == [
        {"type": "schedule", "id": refs["schedule"], "name": "Primary"},
        {"type": "user", "id": refs["user"], "name": refs["username"]},
    ]
    assert policy["levels"][1]["targets"] == [{"type": "channel", "id": refs["channel"], "name": "ch"}]
    url = f"{POLICIES}/{policy['policy_id']}"
    assert (await client.get(url, headers=admin)).json() == policy
    assert (await client.get(POLICIES, headers=admin)).json() == {"policies": [policy]}

    replaced = await client.put(
        url,
        headers=admin,
        json={
            "name": "Ops night",
            "levels": [{"delay_minutes": 5, "targets": [{"type": "user", "id": refs["user"]}]}],
        },
    )
    assert replaced.status_code == 200, replaced.text
    after = replaced.json()
    assert after["name"] == "Ops night" and after["description"] is None and after["repeat_count"] == 0
    assert [(lv["level_number"], lv["delay_minutes"], len(lv["targets"])) for lv in after["levels"]] == [
        (1, 5, 1)
    ]
    assert after["updated_at"] >= policy["updated_at"] and after["created_at"] == policy["created_at"]
    async with operator_tx(pool, "test") as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM escalation_levels WHERE policy_id = $1", policy["policy_id"]
            )
            == 1
        )
        await conn.execute("DELETE FROM users WHERE user_id = $1", uuid.UUID(refs["user"]))
    # a target that has gone stays in the policy (the worker records it when the level fires), unnamed
    assert (await client.get(url, headers=admin)).json()["levels"][0]["targets"] == [
        {"type": "user", "id": refs["user"], "name": None}
    ]

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    missing = await client.delete(url, headers=admin)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (await client.put(url, headers=admin, json=_policy(refs))).status_code == 404


async def test_one_default_per_tenant(app, client, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])

    async def create(**fields) -> dict:
        response = await client.post(POLICIES, headers=admin, json=_policy(refs, **fields))
        assert response.status_code == 201, response.text
        return response.json()

    async def defaults() -> list[str]:
        return [
            p["name"]
            for p in (await client.get(POLICIES, headers=admin)).json()["policies"]
            if p["is_default"]
        ]

    first = await create(name="first")
    assert first["is_default"]  # the tenant had no default: its first policy becomes it
    second = await create(name="second")
    assert not second["is_default"]
    await create(name="third", is_default=True)
    assert await defaults() == ["third"]
    second_url = f"{POLICIES}/{second['policy_id']}"
    assert (
        await client.put(second_url, headers=admin, json=_policy(refs, name="second", is_default=True))
    ).json()["is_default"]
    assert await defaults() == ["second"]
    await client.put(second_url, headers=admin, json=_policy(refs, name="second", is_default=False))
    assert await defaults() == []
    assert not (await create(name="told not to", is_default=False))["is_default"]
    assert (await create(name="fifth"))["is_default"]  # none again: the next one created becomes it
    fifth = next(p for p in (await client.get(POLICIES, headers=admin)).json()["policies"] if p["is_default"])
    assert (await client.delete(f"{POLICIES}/{fifth['policy_id']}", headers=admin)).status_code == 204
    assert await defaults() == []  # deleting the default leaves none
    # another tenant's default is its own business
    other = await bearer(app, ["tenant-admin"], tenants[1])
    other_refs = {k.removeprefix("other_"): v for k, v in refs.items() if k.startswith("other_")}
    assert (await client.post(POLICIES, headers=other, json=_policy(other_refs))).json()["is_default"]
    assert await defaults() == []


async def test_concurrent_defaults_leave_exactly_one(app, client, tenants, refs) -> None:
    """The one-default constraint is checked at commit: without the per-tenant lock, a request that
    lost the race would fail there with a 500."""
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    bodies = [_policy(refs, name=f"p{n}", **({"is_default": True} if n % 2 else {})) for n in range(6)]
    responses = await asyncio.gather(*(client.post(POLICIES, headers=admin, json=b) for b in bodies))
    assert [r.status_code for r in responses] == [201] * 6
    policies = (await client.get(POLICIES, headers=admin)).json()["policies"]
    assert sum(p["is_default"] for p in policies) == 1


def _level(*targets: dict, delay: int = 0) -> dict:
    return {"delay_minutes": delay, "targets": list(targets)}


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"description": "x" * 2001},
        {"repeat_count": 11},
        {"repeat_count": -1},
        {"levels": []},
        {"levels": [_level({"type": "channel", "id": 1})] * 21},
        {"levels": [_level()]},
        {"levels": [_level(*[{"type": "channel", "id": i} for i in range(1, 22)])]},
        {"levels": [_level({"type": "channel", "id": 1}, delay=-1)]},
        {"levels": [_level({"type": "channel", "id": 1}, delay=10081)]},
        {"levels": [_level({"type": "channel", "id": 1}, {"type": "channel", "id": 1})]},
        {"levels": [_level({"type": "user", "id": 5})]},
        {"levels": [_level({"type": "team", "id": 5})]},
        {"levels": [_level({"type": "channel", "id": 0})]},
        {"levels": [_level({"type": "channel", "id": 1, "extra": True})]},
        {"levels": [{"targets": [{"type": "channel", "id": 1}]}]},
        {"unknown": 1},
    ],
)
async def test_invalid_bodies_are_refused(app, client, tenants, change) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    body = {"name": "Ops", "levels": [_level({"type": "channel", "id": 1})]} | change
    response = await client.post(POLICIES, headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("kind", ["schedule", "user", "channel"])
@pytest.mark.parametrize("whose", ["unknown", "other tenant"])
async def test_targets_must_exist_in_this_tenant(app, client, pool, tenants, refs, kind, whose) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    unknown = {"schedule": 987654, "user": str(uuid.uuid4()), "channel": 987654}
    target = {"type": kind, "id": unknown[kind] if whose == "unknown" else refs[f"other_{kind}"]}
    body = _policy(refs)
    body["levels"][1]["targets"].append(target)  # level 2, target 2
    created = await client.post(POLICIES, headers=admin, json=body)
    assert created.status_code == 422, created.text
    assert created.json()["error"] == "invalid_reference"
    assert (
        created.json()["detail"].startswith("level 2, target 2: no ")
        and str(target["id"]) in created.json()["detail"]
    )
    existing = (await client.post(POLICIES, headers=admin, json=_policy(refs))).json()
    replaced = await client.put(f"{POLICIES}/{existing['policy_id']}", headers=admin, json=body)
    assert replaced.status_code == 422 and replaced.json()["error"] == "invalid_reference"
    assert (await client.get(f"{POLICIES}/{existing['policy_id']}", headers=admin)).json() == existing


async def test_service_accounts_are_not_people(app, client, pool, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    async with operator_tx(pool, "test") as conn:
        service = await conn.fetchval(
            """INSERT INTO users (tenant_id, username, password_hash, roles, kind)
               VALUES ($1, 'svc-exporter', 'x', '{customer}', 'service') RETURNING user_id::text""",
            tenants[0],
        )
    body = {"name": "Ops", "levels": [_level({"type": "user", "id": service})]}
    response = await client.post(POLICIES, headers=admin, json=body)
    assert response.status_code == 422 and "level 1, target 1: no person" in response.json()["detail"]


async def test_roles_and_limit(app, client, pool, tenants, refs) -> None:
    viewer = await bearer(app, ["customer"], tenants[0])
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    assert (await client.post(POLICIES, headers=viewer, json=_policy(refs))).status_code == 403
    assert (await client.post(POLICIES, headers=admin, json=_policy(refs))).status_code == 201
    assert len((await client.get(POLICIES, headers=viewer)).json()["policies"]) == 1
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO escalation_policies (tenant_id, name) SELECT $1, 'p' || n FROM generate_series(2, 100) n",
            tenants[0],
        )
    full = await client.post(POLICIES, headers=admin, json=_policy(refs))
    assert full.status_code == 409 and full.json()["error"] == "limit_reached"


async def test_open_alerts_keep_their_snapshot(app, client, pool, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    policy = (await client.post(POLICIES, headers=admin, json=_policy(refs))).json()
    assert policy["is_default"]
    alert_id = await make_alert(pool, tenants[0])

    async def escalation() -> tuple:
        async with operator_tx(pool, "test") as conn:
            row = await conn.fetchrow(
                "SELECT escalation_snapshot, next_escalation_at, escalation_run_id, escalation_level FROM alerts WHERE id = $1",
                alert_id,
            )
        return tuple(row)

    before = await escalation()
    assert before[0]["policy_id"] == policy["policy_id"] and len(before[0]["levels"]) == 2
    url = f"{POLICIES}/{policy['policy_id']}"
    body = {"name": "Changed", "levels": [_level({"type": "user", "id": refs["user"]}, delay=60)]}
    assert (await client.put(url, headers=admin, json=body)).status_code == 200
    assert await escalation() == before
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert await escalation() == before


async def test_rules_link_to_a_policy(app, client, pool, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    policy_id = (await client.post(POLICIES, headers=admin, json=_policy(refs))).json()["policy_id"]
    rule = {"name": "Hot", "metric_name": "temp_c", "operator": "GT", "threshold": 80}
    created = await client.post(
        "/customer/alert-rules", headers=admin, json=rule | {"escalation_policy_id": policy_id}
    )
    assert created.status_code == 201 and created.json()["escalation_policy_id"] == policy_id
    url = f"/customer/alert-rules/{created.json()['rule_id']}"
    unlinked = await client.patch(url, headers=admin, json={"escalation_policy_id": None})
    assert unlinked.status_code == 200 and unlinked.json()["escalation_policy_id"] is None
    relinked = await client.patch(url, headers=admin, json={"escalation_policy_id": policy_id})
    assert relinked.json()["escalation_policy_id"] == policy_id
    # deleting the policy unlinks its rules; the rule itself stays
    assert (await client.delete(f"{POLICIES}/{policy_id}", headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).json()["escalation_policy_id"] is None
    # another tenant's policy cannot be linked
    kept = (await client.post(POLICIES, headers=admin, json=_policy(refs))).json()["policy_id"]
    other = await bearer(app, ["tenant-admin"], tenants[1])
    refused = await client.post(
        "/customer/alert-rules", headers=other, json=rule | {"escalation_policy_id": kept}
    )
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_reference"


# --- contact methods -------------------------------------------------------------------------------


async def test_admin_manages_a_persons_contact_methods(app, client, pool, tenants, refs) -> None:
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    url = f"/customer/users/{refs['user']}/contact-methods"
    empty = (await client.get(url, headers=admin)).json()
    assert empty == {
        "user_id": refs["user"],
        "methods": [],
        "fallback_email": f"ann-{tenants[0]}@example.com",
    }

    by_mail = await client.post(url, headers=admin, json={"kind": "email", "email": "ann@pager.example.com"})
    assert by_mail.status_code == 201, by_mail.text
    assert by_mail.json() | {"method_id": 0, "created_at": ""} == {
        "method_id": 0, "kind": "email", "email": "ann@pager.example.com", "channel_id": None,
        "channel_name": None, "channel_type": None, "enabled": True, "created_at": "",
    }  # fmt: skip
    by_channel = await client.post(
        url, headers=admin, json={"kind": "channel", "channel_id": refs["channel"]}
    )
    assert by_channel.status_code == 201
    assert (by_channel.json()["channel_name"], by_channel.json()["channel_type"]) == ("ch", "webhook")
    listed = (await client.get(url, headers=admin)).json()["methods"]
    assert [m["method_id"] for m in listed] == [by_mail.json()["method_id"], by_channel.json()["method_id"]]

    method_url = f"{url}/{by_mail.json()['method_id']}"
    disabled = await client.patch(method_url, headers=admin, json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert (await client.patch(method_url, headers=admin, json={})).status_code == 422
    assert (await client.delete(method_url, headers=admin)).status_code == 204
    assert (await client.delete(method_url, headers=admin)).status_code == 404
    assert len((await client.get(url, headers=admin)).json()["methods"]) == 1

    snmp = await make_channel(pool, tenants[0], {"host": "192.0.2.1"}, kind="snmp")
    for body, status, error in [
        ({"kind": "channel", "channel_id": refs["other_channel"]}, 422, "invalid_reference"),
        ({"kind": "channel", "channel_id": 987654}, 422, "invalid_reference"),
        ({"kind": "channel", "channel_id": snmp}, 422, "unsuitable_channel"),
        ({"kind": "channel", "channel_id": refs["channel"]}, 409, "conflict"),
        ({"kind": "email", "email": "not-an-address"}, 422, "invalid_request"),
        ({"kind": "email", "email": "a" * 310 + "@example.com"}, 422, "invalid_request"),
        ({"kind": "email", "channel_id": refs["channel"]}, 422, "invalid_request"),
        ({"kind": "sms", "number": "+100"}, 422, "invalid_request"),
    ]:
        response = await client.post(url, headers=admin, json=body)
        assert (response.status_code, response.json()["error"]) == (status, error), body

    for n in range(9):
        assert (
            await client.post(url, headers=admin, json={"kind": "email", "email": f"a{n}@example.com"})
        ).status_code == 201
    full = await client.post(url, headers=admin, json={"kind": "email", "email": "one-more@example.com"})
    assert full.status_code == 409 and full.json()["error"] == "limit_reached"
    duplicate = await client.post(url, headers=admin, json={"kind": "email", "email": "A0@Example.com"})
    assert duplicate.status_code == 409

    # only tenant admins, only people of this tenant
    viewer = await bearer(app, ["customer"], tenants[0])
    assert (await client.get(url, headers=viewer)).status_code == 403
    assert (
        await client.get(f"/customer/users/{refs['other_user']}/contact-methods", headers=admin)
    ).status_code == 404
    assert (
        await client.get(f"/customer/users/{uuid.uuid4()}/contact-methods", headers=admin)
    ).status_code == 404


async def test_people_manage_their_own_contact_methods(app, client, pool, tenants, refs) -> None:
    me = await bearer(app, ["customer"], tenants[0], sub=refs["user"])
    colleague, _ = await make_user(pool, f"bob-{tenants[0]}", ["customer"], tenants[0])
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    theirs = await client.post(
        f"/customer/users/{colleague.user_id}/contact-methods",
        headers=admin,
        json={"kind": "email", "email": "bob@example.com"},
    )
    url = "/customer/me/contact-methods"
    assert (await client.get(url, headers=me)).json()["methods"] == []
    mine = await client.post(url, headers=me, json={"kind": "channel", "channel_id": refs["channel"]})
    assert mine.status_code == 201, mine.text
    mine_url = f"{url}/{mine.json()['method_id']}"
    assert (await client.patch(mine_url, headers=me, json={"enabled": False})).json()["enabled"] is False
    # the same methods as the admin sees
    assert (await client.get(f"/customer/users/{refs['user']}/contact-methods", headers=admin)).json()[
        "methods"
    ] == (await client.get(url, headers=me)).json()["methods"]
    not_mine = f"{url}/{theirs.json()['method_id']}"
    assert (await client.delete(not_mine, headers=me)).status_code == 404
    assert (await client.patch(not_mine, headers=me, json={"enabled": False})).status_code == 404
    assert (
        await client.post(url, headers=me, json={"kind": "channel", "channel_id": refs["other_channel"]})
    ).status_code == 422
    assert (await client.delete(mine_url, headers=me)).status_code == 204
    assert (await client.get(url, headers=me)).json()["methods"] == []

    # a sign-in Pulse has no user for (an external issuer's subject) has nothing to manage here
    stranger = await bearer(app, ["tenant-admin"], tenants[0], sub="keycloak-7f3a")
    for response in (
        await client.get(url, headers=stranger),
        await client.post(url, headers=stranger, json={"kind": "email", "email": "x@example.com"}),
        await client.delete(not_mine, headers=stranger),
    ):
        assert response.status_code == 409 and response.json()["error"] == "no_pulse_user"
        assert "keycloak-7f3a" in response.json()["detail"]
    # a person of another tenant is a stranger here too
    other_person = await bearer(app, ["customer"], tenants[0], sub=refs["other_user"])
    assert (await client.get(url, headers=other_person)).status_code == 409


# --- the local mail outbox ---------------------------------------------------------------------------


async def _mail(pool, tenant: str, n: int, html: str | None = None) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            """INSERT INTO mail_outbox (tenant_id, to_address, subject, body_text, body_html)
               VALUES ($1, $2, $3, 'text body', $4) RETURNING id""",
            tenant,
            f"p{n}@example.com",
            f"Alert {n}",
            html,
        )


async def test_outbox(app, client, pool, tenants) -> None:
    ids = [await _mail(pool, tenants[0], n, html="<p>hi</p>" if n == 2 else None) for n in range(3)]
    other = await _mail(pool, tenants[1], 9)
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    page = (await client.get("/customer/outbox", headers=admin)).json()
    assert page["notice"] == NOTICE and "PULSE_SMTP_HOST" in NOTICE
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    assert [m["id"] for m in page["messages"]] == ids[::-1]
    assert set(page["messages"][0]) == {
        "id",
        "to_address",
        "subject",
        "body_text",
        "body_html",
        "created_at",
        "job_id",
    }
    assert page["messages"][0]["body_html"] == "<p>hi</p>"
    second = (await client.get("/customer/outbox", headers=admin, params={"limit": 1, "offset": 1})).json()
    assert [m["id"] for m in second["messages"]] == [ids[1]] and second["total"] == 3
    assert (await client.get("/customer/outbox", headers=admin, params={"limit": 201})).status_code == 422
    one = (await client.get(f"/customer/outbox/{ids[0]}", headers=admin)).json()
    assert one["subject"] == "Alert 0" and one["notice"] == NOTICE
    assert (await client.get(f"/customer/outbox/{other}", headers=admin)).status_code == 404
    # mail carries its recipient's acknowledge link: not for viewers
    assert (
        await client.get("/customer/outbox", headers=await bearer(app, ["customer"], tenants[0]))
    ).status_code == 403

    operator = await bearer(app, ["operator"], None)
    everything = (await client.get("/operator/outbox", headers=operator)).json()
    assert everything["total"] == 4 and everything["notice"] == NOTICE
    newest = everything["messages"][0]
    assert (newest["id"], newest["tenant_id"]) == (other, tenants[1])
    only_a = (
        await client.get("/operator/outbox", headers=operator, params={"tenant_filter": tenants[0]})
    ).json()
    assert only_a["total"] == 3 and {m["tenant_id"] for m in only_a["messages"]} == {tenants[0]}
    assert (await client.get("/operator/outbox", headers=admin)).status_code == 403
