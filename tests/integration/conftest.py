"""Fixtures shared by integration tests: a tenant with a device, a running ingest service, and the API
app with an HTTP client and two tenants (API and identity tests)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from pulse.api.app import create_app
from pulse.ingest import service as ingest_service
from tests.factories import Device, make_device, make_tenant
from tests.integration.api.helpers import client_for
from tests.integration.ingest.helpers import wait_consuming


@pytest.fixture
async def tenant(pool) -> str:
    return await make_tenant(pool)


@pytest.fixture
async def device(pool, tenant) -> Device:
    return await make_device(pool, tenant)


@pytest.fixture
def ingest_settings(settings):
    # Each test gets its own session and shared-subscription group, so tests never steal messages.
    suffix = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "ingest_client_id": f"test-ingest-{suffix}",
            "ingest_shared_group": f"g{suffix}" if settings.ingest_shared_group else "",
            "ingest_auth_cache_ttl": 0.5,
            "ingest_flush_ms": 20,
            "ingest_settings_poll_seconds": 0.2,
        }
    )


@pytest.fixture
async def ingest(ingest_settings, pool):
    """Run the ingest service; yields once it consumes what is published."""
    task = asyncio.create_task(ingest_service.run(ingest_settings))
    await wait_consuming(ingest_settings, pool, task)
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
