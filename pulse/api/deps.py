"""What handlers declare they need, as `Annotated` aliases.

- `CurrentPrincipal`: the caller, from a verified `Authorization: Bearer` token (401 otherwise).
- `require_role(role)`: a dependency admitting callers with that role (implied roles count:
  tenant-admin has customer, operator-admin has operator); others get 403.
- `CustomerPrincipal` / `TenantAdmin` / `Operator` / `OperatorAdmin`: the usual role checks.
- `TenantId` / `AdminTenantId`: the caller's tenant id as a plain `str` (customer / tenant-admin role
  required); handlers take these instead of reading the optional `principal.tenant_id`. Both, and
  `TenantDb`, go through `tenant_access`: the one place the API resolves the tenant's lifecycle status
  (deleted or unknown: 403 `tenant_unavailable`; suspended: reads only, writes 403 `tenant_suspended`).
  The WebSocket calls `resolve_tenant`, the same check; the issuer applies the same rule when it mints.
- `TenantDb`: a connection in `tenant_tx` for the caller's tenant; row-level security hides every
  other tenant, so another tenant's id is a plain 404 and handlers never compare tenant ids.
- `OperatorDb`: a connection in `operator_tx`, after an `operator_audit_log` row for this request
  has been committed (so failed and refused-later requests are audited too).
- Every write through `TenantDb`, `OperatorDb` or `AdminDb` also leaves an `audit_log` row, written after
  the handler returned in its own transaction (`pulse/api/audit.py`; handlers add before/after with
  `AuditChange`).
- `AdminKey` (router dependency) / `AdminDb`: the admin API's `X-Admin-Key` check (constant time) and
  its connection in `operator_tx`, acting as `admin-key`.
- `AppSettings`: the process's settings.

The database aliases commit before the response is sent (`scope="function"`): a client never sees
success for a write that did not commit.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pulse.api.audit import Actor, record_write
from pulse.config import Settings
from pulse.db.tx import operator_tx, tenant_tx
from pulse.errors import PulseError
from pulse.identity.principal import Principal
from pulse.identity.roles import CUSTOMER, OPERATOR, OPERATOR_ADMIN, TENANT_ADMIN
from pulse.identity.verify import TokenError, TokenVerifier
from pulse.provisioning.tenants import check_tenant_access, tenant_status

_bearer = HTTPBearer(
    auto_error=False, description="An access token from the built-in issuer or PULSE_OIDC_ISSUER."
)


def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_settings)]


def get_verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


async def authenticate(verifier: TokenVerifier, token: str | None) -> Principal:
    """Token → Principal, or the API's 401 (503 when an external issuer cannot be reached)."""
    if not token:
        raise PulseError(401, "unauthorized", "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        return await verifier.verify(token)
    except TokenError as exc:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
        raise PulseError(
            exc.status, "unauthorized" if exc.status == 401 else exc.error, exc.detail, headers
        ) from None


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    principal = await authenticate(get_verifier(request), credentials.credentials if credentials else None)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(role: str):
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(role):
            raise PulseError(403, "forbidden", f"the {role} role is required")
        return principal

    check.__name__ = f"require_{role.replace('-', '_')}"
    return check


_require_customer = require_role(CUSTOMER)
_require_tenant_admin = require_role(TENANT_ADMIN)
CustomerPrincipal = Annotated[Principal, Depends(_require_customer)]
TenantAdmin = Annotated[Principal, Depends(_require_tenant_admin)]
Operator = Annotated[Principal, Depends(require_role(OPERATOR))]
OperatorAdmin = Annotated[Principal, Depends(require_role(OPERATOR_ADMIN))]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]


def tenant_of(principal: Principal) -> str:
    if not principal.tenant_id:  # the verifier already refuses tenant roles without a tenant
        raise PulseError(403, "forbidden", "the token names no tenant")
    return principal.tenant_id


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@asynccontextmanager
async def constraint_errors() -> AsyncIterator[None]:
    """A write that breaks a constraint is the client's mistake (unknown reference, duplicate), not a
    500. Handlers check what they can first; this is the safety net for races and the rest."""
    try:
        yield
    except asyncpg.ForeignKeyViolationError:
        raise PulseError(422, "invalid_reference", "a referenced resource does not exist") from None
    except asyncpg.UniqueViolationError:
        raise PulseError(409, "conflict", "a resource with this identity already exists") from None
    except (asyncpg.CheckViolationError, asyncpg.NotNullViolationError, asyncpg.DataError):
        raise PulseError(422, "invalid_request", "a value is out of the allowed range") from None


async def resolve_tenant(pool: asyncpg.Pool, tenant: str, *, write: bool) -> str:
    """The tenant's lifecycle status, checked on its own (the WebSocket, which has no TenantDb)."""
    async with tenant_tx(pool, tenant) as conn:
        status = await tenant_status(conn, tenant)
    check_tenant_access(tenant, status, write=write)
    return tenant


@asynccontextmanager
async def tenant_db(
    principal: Principal, pool: asyncpg.Pool, *, write: bool
) -> AsyncIterator[asyncpg.Connection]:
    """A `tenant_tx` for the principal's tenant that first checks the tenant's lifecycle status
    (`check_tenant_access`) in the same transaction: a token can outlive its tenant (deleted here, or
    never created for an external issuer's claim), and a suspended tenant only reads."""
    tenant = tenant_of(principal)
    async with constraint_errors(), tenant_tx(pool, tenant) as conn:
        check_tenant_access(tenant, await tenant_status(conn, tenant), write=write)
        yield conn


async def _tenant_db(
    request: Request, principal: CustomerPrincipal, pool: Pool
) -> AsyncIterator[asyncpg.Connection]:
    # Writes are the methods other than GET, HEAD and OPTIONS; each leaves an audit row once it worked.
    write = request.method not in SAFE_METHODS
    async with tenant_db(principal, pool, write=write) as conn:
        yield conn
        if write:
            actor = Actor("user", principal.sub, principal.display)
            await record_write(conn, request, actor, tenant_id=tenant_of(principal), source="api")


TenantDb = Annotated[asyncpg.Connection, Depends(_tenant_db, scope="function")]


async def tenant_access(principal: CustomerPrincipal, conn: TenantDb) -> str:
    """Every tenant route's tenant, checked when TenantDb's transaction opened — one transaction per
    request, shared with the handler (FastAPI resolves a dependency once per request)."""
    return tenant_of(principal)


CheckedTenant = Annotated[str, Depends(tenant_access)]


async def _customer_tenant(tenant: CheckedTenant) -> str:
    return tenant


async def _admin_tenant(principal: TenantAdmin, tenant: CheckedTenant) -> str:
    return tenant


# The caller's tenant id, never None and checked against the tenant's status: a handler that declares
# one of these cannot forget either check.
TenantId = Annotated[str, Depends(_customer_tenant)]  # needs the customer role
AdminTenantId = Annotated[str, Depends(_admin_tenant)]  # needs the tenant-admin role


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def write_operator_audit(pool: asyncpg.Pool, request: Request, principal: Principal) -> None:
    """One row per operator request: who, which endpoint, which tenant filter and resource."""
    route = request.scope.get("route")
    action = getattr(route, "name", None) or request.url.path
    params = request.path_params
    resource_type, resource_id = None, None
    for key in ("device_id", "alert_id", "tenant_id"):
        if key in params:
            resource_type, resource_id = key.removesuffix("_id"), str(params[key])[:256]
            break
    tenant_filter = params.get("tenant_id") or request.query_params.get("tenant_filter")
    async with operator_tx(pool, principal.sub) as conn:
        await conn.execute(
            """INSERT INTO operator_audit_log
                   (user_id, action, tenant_filter, resource_type, resource_id, ip_address, user_agent)
               VALUES ($1, $2, $3, $4, $5, $6::inet, $7)""",
            principal.sub,
            action,
            tenant_filter[:256] if tenant_filter else None,
            resource_type,
            resource_id,
            _inet(client_ip(request)),
            (request.headers.get("user-agent") or "")[:512] or None,
        )


def _inet(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


async def _operator_db(
    request: Request, principal: Operator, pool: Pool
) -> AsyncIterator[asyncpg.Connection]:
    await write_operator_audit(pool, request, principal)
    async with constraint_errors(), operator_tx(pool, principal.sub) as conn:
        yield conn
        if request.method not in SAFE_METHODS:
            actor = Actor("operator", principal.sub, principal.display)
            tenant = request.path_params.get("tenant_id")
            await record_write(conn, request, actor, tenant_id=tenant, source="api")


OperatorDb = Annotated[asyncpg.Connection, Depends(_operator_db, scope="function")]


ADMIN_ACTOR = "admin-key"  # who the admin API acts as in operator_tx and audit rows
ADMIN_AUDIT_ACTOR = Actor("admin-key", ADMIN_ACTOR)


async def require_admin_key(request: Request, x_admin_key: Annotated[str | None, Header()] = None) -> None:
    expected: str = request.app.state.admin_key
    if x_admin_key is None or not hmac.compare_digest(x_admin_key.encode(), expected.encode()):
        raise PulseError(401, "unauthorized", "missing or invalid X-Admin-Key")


AdminKey = Depends(require_admin_key)


async def _admin_db(request: Request, pool: Pool) -> AsyncIterator[asyncpg.Connection]:
    async with constraint_errors(), operator_tx(pool, ADMIN_ACTOR) as conn:
        yield conn
        if request.method not in SAFE_METHODS:
            tenant = request.path_params.get("tenant_id")
            await record_write(conn, request, ADMIN_AUDIT_ACTOR, tenant_id=tenant, source="admin-api")


AdminDb = Annotated[asyncpg.Connection, Depends(_admin_db, scope="function")]
