"""Liveness and readiness probes, and the Prometheus exposition of this process's metrics."""

from __future__ import annotations

import asyncio

import aiomqtt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from pulse.broker.access import service_login
from pulse.metrics import REGISTRY

router = APIRouter(tags=["health"])

_PROBE_TIMEOUT = 3.0


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str  # "ok" | "degraded"
    checks: dict[str, str]


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process is alive and serving requests."""
    return Liveness(status="ok")


async def _check_database(request: Request) -> str:
    try:
        async with request.app.state.pool.acquire(timeout=_PROBE_TIMEOUT) as conn:
            await conn.fetchval("SELECT 1", timeout=_PROBE_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


async def check_broker(request: Request) -> str:
    settings = request.app.state.settings
    host, port = settings.mqtt_host_port
    username, password = service_login(settings, "notify") or (None, None)  # an authenticated broker
    try:
        async with (
            asyncio.timeout(_PROBE_TIMEOUT),
            aiomqtt.Client(host, port, username=username, password=password, timeout=_PROBE_TIMEOUT),
        ):
            pass
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request):
    """The database and the MQTT broker answer. 503 with the failing check otherwise."""
    db, broker = await asyncio.gather(_check_database(request), check_broker(request))
    checks = {"database": db, "broker": broker}
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ok" if ready else "degraded", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def prometheus_metrics() -> Response:
    """Every metric of this process (all services in `pulse up`) in the Prometheus text format. No
    tenant or device ids in any label; keep the path off the public proxy all the same."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
