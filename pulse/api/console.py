"""Serves the web console at /app: `/` redirects there, hashed assets are cached for a year, every
other /app path is the single-page app's `index.html` (never cached, so a new build is picked up at
once), and /app/config.json tells the console which OIDC issuer and client to sign in with — the
built-in issuer by default, an external one (Keycloak) when PULSE_OIDC_ISSUER is set, with no rebuild.

Every response carries a Content-Security-Policy without inline scripts. A missing build answers 503
with how to build it, never a 500."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from pulse.config import Settings
from pulse.console import BUILD_HINT
from pulse.identity.clients import CONSOLE_CLIENT_ID

router = APIRouter(include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
CONSOLE_SCOPES = "openid profile email offline_access"
WS_PATH = "/api/v2/ws"


def console_issuer(settings: Settings) -> str:
    """The issuer the console signs in with: the configured external one, else the built-in one."""
    return settings.oidc_issuer or settings.base_url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    base = urlsplit(settings.base_url)
    ws_scheme = "wss" if base.scheme == "https" else "ws"
    connect = ["'self'", _origin(console_issuer(settings)), f"{ws_scheme}://{base.netloc}"]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"connect-src {' '.join(dict.fromkeys(connect))}",
            "img-src 'self' data:",
            # Mantine sets style attributes and a <style> element for its CSS variables.
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _security_headers(request: Request, cache: str) -> dict[str, str]:
    return {
        "Cache-Control": cache,
        "Content-Security-Policy": content_security_policy(request.app.state.settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _static_dir(request: Request) -> Path:
    return request.app.state.console_dir


def _not_built(request: Request) -> Response:
    detail = f"The web console is not built in this installation. {BUILD_HINT}"
    headers = _security_headers(request, "no-store")
    if "text/html" in request.headers.get("accept", ""):
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Pulse console not built"
            "</title></head><body><main><h1>The Pulse console is not built</h1>"
            f"<p>{detail}</p><p>The API itself is running: <a href='/docs'>API docs</a>.</p>"
            "</main></body></html>"
        )
        return HTMLResponse(page, status_code=503, headers=headers)
    return JSONResponse({"error": "console_not_built", "detail": detail}, status_code=503, headers=headers)


def _inside(root: Path, relative: str) -> Path | None:
    """The file `relative` under `root`, or None when it is missing or would leave `root`."""
    try:
        candidate = (root / relative).resolve()
        if candidate.is_relative_to(root.resolve()) and candidate.is_file():
            return candidate
    except (OSError, ValueError):
        pass
    return None


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=302)


@router.get("/app")
async def app_without_slash() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=302)


@router.get("/app/config.json")
async def console_config(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    config = {
        "issuer": console_issuer(settings),
        "client_id": CONSOLE_CLIENT_ID,
        "scopes": CONSOLE_SCOPES,
        "api_base": "",  # same origin
        "ws_url": WS_PATH,
    }
    return JSONResponse(config, headers=_security_headers(request, NO_CACHE))


@router.get("/app/assets/{path:path}")
async def console_asset(request: Request, path: str) -> Response:
    root = _static_dir(request)
    if not (root / "index.html").is_file():
        return _not_built(request)
    found = _inside(root / "assets", path)
    if found is None:
        return JSONResponse(
            {"error": "not_found", "detail": f"no console asset {path!r}"},
            status_code=404,
            headers=_security_headers(request, "no-store"),
        )
    # Names carry a content hash (Vite), so a file never changes under its name.
    return FileResponse(found, headers=_security_headers(request, IMMUTABLE))


@router.get("/app/{path:path}")
async def console_page(request: Request, path: str) -> Response:
    root = _static_dir(request)
    index = root / "index.html"
    if not index.is_file():
        return _not_built(request)
    # Top-level files of the build (favicon …) as themselves; every other path is a client-side route.
    found = _inside(root, path) if path and "/" not in path else None
    return FileResponse(found or index, headers=_security_headers(request, NO_CACHE))
