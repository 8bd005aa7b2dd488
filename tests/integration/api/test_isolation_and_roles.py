"""Tenant isolation at every endpoint and the role matrix, table-driven over the app's own route list:
a route added later is covered without touching this file (an unknown path parameter fails loudly)."""

from __future__ import annotations

import re

import pytest

from tests.integration.api.helpers import bearer, seed_resources

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A person's own things (their on-call feed): any person of the tenant manages them, customer role included.
SELF_SERVICE_PREFIX = "/customer/me/"

# A valid body per (method, path), so the request gets past validation and the 404 really comes from
# the lookup of tenant A's resource.
BODIES: dict[tuple[str, str], dict] = {
    ("PATCH", "/customer/devices/{device_id}"): {"notes": "x"},
    ("PUT", "/customer/devices/{device_id}/tags"): {"tags": ["a"]},
    ("POST", "/customer/devices/{device_id}/tokens/rotate"): {"label": "x"},
    ("PATCH", "/customer/sites/{site_id}"): {"name": "x"},
    ("PATCH", "/customer/device-groups/{group_id}"): {"name": "x"},
    ("PATCH", "/customer/alerts/{alert_id}/silence"): {"minutes": 5},
    ("PATCH", "/customer/alert-rules/{rule_id}"): {"severity": 2},
    ("PATCH", "/customer/maintenance-windows/{window_id}"): {"name": "x"},
    ("PATCH", "/customer/users/{user_id}"): {"display_name": "x"},
    ("PUT", "/customer/escalation-policies/{policy_id}"): {
        "name": "x",
        "levels": [{"delay_minutes": 0, "targets": [{"type": "channel", "id": 1}]}],
    },
    ("POST", "/customer/users/{user_id}/contact-methods"): {"kind": "email", "email": "x@example.com"},
    ("PATCH", "/customer/users/{user_id}/contact-methods/{method_id}"): {"enabled": False},
    ("PATCH", "/customer/me/contact-methods/{method_id}"): {"enabled": False},
}


def _api_routes(app) -> list[tuple[str, str, dict]]:
    """(method, path template, operation) for every operation in the OpenAPI document."""
    return [
        (method.upper(), path, operation)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in ids, f"add a seeded value for path parameter {name!r} to seed_resources()"
        return ids[name]

    return re.sub(r"\{(\w+)\}", value, path)


def _tenant_routes(app):
    return [
        (m, p, r) for m, p, r in _api_routes(app) if p.startswith(("/api/v2/", "/customer/")) and "{" in p
    ]


async def test_other_tenants_resources_are_404_at_every_endpoint(app, client, pool, tenants) -> None:
    a, b = tenants
    ids = await seed_resources(pool, a, "a")
    await seed_resources(pool, b, "b")  # B has data of its own, with other ids
    intruder = await bearer(app, ["tenant-admin"], b)
    routes = _tenant_routes(app)
    assert len(routes) > 30
    leaks = []
    for method, path, _ in routes:
        url = _fill(path, ids)
        body = BODIES.get((method, path))
        response = await client.request(method, url, headers=intruder, json=body)
        if response.status_code != 404:
            leaks.append((method, path, response.status_code, response.text[:200]))
        else:
            assert response.json()["error"] == "not_found"
    assert leaks == []


async def test_owner_reads_its_resources_at_every_endpoint(app, client, pool, tenants) -> None:
    """The same ids work for their owner: the 404s above come from isolation, not from bad ids."""
    ids = await seed_resources(pool, tenants[0])
    owner = await bearer(app, ["tenant-admin"], tenants[0])
    for method, path, _ in _tenant_routes(app):
        if method == "GET":
            response = await client.get(_fill(path, ids), headers=owner)
            assert response.status_code == 200, (path, response.text)


async def test_customer_role_cannot_write(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0])
    viewer = await bearer(app, ["customer"], tenants[0])
    writes = [(m, p) for m, p, _ in _api_routes(app) if m in WRITE_METHODS and p.startswith("/customer/")]
    self_service = [(m, p) for m, p in writes if p.startswith(SELF_SERVICE_PREFIX)]
    writes = [w for w in writes if w not in self_service]
    assert len(writes) > 20 and self_service
    for method, path in self_service:
        response = await client.request(method, _fill(path, ids), headers=viewer)
        assert response.status_code != 403, (method, path, response.text)
    for method, path in writes:
        kwargs = (
            {"files": {"file": ("d.csv", b"name\nx\n")}}
            if path.endswith("/import")
            else {"json": BODIES.get((method, path))}
        )
        response = await client.request(method, _fill(path, ids), headers=viewer, **kwargs)
        assert response.status_code == 403, (method, path, response.status_code)


async def test_tenant_admin_cannot_reach_operator_routes(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0])
    admin = await bearer(app, ["tenant-admin"], tenants[0])
    for method, path, _ in _api_routes(app):
        if path.startswith("/operator/"):
            response = await client.request(method, _fill(path, ids), headers=admin, json={})
            assert response.status_code == 403, (method, path)


async def test_operators_cannot_use_customer_routes(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0])
    operator = await bearer(app, ["operator-admin"], None)
    for method, path, _ in _api_routes(app):
        if path.startswith(("/customer/", "/api/v2/")) and method == "GET":
            response = await client.get(_fill(path, ids), headers=operator)
            assert response.status_code == 403, path


async def test_every_api_route_needs_a_token(app, client, pool, tenants) -> None:
    ids = await seed_resources(pool, tenants[0])
    for method, path, _ in _api_routes(app):
        if path.startswith(("/customer", "/api/v2", "/operator")):
            response = await client.request(method, _fill(path, ids))
            assert response.status_code == 401, (method, path)
            assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("role", ["operator", "operator-admin"])
async def test_operator_requests_are_audited(app, client, pool, tenants, role) -> None:
    ids = await seed_resources(pool, tenants[0])
    operator = await bearer(app, [role], None, sub=f"sub-{role}")
    get_routes = [p for m, p, _ in _api_routes(app) if m == "GET" and p.startswith("/operator/")]
    for path in get_routes:
        assert (
            await client.get(_fill(path, ids), headers=operator, params={"tenant_filter": tenants[0]})
        ).status_code in (200, 404)
    # a write an operator may not do is refused, and audited too
    refused = await client.post(
        "/operator/tenants", headers=operator, json={"tenant_id": "new-t", "name": "New"}
    )
    assert refused.status_code == (201 if role == "operator-admin" else 403)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, tenant_filter, resource_type, resource_id, ip_address FROM operator_audit_log WHERE user_id = $1",
            f"sub-{role}",
        )
    assert len(rows) == len(get_routes) + 1
    actions = {r["action"] for r in rows}
    assert {"list_tenants", "list_all_devices", "view_audit_log", "create_tenant"} <= actions
    device_rows = [r for r in rows if r["action"] == "view_device"]
    assert device_rows[0]["resource_type"] == "device" and device_rows[0]["resource_id"] == ids["device_id"]
    assert all(r["tenant_filter"] == tenants[0] for r in rows if r["action"] != "create_tenant")
