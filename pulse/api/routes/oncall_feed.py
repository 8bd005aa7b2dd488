"""GET /oncall/feeds/{token}.ics: a person's shifts across all their tenant's schedules for the next
60 days, for calendar apps that cannot send a bearer token. The URL's secret is the credential: it is
looked up by its SHA-256 (a unique index), so no comparison of secrets happens in Python and an
unknown, rotated or revoked token, or a disabled person, is the same 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response

from pulse.api.deps import Pool
from pulse.api.errors import ErrorBody
from pulse.api.queries import oncall_schedules as queries
from pulse.api.routes.customer.my_oncall_feed import token_hash
from pulse.api.routes.customer.oncall_schedules import calendar_response, calendar_start
from pulse.db.tx import operator_tx, tenant_tx
from pulse.errors import PulseError
from pulse.oncall.ical import user_calendar
from pulse.oncall.store import load_schedules
from pulse.provisioning.tenants import tenant_status

router = APIRouter(prefix="/oncall/feeds", tags=["oncall-feed"], responses={404: {"model": ErrorBody}})

FEED_DAYS = 60
FEED_ACTOR = "service:oncall-feed"
FeedToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _not_found() -> PulseError:
    return PulseError(404, "not_found", "no such feed")


@router.get(
    "/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)."}},
)
async def personal_feed(token: FeedToken, pool: Pool) -> Response:
    async with operator_tx(pool, FEED_ACTOR) as conn:
        feed = await queries.find_feed(conn, token_hash(token))
    if feed is None:
        raise _not_found()
    tenant, user_id = feed["tenant_id"], feed["user_id"]
    begins = calendar_start(datetime.now(UTC))
    ends = begins + timedelta(days=FEED_DAYS)
    async with tenant_tx(pool, tenant) as conn:
        if await tenant_status(conn, tenant) in (None, "DELETED"):
            raise _not_found()
        ids = await queries.schedule_ids(conn, tenant)
        schedules = await load_schedules(conn, tenant, ids, since=begins, until=ends)
    name = feed["display_name"] or feed["username"]
    body = user_calendar(
        sorted(schedules.values(), key=lambda s: s.schedule_id), user_id, begins, ends, {user_id: name}
    )
    return calendar_response(body, "my-oncall.ics")
