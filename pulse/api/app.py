"""Builds the FastAPI application: middleware, error handlers, one router per URL prefix."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pulse import __version__
from pulse.api.errors import ErrorBody, install_error_handlers
from pulse.api.routes import health
from pulse.config import Settings


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
    install_error_handlers(app)
    app.include_router(health.router)
    return app
