"""/customer/oncall-schedules: schedules, their stacked layers and overrides (the reference §8/§13.2
contract), and what `pulse.oncall` computes from them — who is on call now, the resolved timeline, its
gaps and an iCalendar export. Reads need `customer`, changes `tenant-admin`.

The schedule is looked up in a dependency, before any body is validated: another tenant's id is a
404 whatever the body. Saving a schedule or a layer answers with the gaps of the next 14 days, so a
console can flag uncovered time at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from pulse.api.deps import SAFE_METHODS, AdminTenantId, TenantAdmin, TenantDb, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries import oncall_schedules as queries
from pulse.api.queries.oncall_schedules import OverridePublic, SchedulePublic
from pulse.api.routes.customer.oncall_models import (
    CurrentOnCall,
    GapList,
    GapPublic,
    LayerBody,
    LayerSaved,
    OverrideCreate,
    OverrideList,
    ScheduleCreate,
    ScheduleList,
    ScheduleReplace,
    ScheduleSaved,
    SlotPublic,
    Timeline,
)
from pulse.api.routes.params import utc
from pulse.errors import PulseError
from pulse.oncall.ical import schedule_calendar
from pulse.oncall.resolve import gaps, timeline, who_is_on_call
from pulse.oncall.schedule import Schedule
from pulse.oncall.store import load_schedules

router = APIRouter(
    prefix="/customer/oncall-schedules",
    tags=["customer-oncall-schedules"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

ScheduleId = Annotated[int, Path(ge=1, le=2**62, description="The schedule's id.")]
LayerId = Annotated[int, Path(ge=1, le=2**62, description="The layer's id.")]
OverrideId = Annotated[int, Path(ge=1, le=2**62, description="The override's id.")]
Days = Annotated[int, Query(ge=1, le=90, description="Length of the range in days.")]
StartAt = Annotated[datetime | None, Query(description="Start of the range (ISO 8601); default now.")]
GAP_DAYS = 14  # what a save reports
SAVE_RESPONSES = {409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


async def _schedule(request: Request, tenant: TenantId, conn: TenantDb, schedule_id: ScheduleId) -> int:
    await queries.schedule_exists(conn, tenant, schedule_id, lock=request.method not in SAFE_METHODS)
    return schedule_id


ExistingSchedule = Annotated[int, Depends(_schedule)]


def _now() -> datetime:
    return datetime.now(UTC)


async def _engine_schedule(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, since: datetime, until: datetime
) -> Schedule:
    return (await load_schedules(conn, tenant, [schedule_id], since=since, until=until))[schedule_id]


async def _next_gaps(conn: asyncpg.Connection, tenant: str, schedule_id: int) -> list[GapPublic]:
    start = _now()
    end = start + timedelta(days=GAP_DAYS)
    schedule = await _engine_schedule(conn, tenant, schedule_id, start, end)
    return [GapPublic.of(g) for g in gaps(schedule, start, end)]


async def _saved(conn: asyncpg.Connection, tenant: str, schedule_id: int) -> ScheduleSaved:
    schedule = await queries.require_schedule(conn, tenant, schedule_id)
    return ScheduleSaved(**schedule.model_dump(), gaps=await _next_gaps(conn, tenant, schedule_id))


async def _layer_saved(conn: asyncpg.Connection, tenant: str, schedule_id: int, layer_id: int) -> LayerSaved:
    schedule = await queries.require_schedule(conn, tenant, schedule_id)
    layer = next(layer for layer in schedule.layers if layer.layer_id == layer_id)
    return LayerSaved(layer=layer, schedule=schedule, gaps=await _next_gaps(conn, tenant, schedule_id))


async def _check_new_layers(conn: asyncpg.Connection, tenant: str, layers: list[LayerBody]) -> None:
    """The layers of a whole schedule: distinct positions (409), participants people of this tenant."""
    positions = [layer.position for layer in layers]
    if len(set(positions)) != len(positions):
        raise PulseError(409, "conflict", "two layers of a schedule cannot share a position")
    await queries.check_people(conn, tenant, {p for layer in layers for p in layer.participants})


async def _check_layer(
    conn: asyncpg.Connection, tenant: str, schedule_id: int, layer: LayerBody, layer_id: int | None
) -> None:
    """One layer saved beside the others: its position must be free (409)."""
    await queries.check_people(conn, tenant, layer.participants)
    if await queries.position_taken(conn, tenant, schedule_id, layer.position, layer_id):
        raise PulseError(409, "conflict", f"position {layer.position} is taken by another layer")


# Schedules


@router.get("", response_model=ScheduleList)
async def list_schedules(
    tenant: TenantId, conn: TenantDb, limit: Annotated[int, Query(ge=1, le=500)] = 500
) -> ScheduleList:
    return ScheduleList(schedules=await queries.list_schedules(conn, tenant, limit))


@router.post("", status_code=201, response_model=ScheduleSaved, responses=SAVE_RESPONSES)
async def create_schedule(tenant: AdminTenantId, conn: TenantDb, body: ScheduleCreate) -> ScheduleSaved:
    await _check_new_layers(conn, tenant, body.layers)
    schedule_id = await queries.insert_schedule(conn, tenant, body.model_dump())
    for layer in body.layers:
        await queries.insert_layer(conn, tenant, schedule_id, layer.stored())
    return await _saved(conn, tenant, schedule_id)


@router.get("/{schedule_id}", response_model=SchedulePublic)
async def get_schedule(tenant: TenantId, conn: TenantDb, schedule_id: ExistingSchedule) -> SchedulePublic:
    return await queries.require_schedule(conn, tenant, schedule_id)


@router.put("/{schedule_id}", response_model=ScheduleSaved, responses=SAVE_RESPONSES)
async def replace_schedule(
    tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule, body: ScheduleReplace
) -> ScheduleSaved:
    await _check_new_layers(conn, tenant, body.layers)
    await queries.update_schedule(conn, tenant, schedule_id, body.model_dump())
    await queries.delete_layers(conn, tenant, schedule_id)
    for layer in body.layers:
        await queries.insert_layer(conn, tenant, schedule_id, layer.stored())
    return await _saved(conn, tenant, schedule_id)


@router.delete("/{schedule_id}", status_code=204)
async def delete_schedule(tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule) -> None:
    await queries.delete_schedule(conn, tenant, schedule_id)


# Layers


@router.post("/{schedule_id}/layers", status_code=201, response_model=LayerSaved, responses=SAVE_RESPONSES)
async def create_layer(
    tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule, body: LayerBody
) -> LayerSaved:
    await _check_layer(conn, tenant, schedule_id, body, None)
    layer_id = await queries.insert_layer(conn, tenant, schedule_id, body.stored())
    return await _layer_saved(conn, tenant, schedule_id, layer_id)


@router.put("/{schedule_id}/layers/{layer_id}", response_model=LayerSaved, responses=SAVE_RESPONSES)
async def replace_layer(
    tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule, layer_id: LayerId, body: LayerBody
) -> LayerSaved:
    await _check_layer(conn, tenant, schedule_id, body, layer_id)
    await queries.update_layer(conn, tenant, schedule_id, layer_id, body.stored())
    return await _layer_saved(conn, tenant, schedule_id, layer_id)


@router.delete("/{schedule_id}/layers/{layer_id}", status_code=204)
async def delete_layer(
    tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule, layer_id: LayerId
) -> None:
    await queries.delete_layer(conn, tenant, schedule_id, layer_id)


# Overrides


@router.get("/{schedule_id}/overrides", response_model=OverrideList)
async def list_overrides(
    tenant: TenantId,
    conn: TenantDb,
    schedule_id: ExistingSchedule,
    since: Annotated[datetime | None, Query(alias="from", description="Only overrides ending after.")] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Only overrides starting before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> OverrideList:
    found = await queries.list_overrides(conn, tenant, schedule_id, utc(since), utc(until), limit)
    return OverrideList(overrides=found)


@router.post(
    "/{schedule_id}/overrides", status_code=201, response_model=OverridePublic, responses=SAVE_RESPONSES
)
async def create_override(
    principal: TenantAdmin,
    tenant: AdminTenantId,
    conn: TenantDb,
    schedule_id: ExistingSchedule,
    body: OverrideCreate,
) -> OverridePublic:
    await queries.check_people(conn, tenant, [body.user_id])
    return await queries.insert_override(conn, tenant, schedule_id, body.model_dump(), principal.display)


@router.delete("/{schedule_id}/overrides/{override_id}", status_code=204)
async def delete_override(
    tenant: AdminTenantId, conn: TenantDb, schedule_id: ExistingSchedule, override_id: OverrideId
) -> None:
    await queries.delete_override(conn, tenant, schedule_id, override_id)


# What the engine computes


@router.get("/{schedule_id}/current", response_model=CurrentOnCall)
async def current_on_call(tenant: TenantId, conn: TenantDb, schedule_id: ExistingSchedule) -> CurrentOnCall:
    now = _now()
    # who_is_on_call looks up to a year either side for the bounds of the current slot.
    schedule = await _engine_schedule(
        conn, tenant, schedule_id, now - timedelta(days=366), now + timedelta(days=366)
    )
    answer = who_is_on_call(schedule, now)
    person = (
        (await queries.people(conn, tenant, [answer.user_id])).get(answer.user_id) if answer.user_id else None
    )
    return CurrentOnCall(
        responder=person["username"] if person else "",
        layer=answer.layer_name,
        until=answer.end,
        since=answer.start,
        user_id=answer.user_id,
        username=person["username"] if person else None,
        display_name=person["display_name"] if person else None,
        is_override=answer.is_override,
    )


def _range(start: datetime | None, days: int) -> tuple[datetime, datetime]:
    begins = utc(start) if start else _now()
    return begins, begins + timedelta(days=days)


@router.get("/{schedule_id}/timeline", response_model=Timeline)
async def get_timeline(
    tenant: TenantId, conn: TenantDb, schedule_id: ExistingSchedule, days: Days = 14, start: StartAt = None
) -> Timeline:
    begins, ends = _range(start, days)
    schedule = await _engine_schedule(conn, tenant, schedule_id, begins, ends)
    slots = timeline(schedule, begins, ends)
    names = await queries.people(conn, tenant, {s.user_id for s in slots})
    return Timeline(
        timezone=schedule.timezone,
        start=begins,
        end=ends,
        slots=[
            SlotPublic(
                start=s.start,
                end=s.end,
                responder=names[s.user_id]["username"] if s.user_id in names else str(s.user_id),
                layer_name=s.layer_name,
                is_override=s.is_override,
                user_id=s.user_id,
            )
            for s in slots
        ],
    )


@router.get("/{schedule_id}/gaps", response_model=GapList)
async def get_gaps(
    tenant: TenantId, conn: TenantDb, schedule_id: ExistingSchedule, days: Days = 14, start: StartAt = None
) -> GapList:
    begins, ends = _range(start, days)
    schedule = await _engine_schedule(conn, tenant, schedule_id, begins, ends)
    found = [GapPublic.of(g) for g in gaps(schedule, begins, ends)]
    return GapList(timezone=schedule.timezone, start=begins, end=ends, gaps=found)


def calendar_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


def calendar_start(now: datetime) -> datetime:
    """Calendars start at the beginning of the UTC day: the first event is not cut at "now", so its
    UID stays the same across a day of refreshes."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@router.get(
    "/{schedule_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)."}},
)
async def get_calendar(
    tenant: TenantId, conn: TenantDb, schedule_id: ExistingSchedule, days: Days = 60
) -> Response:
    begins = calendar_start(_now())
    ends = begins + timedelta(days=days)
    schedule = await _engine_schedule(conn, tenant, schedule_id, begins, ends)
    everyone = {p for layer in schedule.layers for p in layer.participants} | {
        o.user_id for o in schedule.overrides
    }
    people = await queries.people(conn, tenant, everyone)
    names = {user_id: row["display_name"] or row["username"] for user_id, row in people.items()}
    return calendar_response(schedule_calendar(schedule, begins, ends, names), f"oncall-{schedule_id}.ics")
