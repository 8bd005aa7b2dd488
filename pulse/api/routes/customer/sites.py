"""/customer/sites: where devices are, with per-site device and alert counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import CustomerPrincipal, TenantAdmin, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.pagination import Page, page_params
from pulse.api.routes.customer.models import Name, ResourceId, ShortText
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/sites",
    tags=["customer-sites"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
SiteId = Annotated[str, Path(min_length=1, max_length=128)]


class SitePublic(BaseModel):
    site_id: str
    name: str
    location: str | None
    latitude: float | None
    longitude: float | None
    device_count: int
    online_count: int
    stale_count: int
    offline_count: int
    active_alert_count: int
    created_at: datetime


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


_SELECT = """
SELECT st.site_id, st.name, st.location, st.latitude, st.longitude, st.created_at,
       count(r.device_id) AS device_count,
       count(r.device_id) FILTER (WHERE ds.status = 'ONLINE') AS online_count,
       count(r.device_id) FILTER (WHERE ds.status = 'STALE') AS stale_count,
       count(r.device_id) FILTER (WHERE COALESCE(ds.status, 'OFFLINE') = 'OFFLINE') AS offline_count,
       (SELECT count(*) FROM alerts a WHERE a.tenant_id = st.tenant_id AND a.site_id = st.site_id
                                        AND a.status IN ('OPEN', 'ACKNOWLEDGED')) AS active_alert_count
  FROM sites st
  LEFT JOIN device_registry r ON r.tenant_id = st.tenant_id AND r.site_id = st.site_id
                             AND r.status <> 'DELETED' AND r.decommissioned_at IS NULL
  LEFT JOIN device_state ds ON ds.tenant_id = r.tenant_id AND ds.device_id = r.device_id
 WHERE st.tenant_id = $1 AND ($2::text IS NULL OR st.site_id = $2)
 GROUP BY st.tenant_id, st.site_id
"""


async def _site(conn, tenant: str, site_id: str) -> SitePublic:
    row = await conn.fetchrow(_SELECT, tenant, site_id)
    if row is None:
        raise PulseError(404, "not_found", f"no site {site_id!r}")
    return SitePublic(**dict(row))


@router.get("", response_model=SiteList)
async def list_sites(
    principal: CustomerPrincipal, conn: TenantDb, page: Annotated[Page, Depends(page_params(100, 500))]
) -> SiteList:
    rows = await conn.fetch(
        f"{_SELECT} ORDER BY st.site_id LIMIT $3 OFFSET $4",
        principal.tenant_id,
        None,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval("SELECT count(*) FROM sites WHERE tenant_id = $1", principal.tenant_id)
    return SiteList(
        sites=[SitePublic(**dict(r)) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=SitePublic, responses={409: {"model": ErrorBody}})
async def create_site(principal: TenantAdmin, conn: TenantDb, body: SiteCreate) -> SitePublic:
    assert principal.tenant_id
    inserted = await conn.fetchval(
        """INSERT INTO sites (tenant_id, site_id, name, location, latitude, longitude)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING site_id""",
        principal.tenant_id,
        body.site_id,
        body.name,
        body.location,
        body.latitude,
        body.longitude,
    )
    if inserted is None:
        raise PulseError(409, "site_exists", f"site {body.site_id!r} already exists")
    return await _site(conn, principal.tenant_id, body.site_id)


@router.get("/{site_id}", response_model=SitePublic)
async def get_site(principal: CustomerPrincipal, conn: TenantDb, site_id: SiteId) -> SitePublic:
    assert principal.tenant_id
    return await _site(conn, principal.tenant_id, site_id)


@router.patch("/{site_id}", response_model=SitePublic, responses={400: {"model": ErrorBody}})
async def update_site(
    principal: TenantAdmin, conn: TenantDb, site_id: SiteId, body: SiteFields
) -> SitePublic:
    assert principal.tenant_id
    values = {k: getattr(body, k) for k in body.model_fields_set}
    if not values or values.get("name", "x") is None:
        raise PulseError(400, "bad_request", "nothing to update (name cannot be null)")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
    updated = await conn.fetchval(
        f"UPDATE sites SET {assignments} WHERE tenant_id = $1 AND site_id = $2 RETURNING site_id",
        principal.tenant_id,
        site_id,
        *values.values(),
    )
    if updated is None:
        raise PulseError(404, "not_found", f"no site {site_id!r}")
    return await _site(conn, principal.tenant_id, site_id)


@router.delete("/{site_id}", status_code=204, responses={409: {"model": ErrorBody}})
async def delete_site(principal: TenantAdmin, conn: TenantDb, site_id: SiteId) -> None:
    """Only an empty site can be deleted."""
    assert principal.tenant_id
    await _site(conn, principal.tenant_id, site_id)
    if await conn.fetchval(
        "SELECT 1 FROM device_registry WHERE tenant_id = $1 AND site_id = $2 AND status <> 'DELETED' LIMIT 1",
        principal.tenant_id,
        site_id,
    ):
        raise PulseError(409, "site_not_empty", f"site {site_id!r} still has devices")
    await conn.execute(
        "DELETE FROM sites WHERE tenant_id = $1 AND site_id = $2", principal.tenant_id, site_id
    )
