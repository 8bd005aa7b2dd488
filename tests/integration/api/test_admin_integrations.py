"""Integrations and routes on the admin API, end to end: configure through HTTP, an alert is delivered."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from pulse.api.app import create_admin_app
from pulse.notify import service as notify_service
from tests.factories import make_alert, make_tenant
from tests.integration.ingest.helpers import wait_for
from tests.integration.notify.helpers import Receiver
from tests.integration.notify.test_delivery import SECRET, verify_standard

KEY = "test-admin-key-0123456789"


@pytest.fixture
def loopback_settings(settings):
    return settings.model_copy(update={"notify_allow_loopback": True})


@pytest.fixture
async def admin(loopback_settings, pool):
    app = create_admin_app(loopback_settings, pool, KEY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"X-Admin-Key": KEY}
    ) as client:
        yield client


async def test_configured_route_delivers_an_alert(admin, pool, loopback_settings) -> None:
    await make_tenant(pool)
    async with Receiver() as receiver:
        created = await admin.post(
            "/api/admin/integrations",
            json={
                "tenant_id": "acme",
                "name": "ops hook",
                "config": {"url": receiver.url, "secret": SECRET},
            },
        )
        assert created.status_code == 201, created.text
        assert SECRET not in created.text
        integration_id = created.json()["integration_id"]
        route = await admin.post(
            "/api/admin/integration-routes",
            json={"tenant_id": "acme", "integration_id": integration_id, "severities": ["CRITICAL"],
                  "deliver_on": ["OPEN", "CLOSED"]},
        )  # fmt: skip
        assert route.status_code == 201, route.text
        listed = (await admin.get("/api/admin/integration-routes", params={"tenant_id": "acme"})).json()
        assert listed["count"] == 1 and listed["data"][0]["deliver_on"] == ["OPEN", "CLOSED"]

        task = asyncio.create_task(notify_service.run(loopback_settings))
        try:
            await make_alert(pool, "acme", severity=5)
            await wait_for(lambda: _delivered(receiver))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    request = receiver.requests[0]
    assert verify_standard(SECRET, request.headers, request.body)  # the real secret was stored


async def _delivered(receiver: Receiver) -> bool:
    return bool(receiver.requests)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"tenant_id": "acme", "name": "x", "config": {"url": "http://10.0.0.1/hook"}}, 422, "url_refused"),
        (
            {"tenant_id": "acme", "name": "x", "config": {"url": "http://169.254.169.254/"}},
            422,
            "url_refused",
        ),
        ({"tenant_id": "acme", "name": "x", "config": {"url": "not a url"}}, 422, "invalid_config"),
        (
            {"tenant_id": "acme", "name": "x", "config": {"url": "https://example.com", "x": 1}},
            422,
            "invalid_config",
        ),
        ({"tenant_id": "acme", "name": "x", "type": "pager", "config": {}}, 422, "invalid_request"),
    ],
)
async def test_bad_integrations_are_refused(admin, pool, body, status, error) -> None:
    await make_tenant(pool)
    response = await admin.post("/api/admin/integrations", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)


async def test_route_needs_an_integration_of_the_tenant(admin, pool) -> None:
    await make_tenant(pool)
    response = await admin.post(
        "/api/admin/integration-routes",
        json={"tenant_id": "acme", "integration_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert (response.status_code, response.json()["error"]) == (404, "integration_not_found")
