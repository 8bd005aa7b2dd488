"""The console's serving rules (pulse/api/console.py) against a tiny fake build in a temp dir: the
redirect, immutable hashed assets, index.html for client-side routes, the runtime config, the CSP, and
the answer when nothing is built."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pulse.api.app import create_app
from pulse.config import Settings

INDEX = (
    "<!doctype html><title>console</title><script type='module' src='/app/assets/index-abc123.js'></script>"
)


def _settings(**overrides) -> Settings:
    return Settings(http_host="127.0.0.1", http_port=8899, **overrides)


def _fake_build(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('pulse')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root.parent / "secret.txt").write_text("outside the build")
    return root


def _client(console_dir: Path, **settings) -> httpx.AsyncClient:
    app = create_app(_settings(**settings), pool=None)
    app.state.console_dir = console_dir
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8899")


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return _fake_build(tmp_path / "static")


async def test_root_redirects_to_the_console(build: Path) -> None:
    async with _client(build) as client:
        for path in ("/", "/app"):
            response = await client.get(path)
            assert response.status_code == 302
            assert response.headers["location"] == "/app/"


async def test_hashed_assets_are_cached_as_immutable(build: Path) -> None:
    async with _client(build) as client:
        response = await client.get("/app/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.text == "console.log('pulse')"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in response.headers["content-type"]


async def test_a_missing_asset_is_a_404_not_the_index(build: Path) -> None:
    async with _client(build) as client:
        response = await client.get("/app/assets/index-old999.js")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_paths_cannot_leave_the_build(build: Path) -> None:
    async with _client(build) as client:
        for path in ("/app/assets/../../secret.txt", "/app/assets/%2e%2e/%2e%2e/secret.txt"):
            response = await client.get(path)
            assert "outside the build" not in response.text


@pytest.mark.parametrize(
    "path", ["/app/", "/app/dashboard", "/app/alerts?status=OPEN", "/app/callback?code=x"]
)
async def test_client_side_routes_get_the_uncached_index(build: Path, path: str) -> None:
    async with _client(build) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/html")


async def test_top_level_build_files_are_served_as_themselves(build: Path) -> None:
    async with _client(build) as client:
        response = await client.get("/app/favicon.svg")
    assert response.status_code == 200
    assert response.text.startswith("<svg")


async def test_content_security_policy_allows_no_inline_script(build: Path) -> None:
    async with _client(build) as client:
        response = await client.get("/app/devices")
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in policy["default-src"] + policy["script-src"]
    assert policy["frame-ancestors"] == "'none'"
    assert "ws://127.0.0.1:8899" in policy["connect-src"].split()
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_config_points_at_the_builtin_issuer_by_default(build: Path) -> None:
    async with _client(build) as client:
        response = await client.get("/app/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    config = response.json()
    assert config["issuer"] == "http://127.0.0.1:8899"
    assert config["client_id"] == "pulse-ui"
    assert "openid" in config["scopes"].split()
    assert config["ws_url"] == "/api/v2/ws"
    assert config["api_base"] == ""


async def test_config_and_csp_follow_an_external_issuer(build: Path) -> None:
    keycloak = "https://sso.example.com/realms/pulse"
    async with _client(build, oidc_issuer=keycloak, public_url="https://pulse.example.com") as client:
        response = await client.get("/app/config.json")
        page = await client.get("/app/")
    assert response.json()["issuer"] == keycloak
    connect = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))[
        "connect-src"
    ].split()
    assert "https://sso.example.com" in connect
    assert "wss://pulse.example.com" in connect


async def test_without_a_build_the_console_explains_how_to_build_it(tmp_path: Path) -> None:
    async with _client(tmp_path / "nothing-here") as client:
        as_json = await client.get("/app/dashboard")
        as_page = await client.get("/app/", headers={"Accept": "text/html"})
        asset = await client.get("/app/assets/index-abc123.js")
        config = await client.get("/app/config.json")
    assert as_json.status_code == 503
    assert as_json.json()["error"] == "console_not_built"
    assert "npm run build" in as_json.json()["detail"]
    assert as_page.status_code == 503
    assert "make console" in as_page.text
    assert asset.status_code == 503
    assert config.status_code == 200  # the config does not depend on the build
