"""POST /api/admin/tenants: an installer creates a tenant with its MAIN subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field

from pulse.api.deps import ADMIN_ACTOR, AdminDb, AdminKey
from pulse.api.errors import ErrorBody
from pulse.api.routes.admin.models import TenantId
from pulse.provisioning import tenants

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[AdminKey])


class TenantCreate(BaseModel):
    tenant_id: TenantId
    name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    device_limit: int = Field(ge=0, le=10_000_000)
    term_days: int = Field(default=365, ge=1, le=3650)


class TenantCreated(BaseModel):
    tenant_id: str
    subscription_id: str
    device_limit: int
    term_end: datetime


@router.post("/tenants", status_code=201, response_model=TenantCreated, responses={409: {"model": ErrorBody}})
async def create_tenant(body: TenantCreate, conn: AdminDb) -> TenantCreated:
    """Create a tenant and its MAIN subscription (device capacity and term)."""
    created = await tenants.create_tenant(conn, **body.model_dump(), actor=ADMIN_ACTOR, actor_type="admin")
    return TenantCreated(
        tenant_id=created.tenant_id,
        subscription_id=created.subscription_id,
        device_limit=body.device_limit,
        term_end=created.term_end,
    )
