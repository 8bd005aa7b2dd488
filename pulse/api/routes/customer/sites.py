"""/customer/sites: where devices are, with per-site device and alert counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.queries import sites as queries
from pulse.api.queries.sites import SitePublic
from pulse.api.routes.customer.models import Name, ResourceId, ShortText
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/sites",
    tags=["customer-sites"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
SiteId = Annotated[str, Path(min_length=1, max_length=128)]


class SiteList(BaseModel):
    sites: list[SitePublic]
    total: int
    limit: int
    offset: int


class SiteFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    location: ShortText | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class SiteCreate(SiteFields):
    site_id: ResourceId
    name: Name


@router.get("", response_model=SiteList)
async def list_sites(
    tenant: TenantId, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> SiteList:
    sites, total = await queries.list_sites(conn, tenant, page)
    return SiteList(sites=sites, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=SitePublic, responses={409: {"model": ErrorBody}})
async def create_site(tenant: AdminTenantId, conn: TenantDb, body: SiteCreate) -> SitePublic:
    if not await queries.insert_site(conn, tenant, body.site_id, body.model_dump(exclude={"site_id"})):
        raise PulseError(409, "site_exists", f"site {body.site_id!r} already exists")
    return await queries.require_site(conn, tenant, body.site_id)


@router.get("/{site_id}", response_model=SitePublic)
async def get_site(tenant: TenantId, conn: TenantDb, site_id: SiteId) -> SitePublic:
    return await queries.require_site(conn, tenant, site_id)


@router.patch("/{site_id}", response_model=SitePublic, responses={400: {"model": ErrorBody}})
async def update_site(tenant: AdminTenantId, conn: TenantDb, site_id: SiteId, body: SiteFields) -> SitePublic:
    values = body.model_dump(include=body.model_fields_set)
    if not values or values.get("name", "x") is None:
        raise PulseError(400, "bad_request", "nothing to update (name cannot be null)")
    await queries.update_site(conn, tenant, site_id, values)
    return await queries.require_site(conn, tenant, site_id)


@router.delete("/{site_id}", status_code=204, responses={409: {"model": ErrorBody}})
async def delete_site(tenant: AdminTenantId, conn: TenantDb, site_id: SiteId) -> None:
    """Only an empty site can be deleted."""
    await queries.require_site(conn, tenant, site_id)
    if await queries.site_has_devices(conn, tenant, site_id):
        raise PulseError(409, "site_not_empty", f"site {site_id!r} still has devices")
    await queries.delete_site(conn, tenant, site_id)
