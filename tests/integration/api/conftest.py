"""API test fixtures: the app on the per-test database, an HTTP client, and two tenants."""

from __future__ import annotations

import pytest

from pulse.api.app import create_app
from tests.integration.api.helpers import client_for, make_tenant

TENANT_A, TENANT_B = "tenant-a", "tenant-b"


@pytest.fixture
def app(settings, pool):
    return create_app(settings, pool)


@pytest.fixture
async def client(app):
    async with client_for(app) as client:
        yield client


@pytest.fixture
async def tenants(pool) -> tuple[str, str]:
    await make_tenant(pool, TENANT_A)
    await make_tenant(pool, TENANT_B)
    return TENANT_A, TENANT_B
