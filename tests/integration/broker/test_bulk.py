"""Devices provisioned in bulk through the admin API log in to a dynamic-security broker at once."""

from __future__ import annotations

import asyncio

import httpx

from pulse.api.app import create_admin_app
from pulse.broker.access import device_username
from tests.factories import make_tenant
from tests.integration.broker.helpers import connect_refused, dynsec_broker, dynsec_settings

KEY = "bulk-test-admin-key-0123456789"


async def test_bulk_provisioned_accounts_reach_the_broker(settings, pool, tmp_path) -> None:
    await make_tenant(pool, "acme", device_limit=1000)
    async with dynsec_broker(dynsec_settings(settings), tmp_path / "broker") as s:
        app = create_admin_app(s, pool, KEY)
        devices = [{"device_id": f"bulk-{i}", "site_id": "hq"} for i in range(450)]  # more than one batch
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"X-Admin-Key": KEY}
        ) as http:
            response = await http.post(
                "/api/admin/devices/bulk", json={"tenant_id": "acme", "devices": devices}
            )
        assert response.status_code == 201, response.text
        provisioned = response.json()["devices"]
        assert len(provisioned) == 450
        for device in (provisioned[0], provisioned[250], provisioned[-1]):
            name = device_username("acme", device["device_id"])
            assert device["mqtt_username"] == name
            for _ in range(50):  # pushed by a background task after the commit
                if not await connect_refused(s, name, device["provision_token"], name):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"{name} cannot log in")
            assert await connect_refused(s, name, "wrong-password", name)
