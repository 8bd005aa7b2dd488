"""Request size limit and CORS, on routes that need no database."""

from __future__ import annotations

import httpx

from pulse.api.app import create_app
from pulse.config import load_settings


def _client(**overrides) -> httpx.AsyncClient:
    app = create_app(load_settings(_env_file=None, **overrides), None)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_oversized_bodies_get_413_with_or_without_content_length() -> None:
    async with _client(max_request_bytes=2048) as client:
        declared = await client.post(
            "/oauth/token", content=b"x" * 4096, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert declared.status_code == 413 and declared.json()["error"] == "payload_too_large"

        async def chunks():
            for _ in range(4):
                yield b"grant_type=" + b"x" * 1000

        streamed = await client.post(
            "/oauth/token", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert streamed.status_code == 413 and streamed.json()["error"] == "payload_too_large"


async def test_cors_is_closed_by_default() -> None:
    async with _client() as client:
        response = await client.get(
            "/.well-known/openid-configuration", headers={"Origin": "https://evil.example"}
        )
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_configured_origins_only() -> None:
    async with _client(cors_origins="https://console.example") as client:
        ok = await client.options(
            "/api/v2/devices",
            headers={"Origin": "https://console.example", "Access-Control-Request-Method": "GET"},
        )
        other = await client.options(
            "/api/v2/devices",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://console.example"
    assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_every_route_with_schemas() -> None:
    spec = create_app(load_settings(_env_file=None), None).openapi()  # type: ignore[arg-type]
    assert {"/api/v2/devices", "/customer/devices", "/operator/tenants", "/oauth/token"} <= set(spec["paths"])
    assert spec["paths"]["/customer/devices"]["post"]["operationId"] == "customer-devices-create_device"
    created = spec["paths"]["/customer/devices"]["post"]
    assert "requestBody" in created and "201" in created["responses"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
