"""/customer/me/oncall-feed: the caller's secret "my shifts" iCalendar URL (served by
`pulse/api/routes/oncall_feed.py`). Creating it again rotates it, so a leaked URL is one call from
dead; deleting it revokes it. Only the SHA-256 of the URL's secret is stored, and the URL is shown once.

A personal feed belongs to the calling person, so any person of the tenant may manage their own (the
`customer` role, not `tenant-admin`). The caller is the token's subject, which is a `users` row for the
built-in issuer; an external issuer's subject without one gets a 409 that says so.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import asyncpg
from fastapi import APIRouter, Request

from pulse.api.deps import AppSettings, CustomerPrincipal, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import oncall_schedules as queries
from pulse.api.routes.customer.oncall_models import FeedUrl
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/me",
    tags=["customer-oncall-feed"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)

FEED_PATH = "/oncall/feeds/{token}.ics"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _caller(conn: asyncpg.Connection, tenant: str, subject: str) -> uuid.UUID:
    try:
        user_id = uuid.UUID(subject)
    except ValueError:
        user_id = None
    if user_id is None or not await queries.is_person(conn, tenant, user_id):
        raise PulseError(
            409,
            "no_user_account",
            "the caller has no person account in this tenant (a token from an external issuer whose "
            "subject is not a Pulse user); a personal on-call feed needs one",
        )
    return user_id


@router.post("/oncall-feed", status_code=201, response_model=FeedUrl)
async def rotate_oncall_feed(
    request: Request, principal: CustomerPrincipal, tenant: TenantId, conn: TenantDb, settings: AppSettings
) -> FeedUrl:
    user_id = await _caller(conn, tenant, principal.sub)
    token = secrets.token_urlsafe(32)
    await queries.save_feed(conn, tenant, user_id, token_hash(token))
    base = settings.public_url or str(request.base_url).rstrip("/")
    return FeedUrl(url=base + FEED_PATH.format(token=token))


@router.delete("/oncall-feed", status_code=204, responses={404: {"model": ErrorBody}})
async def revoke_oncall_feed(principal: CustomerPrincipal, tenant: TenantId, conn: TenantDb) -> None:
    user_id = await _caller(conn, tenant, principal.sub)
    if not await queries.delete_feed(conn, tenant, user_id):
        raise PulseError(404, "not_found", "you have no on-call feed")
