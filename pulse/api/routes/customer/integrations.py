"""/customer/integrations and /customer/integration-routes: where a tenant's alert events are delivered.

An integration is one target of any kind in the channel registry (`pulse.notify.channels.CHANNELS`:
webhook, slack, pagerduty, teams, and every kind registered later); a route says which alert events go
to it. Reads need `customer`, every change and every test send `tenant-admin`.

Configs are validated by the channel's own `Config` and every target by the outbound-safety check at
save time (`pulse.notify.configs`; checked again at send time). Responses show configs masked — secrets
(signing secrets, Slack/Teams webhook URLs, PagerDuty routing keys, header values …) as `********` —
and an update that sends the mask back keeps the stored secret.

This module also holds what the notification-channel routes share with it: the kind and config field
types, config validation as API errors, masking, and the synchronous, rate-limited test send.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from pulse.api.deps import CustomerPrincipal, Pool, TenantAdmin, TenantDb, _tenant_db
from pulse.api.errors import ApiError, ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.models import IdList
from pulse.config import Settings
from pulse.notify import configs, ssrf
from pulse.notify.channels import CHANNELS
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.configs import ChannelKind
from pulse.notify.events import AlertEvent
from pulse.notify.service import http_client
from pulse.notify.worker import config_error, scrub, secrets_of

router = APIRouter(
    prefix="/customer/integrations",
    tags=["customer-integrations"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
routes_router = APIRouter(
    prefix="/customer/integration-routes",
    tags=["customer-integration-routes"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

# ---------------------------------------------------------------------------------------------------
# Shared with notification_channels.py
# ---------------------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 16 * 1024
TEST_SENDS, TEST_WINDOW_SECONDS = 5, 60
TEST_LOCK_CLASS = 0x7E57  # advisory-lock class of the test-send rate limit (second key: the action)

# Alert types the evaluator produces for a tenant (SYSTEM_HEALTH exists only in the synthetic
# `__system__` tenant, so no customer route or rule could ever match it).
AlertTypeName = Literal["THRESHOLD", "ANOMALY", "NO_HEARTBEAT", "NO_TELEMETRY"]
DeliveryEvent = Literal["OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"]
SeverityLabel = Literal["CRITICAL", "WARNING", "INFO"]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


KindText = Annotated[str, StringConstraints(min_length=1, max_length=32)]


def _bounded_config(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_CONFIG_BYTES:
        raise ValueError(f"config larger than {MAX_CONFIG_BYTES} bytes")
    return value


ChannelConfig = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_config),
    Field(
        description="The channel's settings: webhook {url, headers?, secret?}; slack {url}; "
        "pagerduty {routing_key, url?}; teams {url}; other kinds as their channel defines. Secrets come "
        "back as `********`; sending `********` back keeps the stored value."
    ),
]


def show_config(kind: str, data: Any) -> dict[str, Any]:
    """A stored config as responses show it. A kind no channel handles (any more) shows no values."""
    data = data if isinstance(data, dict) else {}
    if kind not in CHANNELS:
        return dict.fromkeys(data, configs.MASK)
    return configs.masked(kind, data)


async def checked_config(kind: str, raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Validate with the channel and check its targets; the JSON to store, or a 422."""
    if kind not in CHANNELS:
        raise ApiError(422, "unsupported_type", f"no channel handles type {kind!r}")
    try:
        config = await configs.validate(kind, raw, ssrf.Policy.from_settings(settings))
    except configs.TargetRefused as exc:
        raise ApiError(422, "target_refused", str(exc)) from None
    except configs.ConfigInvalid as exc:
        raise ApiError(422, "invalid_config", {"message": str(exc), "fields": exc.fields}) from None
    except (ValueError, ssrf.Blocked) as exc:  # a channel's own check refusing something else
        raise ApiError(
            422, "invalid_config", {"message": f"invalid {kind} config", "fields": ["config"]}
        ) from exc
    return configs.stored(config)


async def new_config(kind: str, raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """`checked_config` for a new target: a secret that is the mask itself is refused (a form that copied
    a masked config would otherwise store `********` as the secret, or silently drop an optional one)."""
    if kind in CHANNELS:
        headers = raw.get("headers")
        masked = [name for name in sorted(configs.secret_fields(kind)) if raw.get(name) == configs.MASK]
        if isinstance(headers, dict):
            masked += [f"headers.{key}" for key, value in headers.items() if value == configs.MASK]
        if masked:
            raise ApiError(
                422,
                "invalid_config",
                {
                    "message": f"{configs.MASK} stands for a stored secret; send the real value",
                    "fields": masked,
                },
            )
    return await checked_config(kind, raw, settings)


def not_null(body: BaseModel, names: set[str]) -> set[str]:
    """The fields an update sets; 400 when none, or when one that cannot be null is null."""
    fields = set(body.model_fields_set)
    if not fields:
        raise ApiError(400, "bad_request", "no fields to update")
    nulls = sorted(f for f in fields & names if getattr(body, f) is None)
    if nulls:
        raise ApiError(400, "bad_request", f"{', '.join(nulls)} cannot be null")
    return fields


def unique(values: list[Any] | None) -> list[Any] | None:
    """A list without repeats, in the given order."""
    return None if values is None else list(dict.fromkeys(values))


# A short transaction of its own: `TenantDb` stays open until the response, and a test send must not
# hold a pooled connection (or the rate-limit lock) while it waits for a remote target.
tenant_conn = asynccontextmanager(_tenant_db)


class DeliveryTestResult(BaseModel):
    """The outcome of one synchronous test send (no job is created, nothing is retried)."""

    ok: bool
    reason: str = Field(
        description="The channel's classification: ok, client_error, timeout, ssrf_blocked, …"
    )
    http_status: int | None = Field(description="The target's HTTP status, for HTTP channels.")
    latency_ms: int
    error: str | None = Field(description="What went wrong; secrets and URLs are redacted.")
    message_id: str = Field(description="The `webhook-id` / message id the target received.")


async def take_test_slot(conn: asyncpg.Connection, tenant_id: str, action: str) -> None:
    """Count one test send of `action` in `rate_limits`: at most TEST_SENDS per TEST_WINDOW_SECONDS,
    else 429 with Retry-After. Concurrent requests serialise on a transaction advisory lock, so they
    cannot both see room for one; the action's expired rows are pruned on the way."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2 || ':' || $3))", TEST_LOCK_CLASS, tenant_id, action
    )
    now = await conn.fetchval("SELECT clock_timestamp()")
    await conn.execute(
        "DELETE FROM rate_limits WHERE tenant_id = $1 AND action = $2 AND created_at <= $3::timestamptz - make_interval(secs => $4::int)",
        tenant_id,
        action,
        now,
        TEST_WINDOW_SECONDS,
    )
    used, oldest = await conn.fetchrow(
        "SELECT count(*), min(created_at) FROM rate_limits WHERE tenant_id = $1 AND action = $2",
        tenant_id,
        action,
    )
    if used >= TEST_SENDS:
        wait = TEST_WINDOW_SECONDS - (now - oldest).total_seconds()
        raise ApiError(
            429,
            "rate_limited",
            f"at most {TEST_SENDS} test sends per {TEST_WINDOW_SECONDS} s for one target",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )
    await conn.execute(
        "INSERT INTO rate_limits (tenant_id, action, created_at) VALUES ($1, $2, $3)", tenant_id, action, now
    )


def test_event(tenant_id: str, actor: str | None) -> AlertEvent:
    return AlertEvent(
        event_id=0,
        tenant_id=tenant_id,
        alert_id=0,
        event="OPEN",
        status="OPEN",
        site_id="test-site",
        device_id="test-device",
        alert_type="TEST",
        severity=3,
        summary="Test notification from Pulse",
        created_at=datetime.now(UTC),
        actor=actor,
        details={"test": True},
    )


async def send_test(settings: Settings, kind: str, raw: Any, event: AlertEvent) -> DeliveryTestResult:
    """One send through the channel, as the worker would make it, answered synchronously."""
    message_id = f"pulse-test-{uuid.uuid4()}"
    channel = CHANNELS.get(kind)
    if channel is None:
        return DeliveryTestResult(
            ok=False,
            reason=str(Reason.CONFIG_INVALID),
            http_status=None,
            latency_ms=0,
            error="channel_unsupported",
            message_id=message_id,
        )
    try:
        config = channel.Config.model_validate(raw)
    except ValidationError as exc:
        return DeliveryTestResult(
            ok=False,
            reason=str(Reason.CONFIG_INVALID),
            http_status=None,
            latency_ms=0,
            error=config_error(exc)[:500],
            message_id=message_id,
        )
    ctx = SendContext(
        ssrf.Policy.from_settings(settings),
        message_id,
        int(time.time()),
        mqtt_url=settings.mqtt_url,
        ca_file=settings.notify_ca_file,
        timeout=settings.notify_http_timeout,
    )
    started = time.monotonic()
    try:
        async with http_client(settings) as http, asyncio.timeout(2 * settings.notify_http_timeout + 5):
            result = await channel.send(event, config, http, ctx)
            if result.ok and kind == "pagerduty":
                # the test trigger opened an incident on the customer's PagerDuty: resolve it again
                await channel.send(
                    dataclasses.replace(event, event="CLOSED", status="CLOSED"), config, http, ctx
                )
    except TimeoutError:
        result = SendResult(False, True, Reason.TIMEOUT, detail="test send timed out")
    except Exception as exc:  # a channel bug is a failed test, never a 500
        result = SendResult(False, True, Reason.NETWORK, detail=type(exc).__name__)
    latency_ms = int((time.monotonic() - started) * 1000)
    error = None if result.ok else scrub(f"{result.reason}: {result.detail}".rstrip(": "), secrets_of(config))
    return DeliveryTestResult(
        ok=result.ok,
        reason=str(result.reason),
        http_status=result.http_status,
        latency_ms=latency_ms,
        error=error,
        message_id=message_id,
    )


TEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "More than 5 test sends within 60 s (see Retry-After)."}
}

# ---------------------------------------------------------------------------------------------------
# Integrations
# ---------------------------------------------------------------------------------------------------

IntegrationId = Annotated[uuid.UUID, Path(description="The integration's id (a UUID).")]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName
    type: ChannelKind = "webhook"
    config: ChannelConfig
    enabled: bool = True


class IntegrationUpdate(BaseModel):
    """Any of name, enabled, config. `config` replaces the whole config (masked secrets sent back are
    kept). The type cannot change: `type` is accepted only when it is the current one."""

    model_config = ConfigDict(extra="forbid")
    name: DisplayName | None = None
    enabled: bool | None = None
    config: ChannelConfig | None = None
    type: KindText | None = None


class IntegrationPublic(BaseModel):
    tenant_id: str
    integration_id: uuid.UUID
    name: str
    type: str
    enabled: bool
    config: dict[str, Any] = Field(description="Secrets shown as `********`.")
    created_at: datetime
    updated_at: datetime


class IntegrationList(BaseModel):
    integrations: list[IntegrationPublic]
    total: int
    limit: int
    offset: int


_INTEGRATION_COLUMNS = "tenant_id, integration_id, name, type, enabled, config_json, created_at, updated_at"


def _integration(row: asyncpg.Record) -> IntegrationPublic:
    data = dict(row)
    data["config"] = show_config(data["type"], data.pop("config_json"))
    return IntegrationPublic(**data)


async def find_integration(
    conn: asyncpg.Connection, tenant: str | None, integration_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {_INTEGRATION_COLUMNS} FROM integrations WHERE tenant_id = $1 AND integration_id = $2"
        + (" FOR UPDATE" if lock else ""),
        tenant,
        integration_id,
    )
    if row is None:
        raise ApiError(404, "not_found", f"no integration {integration_id}")
    return row


# Writes look the row up in a dependency: it runs before the body is validated, so an unknown (or
# another tenant's) id is a 404 whatever the body, after the role check declared before it.
async def _integration_for_update(
    principal: CustomerPrincipal, conn: TenantDb, integration_id: IntegrationId
) -> asyncpg.Record:
    return await find_integration(conn, principal.tenant_id, integration_id, lock=True)


LockedIntegration = Annotated[asyncpg.Record, Depends(_integration_for_update)]


@router.get("", response_model=IntegrationList, summary="List integrations")
async def list_integrations(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    type: Annotated[str | None, Query(max_length=32, description="Only this channel kind.")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")] = None,
) -> IntegrationList:
    where = "tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::boolean IS NULL OR enabled = $3)"
    rows = await conn.fetch(
        f"SELECT {_INTEGRATION_COLUMNS} FROM integrations WHERE {where} ORDER BY name, integration_id LIMIT $4 OFFSET $5",
        principal.tenant_id,
        type,
        enabled,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM integrations WHERE {where}", principal.tenant_id, type, enabled
    )
    return IntegrationList(
        integrations=[_integration(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=IntegrationPublic, summary="Create an integration")
async def create_integration(
    principal: TenantAdmin, conn: TenantDb, request: Request, body: IntegrationCreate
) -> IntegrationPublic:
    """The config is validated by the channel and its target checked (422 `invalid_config` naming the
    fields, 422 `target_refused` for a private, loopback or metadata address)."""
    config = await new_config(body.type, body.config, request.app.state.settings)
    row = await conn.fetchrow(
        f"""INSERT INTO integrations (tenant_id, name, type, enabled, config_json) VALUES ($1, $2, $3, $4, $5)
            RETURNING {_INTEGRATION_COLUMNS}""",
        principal.tenant_id,
        body.name,
        body.type,
        body.enabled,
        config,
    )
    return _integration(row)


@router.get("/{integration_id}", response_model=IntegrationPublic, summary="Get an integration")
async def get_integration(
    principal: CustomerPrincipal, conn: TenantDb, integration_id: IntegrationId
) -> IntegrationPublic:
    return _integration(await find_integration(conn, principal.tenant_id, integration_id))


@router.patch(
    "/{integration_id}",
    response_model=IntegrationPublic,
    responses={400: {"model": ErrorBody}},
    summary="Change an integration",
)
async def update_integration(
    principal: TenantAdmin,
    current: LockedIntegration,
    conn: TenantDb,
    request: Request,
    body: IntegrationUpdate,
) -> IntegrationPublic:
    fields = not_null(body, {"name", "enabled", "config", "type"})
    kind = current["type"]
    if "type" in fields and body.type != kind:
        raise ApiError(422, "type_immutable", f"the type of an integration cannot change (it is {kind!r})")
    values: dict[str, Any] = {f: getattr(body, f) for f in fields & {"name", "enabled"}}
    if "config" in fields:
        assert body.config is not None
        incoming = (
            configs.unmask(kind, body.config, current["config_json"]) if kind in CHANNELS else body.config
        )
        values["config_json"] = await checked_config(kind, incoming, request.app.state.settings)
    if not values:
        return _integration(current)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    row = await conn.fetchrow(
        f"""UPDATE integrations SET {assignments} WHERE tenant_id = $1 AND integration_id = $2
            RETURNING {_INTEGRATION_COLUMNS}""",
        principal.tenant_id,
        current["integration_id"],
        *values.values(),
    )
    return _integration(row)


@router.delete("/{integration_id}", status_code=204, summary="Delete an integration")
async def delete_integration(principal: TenantAdmin, conn: TenantDb, integration_id: IntegrationId) -> None:
    """Its routes and its delivery jobs (with their attempts) go with it."""
    if not await conn.fetchval(
        "DELETE FROM integrations WHERE tenant_id = $1 AND integration_id = $2 RETURNING 1",
        principal.tenant_id,
        integration_id,
    ):
        raise ApiError(404, "not_found", f"no integration {integration_id}")


@router.post(
    "/{integration_id}/test",
    response_model=DeliveryTestResult,
    responses=TEST_RESPONSES,
    summary="Send a test notification",
)
async def test_integration(
    principal: TenantAdmin, pool: Pool, request: Request, integration_id: IntegrationId
) -> DeliveryTestResult:
    """Send a test event (alert 0, `TEST` on `test-device`, severity 3) through the integration now and
    answer what happened. No delivery job is created and nothing is retried; at most 5 per 60 s per
    integration (429 with Retry-After). Disabled integrations can be tested too, so a target can be
    checked before it is switched on."""
    assert principal.tenant_id
    async with tenant_conn(principal, pool) as conn:
        row = await find_integration(conn, principal.tenant_id, integration_id)
        await take_test_slot(conn, principal.tenant_id, f"test_delivery:{integration_id}")
    event = test_event(principal.tenant_id, principal.display)
    return await send_test(request.app.state.settings, row["type"], row["config_json"], event)


# ---------------------------------------------------------------------------------------------------
# Integration routes
# ---------------------------------------------------------------------------------------------------

RouteId = Annotated[uuid.UUID, Path(description="The route's id (a UUID).")]
Prefix = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]


class RouteFields(BaseModel):
    """Filters, all of which must hold for an event to be delivered (an empty or null list: any)."""

    model_config = ConfigDict(extra="forbid")
    integration_id: uuid.UUID | None = None
    name: DisplayName | None = None
    enabled: bool | None = None
    min_severity: (
        Annotated[int, Field(ge=1, le=5, description="Only alerts at least this severe (1-5).")] | None
    ) = None
    severities: (
        Annotated[
            list[SeverityLabel],
            Field(
                max_length=3,
                description="Severity labels: CRITICAL (5), WARNING (3-4), INFO (1-2); empty: all.",
            ),
        ]
        | None
    ) = None
    alert_types: (
        Annotated[list[AlertTypeName], Field(max_length=4, description="Empty or null: all.")] | None
    ) = None
    site_ids: IdList | None = None
    device_prefixes: (
        Annotated[list[Prefix], Field(max_length=100, description="Device ids starting with one of these.")]
        | None
    ) = None
    deliver_on: (
        Annotated[
            list[DeliveryEvent],
            Field(min_length=1, max_length=4, description="Which alert events are delivered."),
        ]
        | None
    ) = None
    priority: Annotated[int, Field(ge=0, le=10_000, description="Lower first.")] | None = None

    @field_validator("severities", "alert_types", "site_ids", "device_prefixes", "deliver_on")
    @classmethod
    def _dedupe(cls, value: list[Any] | None) -> list[Any] | None:
        return unique(value)


class RouteCreate(RouteFields):
    integration_id: uuid.UUID
    enabled: bool = True
    severities: Annotated[
        list[SeverityLabel],
        Field(
            max_length=3, description="Severity labels: CRITICAL (5), WARNING (3-4), INFO (1-2); empty: all."
        ),
    ] = Field(default_factory=list)
    deliver_on: Annotated[
        list[DeliveryEvent],
        Field(min_length=1, max_length=4, description="Which alert events are delivered."),
    ] = Field(default_factory=lambda: ["OPEN"])
    priority: Annotated[int, Field(ge=0, le=10_000, description="Lower first.")] = 100


class RoutePublic(BaseModel):
    tenant_id: str
    route_id: uuid.UUID
    integration_id: uuid.UUID
    integration_name: str
    integration_type: str
    name: str | None
    enabled: bool
    min_severity: int | None
    severities: list[str]
    alert_types: list[str] | None
    site_ids: list[str] | None
    device_prefixes: list[str] | None
    deliver_on: list[str]
    priority: int
    created_at: datetime
    updated_at: datetime


class RouteList(BaseModel):
    routes: list[RoutePublic]
    total: int
    limit: int
    offset: int


_ROUTE_SELECT = """SELECT r.tenant_id, r.route_id, r.integration_id, i.name AS integration_name,
                          i.type AS integration_type, r.name, r.enabled, r.min_severity, r.severities,
                          r.alert_types, r.site_ids, r.device_prefixes, r.deliver_on, r.priority,
                          r.created_at, r.updated_at
                     FROM integration_routes r JOIN integrations i USING (tenant_id, integration_id)"""
_ROUTE_COLUMNS = (
    "integration_id",
    "name",
    "enabled",
    "min_severity",
    "severities",
    "alert_types",
    "site_ids",
    "device_prefixes",
    "deliver_on",
    "priority",
)


async def _route(conn: asyncpg.Connection, tenant: str | None, route_id: uuid.UUID) -> RoutePublic:
    row = await conn.fetchrow(f"{_ROUTE_SELECT} WHERE r.tenant_id = $1 AND r.route_id = $2", tenant, route_id)
    if row is None:
        raise ApiError(404, "not_found", f"no integration route {route_id}")
    return RoutePublic(**dict(row))


async def _route_for_update(principal: CustomerPrincipal, conn: TenantDb, route_id: RouteId) -> uuid.UUID:
    if not await conn.fetchval(
        "SELECT 1 FROM integration_routes WHERE tenant_id = $1 AND route_id = $2 FOR UPDATE",
        principal.tenant_id,
        route_id,
    ):
        raise ApiError(404, "not_found", f"no integration route {route_id}")
    return route_id


@routes_router.get("", response_model=RouteList, summary="List integration routes")
async def list_routes(
    principal: CustomerPrincipal,
    conn: TenantDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    integration_id: Annotated[uuid.UUID | None, Query(description="Only this integration's routes.")] = None,
) -> RouteList:
    """Ordered as the dispatcher reads them: by priority (lowest first), then oldest first."""
    where = "r.tenant_id = $1 AND ($2::uuid IS NULL OR r.integration_id = $2)"
    rows = await conn.fetch(
        f"{_ROUTE_SELECT} WHERE {where} ORDER BY r.priority, r.created_at, r.route_id LIMIT $3 OFFSET $4",
        principal.tenant_id,
        integration_id,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(
        f"SELECT count(*) FROM integration_routes r WHERE {where}", principal.tenant_id, integration_id
    )
    return RouteList(
        routes=[RoutePublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@routes_router.post("", status_code=201, response_model=RoutePublic, summary="Create an integration route")
async def create_route(principal: TenantAdmin, conn: TenantDb, body: RouteCreate) -> RoutePublic:
    """Route the tenant's alert events (filtered) to one of its integrations (404 for an integration
    that is not the tenant's). `name` is optional."""
    await find_integration(conn, principal.tenant_id, body.integration_id)
    values = [getattr(body, c) for c in _ROUTE_COLUMNS]
    route_id = await conn.fetchval(
        f"""INSERT INTO integration_routes (tenant_id, {", ".join(_ROUTE_COLUMNS)})
            VALUES ($1, {", ".join(f"${i}" for i in range(2, len(values) + 2))}) RETURNING route_id""",
        principal.tenant_id,
        *values,
    )
    return await _route(conn, principal.tenant_id, route_id)


@routes_router.get("/{route_id}", response_model=RoutePublic, summary="Get an integration route")
async def get_route(principal: CustomerPrincipal, conn: TenantDb, route_id: RouteId) -> RoutePublic:
    return await _route(conn, principal.tenant_id, route_id)


_ROUTE_NOT_NULL = {"integration_id", "enabled", "severities", "deliver_on", "priority"}


@routes_router.patch(
    "/{route_id}",
    response_model=RoutePublic,
    responses={400: {"model": ErrorBody}},
    summary="Change an integration route",
)
async def update_route(
    principal: TenantAdmin,
    route: Annotated[uuid.UUID, Depends(_route_for_update)],
    conn: TenantDb,
    body: RouteFields,
) -> RoutePublic:
    """Any of the fields; null clears an optional filter (name, min_severity, alert_types, site_ids,
    device_prefixes)."""
    fields = not_null(body, _ROUTE_NOT_NULL)
    if body.integration_id is not None:
        await find_integration(conn, principal.tenant_id, body.integration_id)
    values = {name: getattr(body, name) for name in _ROUTE_COLUMNS if name in fields}
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    await conn.execute(
        f"UPDATE integration_routes SET {assignments} WHERE tenant_id = $1 AND route_id = $2",
        principal.tenant_id,
        route,
        *values.values(),
    )
    return await _route(conn, principal.tenant_id, route)


@routes_router.delete("/{route_id}", status_code=204, summary="Delete an integration route")
async def delete_route(principal: TenantAdmin, conn: TenantDb, route_id: RouteId) -> None:
    if not await conn.fetchval(
        "DELETE FROM integration_routes WHERE tenant_id = $1 AND route_id = $2 RETURNING 1",
        principal.tenant_id,
        route_id,
    ):
        raise ApiError(404, "not_found", f"no integration route {route_id}")
