"""/operator/tenants: tenant CRUD. Creating a tenant creates its MAIN subscription in the same
transaction, so a new tenant can register devices at once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.audit import AuditChange
from pulse.api.deps import OperatorAdmin, OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import tenants as queries
from pulse.api.queries.tenants import TenantPublic
from pulse.api.routes.customer.models import Metadata, Name, ShortText
from pulse.errors import PulseError
from pulse.provisioning import tenants
from pulse.provisioning.devices import TENANT_ID_PATTERN

router = APIRouter(
    prefix="/operator/tenants",
    tags=["operator-tenants"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
TenantIdPath = Annotated[str, Path(min_length=1, max_length=64)]
TenantStatus = Literal["ACTIVE", "SUSPENDED", "DELETED"]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class TenantList(BaseModel):
    tenants: list[TenantPublic]
    total: int
    limit: int
    offset: int


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN, max_length=64)]
    name: Name
    contact_email: Email | None = None
    contact_name: ShortText | None = None
    metadata: Metadata = Field(default_factory=dict)
    device_limit: Annotated[int, Field(ge=0, le=10_000_000)] = 100
    term_days: Annotated[int, Field(ge=1, le=3650)] = 365


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    contact_email: Email | None = None
    contact_name: ShortText | None = None
    status: TenantStatus | None = None
    metadata: Metadata | None = None


class TenantCreated(BaseModel):
    tenant: TenantPublic
    subscription_id: str


@router.get("", response_model=TenantList)
async def list_tenants(
    conn: OperatorDb,
    page: Annotated[Page, Depends(page_params(100, 500))],
    status: Annotated[Literal["ACTIVE", "SUSPENDED", "DELETED", "ALL"], Query()] = "ALL",
) -> TenantList:
    found, total = await queries.list_tenants(conn, status, page)
    return TenantList(tenants=found, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=TenantCreated, responses={409: {"model": ErrorBody}})
async def create_tenant(
    conn: OperatorDb, principal: OperatorAdmin, body: TenantCreate, audit: AuditChange
) -> TenantCreated:
    created = await tenants.create_tenant(
        conn, **body.model_dump(), actor=principal.sub, actor_type="operator"
    )
    tenant = await queries.require_tenant(conn, body.tenant_id)
    audit.tenant_id, audit.entity_type, audit.entity_id = body.tenant_id, "tenants", body.tenant_id
    audit.change(after=tenant)
    return TenantCreated(tenant=tenant, subscription_id=created.subscription_id)


@router.get("/{tenant_id}", response_model=TenantPublic)
async def get_tenant(conn: OperatorDb, tenant_id: TenantIdPath) -> TenantPublic:
    return await queries.require_tenant(conn, tenant_id)


@router.patch("/{tenant_id}", response_model=TenantPublic, responses={400: {"model": ErrorBody}})
async def update_tenant(
    conn: OperatorDb,
    principal: OperatorAdmin,
    tenant_id: TenantIdPath,
    body: TenantUpdate,
    audit: AuditChange,
) -> TenantPublic:
    fields = body.model_fields_set
    if not fields:
        raise PulseError(400, "bad_request", "no fields to update")
    if any(getattr(body, f) is None for f in fields & {"name", "status", "metadata"}):
        raise PulseError(400, "bad_request", "name, status and metadata cannot be null")
    before = await queries.require_tenant(conn, tenant_id)
    await queries.update_tenant(conn, tenant_id, body.model_dump(include=fields))
    after = await queries.require_tenant(conn, tenant_id)
    audit.change(before=before, after=after)
    return after


@router.delete("/{tenant_id}", response_model=TenantPublic)
async def delete_tenant(conn: OperatorDb, principal: OperatorAdmin, tenant_id: TenantIdPath) -> TenantPublic:
    """Soft delete: status DELETED; data is kept (hard deletion is a separate, deliberate step)."""
    await queries.soft_delete_tenant(conn, tenant_id)
    return await queries.require_tenant(conn, tenant_id)
