"""/operator/settings: platform settings kept in `app_settings` and read live by the services.
Only known keys may be set, each checked against its allowed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pulse.api.audit import AuditChange
from pulse.api.deps import OperatorAdmin, OperatorDb
from pulse.api.errors import ErrorBody
from pulse.api.queries import settings as queries
from pulse.api.queries.settings import SettingPublic
from pulse.errors import PulseError

router = APIRouter(
    prefix="/operator/settings",
    tags=["operator-settings"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


def _choice(*allowed: str) -> Callable[[str], str | None]:
    return lambda v: None if v in allowed else f"one of {', '.join(allowed)}"


def _int_range(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not value.isdigit() or not low <= int(value) <= high:
            return f"an integer from {low} to {high}"
        return None

    return check


# key → validator returning what is wrong, or None
SETTINGS: dict[str, Callable[[str], str | None]] = {
    "MODE": _choice("PROD", "DEV"),
    "STORE_REJECTS": _choice("0", "1"),
    "MAX_PAYLOAD_BYTES": _int_range(256, 1_048_576),
    "RATE_LIMIT_RPS": _int_range(1, 100_000),
    "RATE_LIMIT_BURST": _int_range(1, 1_000_000),
    "TENANT_RATE_LIMIT_RPS": _int_range(1, 10_000_000),
    "TENANT_RATE_LIMIT_BURST": _int_range(1, 100_000_000),
    "telemetry_retention_days": _int_range(1, 3650),
    "system_metrics_retention_days": _int_range(1, 3650),
}


class SettingsList(BaseModel):
    settings: list[SettingPublic]


class SettingsUpdate(BaseModel):
    values: Annotated[
        dict[str, Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=len(SETTINGS))
    ]


@router.get("", response_model=SettingsList)
async def get_settings(conn: OperatorDb) -> SettingsList:
    return SettingsList(settings=await queries.list_settings(conn))


@router.put("", response_model=SettingsList, responses={400: {"model": ErrorBody}})
async def update_settings(
    conn: OperatorDb, principal: OperatorAdmin, body: SettingsUpdate, audit: AuditChange
) -> SettingsList:
    """Set some settings at once (all or nothing). Ingest picks them up within seconds."""
    problems = {}
    for key, value in body.values.items():
        check = SETTINGS.get(key)
        problem = "unknown setting" if check is None else check(value.strip())
        if problem:
            problems[key] = problem
    if problems:
        raise PulseError(400, "invalid_settings", problems)
    before = {s.key: s.value for s in await queries.list_settings(conn) if s.key in body.values}
    await queries.store_settings(conn, {key: value.strip() for key, value in body.values.items()})
    after = await queries.list_settings(conn)
    audit.change(before=before, after={s.key: s.value for s in after if s.key in body.values})
    return SettingsList(settings=after)
