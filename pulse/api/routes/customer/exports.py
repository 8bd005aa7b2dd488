"""/customer/export/*: devices and alerts as CSV or JSON, streamed from a server-side cursor so an
export of any size uses constant memory. Each finished export is recorded in `report_runs`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from pulse.api.deps import CustomerPrincipal, Pool, TenantId
from pulse.api.errors import ErrorBody
from pulse.api.queries.alerts import statuses_for
from pulse.api.queries.exports import ALERTS, DEVICES, Export, export_rows, record_run
from pulse.api.routes.params import DeviceStatusFilter, SiteFilter
from pulse.db.tx import tenant_tx

router = APIRouter(
    prefix="/customer/export", tags=["customer-exports"], responses={401: {"model": ErrorBody}}
)

Format = Literal["csv", "json"]
_FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(value)
    return value


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    # Cells starting with = + - @ TAB or CR are prefixed so spreadsheets do not run them as formulas
    # (OWASP CSV injection: a leading tab or carriage return also starts a formula in some).
    safe = [f"'{v}" if isinstance(v, str) and v[:1] in _FORMULA_STARTS else v for v in values]
    csv.writer(buffer).writerow(safe)
    return buffer.getvalue()


async def _stream(
    pool: asyncpg.Pool, tenant: str, actor: str, export: Export, fmt: Format, args: tuple
) -> AsyncIterator[str]:
    async with tenant_tx(pool, tenant) as conn:
        count = 0
        rows = aiter(export_rows(conn, export, tenant, *args))
        first = await anext(rows, None)  # the query runs before anything is sent (see _respond)
        if fmt == "csv":
            yield _csv_line(list(export.columns))
        else:
            yield f'{{"{export.name}": ['
        async for row in _prepend(first, rows):
            values = [_cell(row[c]) for c in export.columns]
            if fmt == "csv":
                yield _csv_line(values)
            else:
                yield ("," if count else "") + json.dumps(
                    dict(zip(export.columns, values, strict=True)), default=str
                )
            count += 1
        if fmt == "json":
            yield f'], "count": {count}}}'
        await record_run(conn, tenant, export, actor, fmt, count)


async def _prepend(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if first is not None:
        yield first
    async for item in rest:
        yield item


async def _respond(
    pool: asyncpg.Pool, tenant: str, actor: str, export: Export, fmt: Format, args: tuple
) -> StreamingResponse:
    """The first chunk is produced before the response starts, so an error of the query itself (a value
    PostgreSQL refuses) is answered as an error, not as a stream cut off after its 200."""
    filename = f"{export.name}-{datetime.now(UTC):%Y%m%d}.{fmt}"
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    chunks = _stream(pool, tenant, actor, export, fmt, args)
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
    tenant: TenantId,
    principal: CustomerPrincipal,
    pool: Pool,
    format: Format = "csv",
    status: DeviceStatusFilter = None,
    site_id: SiteFilter = None,
) -> StreamingResponse:
    """Every active device of the tenant: id, name, model, type, status, site, last seen, tags."""
    return await _respond(pool, tenant, principal.sub, DEVICES, format, (status, site_id))


@router.get(
    "/alerts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_alerts(
    tenant: TenantId,
    principal: CustomerPrincipal,
    pool: Pool,
    format: Format = "csv",
    status: Literal["OPEN", "ACKNOWLEDGED", "CLOSED", "ALL"] = "ALL",
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> StreamingResponse:
    """Alerts created in the last `days` days, newest first."""
    return await _respond(pool, tenant, principal.sub, ALERTS, format, (statuses_for(status), days))
