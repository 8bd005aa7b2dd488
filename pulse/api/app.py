"""Builds the two FastAPI applications — the API and the provisioning admin API — with their middleware,
the one error mapping and one router per URL prefix."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from pulse import __version__
from pulse.api import console
from pulse.api.body_limit import BodyLimitMiddleware
from pulse.api.errors import ErrorBody, install_error_handlers
from pulse.api.live import LiveHub, listener_factory
from pulse.api.request_id import HEADER, RequestIdMiddleware
from pulse.api.routes import API_ROUTERS, health
from pulse.api.routes.admin import ADMIN_ROUTERS
from pulse.api.routes.admin.activation import ACTIVATIONS_PER_MINUTE_PER_IP
from pulse.config import Settings
from pulse.console import STATIC_DIR as CONSOLE_DIR
from pulse.identity.issuer import Issuer
from pulse.identity.verify import build_verifier
from pulse.ingest.rate_limit import SlidingWindows


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings, pool: asyncpg.Pool) -> FastAPI:
    app = FastAPI(
        title="Pulse API",
        version=__version__,
        description="Multi-tenant IoT fleet operations: telemetry, device health, alerts and on-call routing.",
        generate_unique_id_function=_operation_id,
        responses={422: {"model": ErrorBody}},
    )
    app.state.settings = settings
    app.state.pool = pool
    # The built-in issuer (login, tokens, JWKS) and the verifier every route uses (pulse/identity).
    app.state.issuer = Issuer(pool, settings) if settings.builtin_issuer else None
    app.state.verifier = build_verifier(settings, app.state.issuer.keys if app.state.issuer else None)
    # One LISTEN connection per process feeds every WebSocket client (started on first use).
    app.state.live_hub = LiveHub(pool, listener_factory(settings.database_url, pool))
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:  # closed unless configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", HEADER],
            expose_headers=[HEADER],
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)  # outermost: even a refused body gets an id
    app.include_router(health.router)
    for router in API_ROUTERS:
        app.include_router(router)
    # The web console (pulse/api/console.py) from the build in pulse/console/static, when present.
    app.state.console_dir = CONSOLE_DIR
    app.include_router(console.router)
    return app


def create_admin_app(settings: Settings, pool: asyncpg.Pool, admin_key: str) -> FastAPI:
    app = FastAPI(
        title="Pulse provisioning admin API",
        version=__version__,
        description="Tenants, devices and device credentials. Every /api/admin call needs `X-Admin-Key`.",
        responses={422: {"model": ErrorBody}},
    )
    app.state.settings, app.state.pool, app.state.admin_key = settings, pool, admin_key
    app.state.activation_limit = SlidingWindows(ACTIVATIONS_PER_MINUTE_PER_IP, 60.0)
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    for router in ADMIN_ROUTERS:
        app.include_router(router)
    return app
