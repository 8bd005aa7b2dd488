"""/healthz, /readyz, the OpenAPI document and the error shape."""

import httpx
import pytest

from pulse.api.app import create_app
from pulse.config import load_settings
from pulse.embedded import free_port


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_healthz_and_readyz(settings, pool) -> None:
    async with client_for(create_app(settings, pool)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


async def test_readyz_reports_unreachable_broker(settings, pool) -> None:
    broken = settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}"})
    async with client_for(create_app(broken, pool)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable")


async def test_readyz_reports_unreachable_database(settings, pool) -> None:
    await pool.close()
    async with client_for(create_app(settings, pool)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unreachable")


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [("GET", "/no/such/path", 404, "not_found"), ("POST", "/healthz", 405, "method_not_allowed")],
)
async def test_errors_have_the_standard_shape(settings, pool, method, path, status, error) -> None:
    async with client_for(create_app(settings, pool)) as client:
        response = await client.request(method, path)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "detail" in response.json()


async def test_openapi_document(pool) -> None:
    app = create_app(load_settings(_env_file=None), pool)
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert docs.status_code == 200
    assert spec["info"]["title"] == "Pulse API"
    assert {"/healthz", "/readyz"} <= set(spec["paths"])
    assert spec["paths"]["/readyz"]["get"]["operationId"] == "health-readyz"


async def test_database_data_errors_are_client_errors(settings, pool) -> None:
    from fastapi import Query

    app = create_app(settings, pool)

    @app.get("/probe-data-error")
    async def probe(value: str = Query()):  # a NUL is valid in a URL but not in a PostgreSQL text value
        async with pool.acquire() as conn:
            return {"echo": await conn.fetchval("SELECT $1::text", value)}

    async with client_for(app) as client:
        response = await client.get("/probe-data-error", params={"value": "a\x00b"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
