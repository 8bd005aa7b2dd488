"""/customer/me/contact-methods: the caller's own contact methods (the same methods tenant admins
manage at /customer/users/{user_id}/contact-methods), for every tenant user, not only admins — whoever
may be paged decides how. Writes follow the tenant's status like every write (a suspended tenant reads).

The caller is the Pulse user named by the token's `sub`. A token from an external issuer (Keycloak)
whose subject is not a user of this tenant in Pulse has no contact methods to manage: 409
`no_pulse_user`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends

from pulse.api.deps import CustomerPrincipal, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import contact_methods as queries
from pulse.api.queries.contact_methods import MethodList, MethodPublic
from pulse.api.routes.customer.user_contact_methods import (
    CREATE_RESPONSES,
    MethodCreate,
    MethodId,
    MethodUpdate,
    add,
)
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/me/contact-methods",
    tags=["customer-contact-methods"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


async def _me(principal: CustomerPrincipal, tenant: TenantId, conn: TenantDb) -> uuid.UUID:
    """The caller's user id, when they are a person of this tenant in Pulse (else 409)."""
    try:
        user_id = uuid.UUID(principal.sub)
    except ValueError:
        user_id = None
    if user_id is None or not await conn.fetchval(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 AND kind = 'person'", tenant, user_id
    ):
        raise PulseError(
            409,
            "no_pulse_user",
            f"your sign-in (subject {principal.sub!r} of {principal.issuer}) is not a user of tenant "
            f"{tenant!r} in Pulse, so it has no contact methods; a tenant admin can create a Pulse user "
            "for you, and escalations reach the users Pulse knows",
        )
    return user_id


Me = Annotated[uuid.UUID, Depends(_me)]


@dataclass(frozen=True)
class OwnedMethod:
    user_id: uuid.UUID
    method_id: int


async def _owned(
    principal: CustomerPrincipal, tenant: TenantId, conn: TenantDb, method_id: MethodId
) -> OwnedMethod:
    """A method of the caller's. Looked up before the caller is: an id of another tenant is a plain
    404 for everyone, a method of another person of this tenant is a 404 too."""
    owner = await queries.owner_of(conn, tenant, method_id)
    me = await _me(principal, tenant, conn)
    if owner != me:
        raise PulseError(404, "not_found", f"no contact method {method_id} of yours")
    return OwnedMethod(me, method_id)


OwnMethod = Annotated[OwnedMethod, Depends(_owned)]


@router.get("", response_model=MethodList, summary="List my contact methods")
async def list_my_methods(tenant: TenantId, conn: TenantDb, me: Me) -> MethodList:
    return await queries.list_methods(conn, tenant, me)


@router.post(
    "",
    status_code=201,
    response_model=MethodPublic,
    responses=CREATE_RESPONSES,
    summary="Add my contact method",
)
async def add_my_method(tenant: TenantId, conn: TenantDb, me: Me, body: MethodCreate) -> MethodPublic:
    """As for /customer/users/{user_id}/contact-methods."""
    return await add(conn, tenant, me, body)


@router.patch("/{method_id}", response_model=MethodPublic, summary="Enable or disable my contact method")
async def update_my_method(
    tenant: TenantId, conn: TenantDb, method: OwnMethod, body: MethodUpdate
) -> MethodPublic:
    await queries.set_enabled(conn, tenant, method.user_id, method.method_id, body.enabled)
    return await queries.require_method(conn, tenant, method.user_id, method.method_id)


@router.delete("/{method_id}", status_code=204, summary="Remove my contact method")
async def delete_my_method(tenant: TenantId, conn: TenantDb, method: OwnMethod) -> None:
    await queries.delete_method(conn, tenant, method.user_id, method.method_id)
