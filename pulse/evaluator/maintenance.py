"""Maintenance windows: while one is active and matches a device, no new alert opens for it (alerts
already open stay open). One-off windows are `starts_at ≤ at < ends_at`; a recurring window is also
limited to days of the week and hours read in its own IANA time zone, so "Sunday 02:00-04:00
Europe/Berlin" stays at 02:00 local on both sides of a daylight-saving change. The `recurring`
column has one schema, shared with the API: `pulse.alerts.maintenance`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from pulse.alerts.maintenance import Recurrence, RecurrenceError, read_recurrence
from pulse.log import get_logger

log = get_logger("pulse.evaluator")


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    window_id: str
    starts_at: datetime
    ends_at: datetime | None
    zone: ZoneInfo
    recurring: Recurrence | None = None
    site_ids: frozenset[str] = frozenset()
    device_types: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()

    def suppresses(self, at: datetime, site_id: str, device_type: str | None, groups: Iterable[str]) -> bool:
        if at < self.starts_at or (self.ends_at is not None and at >= self.ends_at):
            return False
        if self.site_ids and site_id not in self.site_ids:
            return False
        if self.device_types and device_type not in self.device_types:
            return False
        if self.group_ids and self.group_ids.isdisjoint(groups):
            return False
        return self.recurring is None or self.recurring.covers(at.astimezone(self.zone))


class WindowError(ValueError):
    pass


def parse_window(row: Mapping[str, Any]) -> MaintenanceWindow:
    """An `alert_maintenance_windows` row → window, or WindowError (the caller skips and logs it)."""
    try:
        zone = ZoneInfo(row.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"unknown time zone {row.get('timezone')!r}") from exc
    try:
        recurring = read_recurrence(row.get("recurring"))
    except RecurrenceError as exc:
        raise WindowError(str(exc)) from None
    return MaintenanceWindow(
        window_id=row["window_id"],
        starts_at=row["starts_at"],
        ends_at=row.get("ends_at"),
        zone=zone,
        recurring=recurring,
        site_ids=frozenset(row.get("site_ids") or ()),
        device_types=frozenset(row.get("device_types") or ()),
        group_ids=frozenset(row.get("group_ids") or ()),
    )


def suppressed(
    windows: Sequence[MaintenanceWindow],
    at: datetime,
    site_id: str,
    device_type: str | None,
    groups: Iterable[str],
) -> bool:
    groups = tuple(groups)
    return any(w.suppresses(at, site_id, device_type, groups) for w in windows)


async def load_windows(conn: asyncpg.Connection, tenant_id: str) -> tuple[MaintenanceWindow, ...]:
    """The tenant's enabled windows; an unusable one is skipped and logged (the evaluator and the
    escalation worker both read them)."""
    windows: list[MaintenanceWindow] = []
    for row in await conn.fetch(
        """SELECT window_id, starts_at, ends_at, recurring, timezone, site_ids, device_types, group_ids
             FROM alert_maintenance_windows WHERE tenant_id = $1 AND enabled""",
        tenant_id,
    ):
        try:
            windows.append(parse_window(row))
        except WindowError as exc:
            log.warning(
                "skipping unusable maintenance window",
                tenant_id=tenant_id,
                window_id=row["window_id"],
                error=str(exc),
            )
    return tuple(windows)
