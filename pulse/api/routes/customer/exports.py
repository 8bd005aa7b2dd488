"""/customer/export/*: devices and alerts as CSV or JSON, streamed from a server-side cursor so an
export of any size uses constant memory. Each finished export is recorded in `report_runs`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from pulse.api.deps import CustomerPrincipal, Pool
from pulse.api.errors import ErrorBody
from pulse.api.routes.params import SiteFilter
from pulse.db.tx import tenant_tx

router = APIRouter(
    prefix="/customer/export", tags=["customer-exports"], responses={401: {"model": ErrorBody}}
)

Format = Literal["csv", "json"]
_FETCH = 500

DEVICE_COLUMNS = (
    "device_id",
    "name",
    "model",
    "device_type",
    "status",
    "registry_status",
    "site_id",
    "last_seen_at",
    "tags",
)
DEVICE_SQL = """
SELECT r.device_id, COALESCE(r.model, r.device_id) AS name, r.model, r.device_type,
       COALESCE(s.status, 'OFFLINE') AS status, r.status AS registry_status, r.site_id, s.last_seen_at,
       COALESCE((SELECT array_agg(t.tag ORDER BY t.tag) FROM device_tags t
                  WHERE t.tenant_id = r.tenant_id AND t.device_id = r.device_id), '{}') AS tags
  FROM device_registry r LEFT JOIN device_state s ON s.tenant_id = r.tenant_id AND s.device_id = r.device_id
 WHERE r.tenant_id = $1 AND r.status <> 'DELETED' AND r.decommissioned_at IS NULL
   AND ($2::text IS NULL OR COALESCE(s.status, 'OFFLINE') = $2) AND ($3::text IS NULL OR r.site_id = $3)
 ORDER BY r.site_id, r.device_id"""

ALERT_COLUMNS = (
    "alert_id", "device_id", "site_id", "alert_type", "severity", "status", "created_at", "acknowledged_at",
    "closed_at", "summary",
)  # fmt: skip
ALERT_SQL = """
SELECT id AS alert_id, device_id, site_id, alert_type, severity, status, created_at, acknowledged_at, closed_at, summary
  FROM alerts
 WHERE tenant_id = $1 AND ($2::text[] IS NULL OR status = ANY($2)) AND created_at >= now() - make_interval(days => $3)
 ORDER BY created_at DESC, id DESC"""


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(value)
    return value


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    # Cells starting with = + - @ are prefixed so spreadsheets do not run them as formulas.
    safe = [f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in values]
    csv.writer(buffer).writerow(safe)
    return buffer.getvalue()


async def _stream(
    pool,
    tenant: str,
    actor: str,
    report_type: str,
    fmt: Format,
    key: str,
    columns: tuple[str, ...],
    sql: str,
    args: tuple,
) -> AsyncIterator[str]:
    async with tenant_tx(pool, tenant) as conn:
        count = 0
        rows = conn.cursor(sql, tenant, *args, prefetch=_FETCH).__aiter__()
        first = await anext(rows, None)  # the query runs before anything is sent (see _response)
        if fmt == "csv":
            yield _csv_line(list(columns))
        else:
            yield f'{{"{key}": ['
        async for row in _prepend(first, rows):
            values = [_cell(row[c]) for c in columns]
            if fmt == "csv":
                yield _csv_line(values)
            else:
                yield ("," if count else "") + json.dumps(
                    dict(zip(columns, values, strict=True)), default=str
                )
            count += 1
        if fmt == "json":
            yield f'], "count": {count}}}'
        await conn.execute(
            """INSERT INTO report_runs (tenant_id, report_type, status, triggered_by, parameters, row_count, completed_at)
               VALUES ($1, $2, 'done', $3, $4, $5, now())""",
            tenant,
            report_type,
            f"user:{actor}",
            {"format": fmt},
            count,
        )


async def _prepend(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if first is not None:
        yield first
    async for item in rest:
        yield item


async def _response(make: Callable[[], AsyncIterator[str]], fmt: Format, stem: str) -> StreamingResponse:
    """The first chunk is produced before the response starts, so an error of the query itself (a value
    PostgreSQL refuses) is answered as an error, not as a stream cut off after its 200."""
    filename = f"{stem}-{datetime.now(UTC):%Y%m%d}.{fmt}"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    chunks = make()
    head = await anext(chunks)
    return StreamingResponse(
        _prepend(head, chunks),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/devices",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_devices(
    principal: CustomerPrincipal,
    pool: Pool,
    format: Format = "csv",
    status: Annotated[Literal["ONLINE", "STALE", "OFFLINE"] | None, Query()] = None,
    site_id: SiteFilter = None,
) -> StreamingResponse:
    """Every active device of the tenant: id, name, model, type, status, site, last seen, tags."""
    tenant = principal.tenant_id
    assert tenant
    return await _response(
        lambda: _stream(
            pool,
            tenant,
            principal.sub,
            "device_export",
            format,
            "devices",
            DEVICE_COLUMNS,
            DEVICE_SQL,
            (status, site_id),
        ),
        format,
        "devices",
    )


@router.get(
    "/alerts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_alerts(
    principal: CustomerPrincipal,
    pool: Pool,
    format: Format = "csv",
    status: Literal["OPEN", "ACKNOWLEDGED", "CLOSED", "ALL"] = "ALL",
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> StreamingResponse:
    """Alerts created in the last `days` days, newest first."""
    tenant = principal.tenant_id
    assert tenant
    statuses = None if status == "ALL" else [status]
    return await _response(
        lambda: _stream(
            pool,
            tenant,
            principal.sub,
            "alert_export",
            format,
            "alerts",
            ALERT_COLUMNS,
            ALERT_SQL,
            (statuses, days),
        ),
        format,
        "alerts",
    )
