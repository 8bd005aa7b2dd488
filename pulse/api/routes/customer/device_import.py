"""POST /customer/devices/import: many devices from one CSV, each row on its own (a bad row is
reported and skipped, the others are created). Every created device gets a provision token and
counts against the subscription's device limit, exactly as a single create does."""

from __future__ import annotations

import csv
import io
import re
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, File, UploadFile
from pydantic import BaseModel

from pulse.api.deps import AdminTenantId, AppSettings, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries.tags import replace_tags
from pulse.broker import control as broker_control
from pulse.errors import PulseError
from pulse.provisioning.devices import ProvisioningError, register_device, valid_id
from pulse.subscriptions.limits import CapacityError

router = APIRouter(
    prefix="/customer/devices", tags=["customer-devices"], responses={401: {"model": ErrorBody}}
)

MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 500
DEFAULT_SITE = "default-site"
KNOWN_COLUMNS = {"device_id", "name", "device_type", "site_id", "tags"}


class ImportRow(BaseModel):
    row: int
    status: Literal["ok", "error"]
    device_id: str | None = None
    provision_token: str | None = None  # shown once
    message: str | None = None


class ImportResult(BaseModel):
    total: int
    imported: int
    failed: int
    results: list[ImportRow]


def _derived_id(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()[:100] or "DEVICE"
    return f"{slug}-{secrets.token_hex(3).upper()}"


async def _read_bounded(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise PulseError(413, "payload_too_large", f"the CSV file is larger than {MAX_CSV_BYTES} bytes")
    return data


def _row_problem(row: dict[str, str]) -> str | None:
    for column in ("device_id", "name", "device_type", "site_id"):
        if len(row.get(column) or "") > 128:
            return f"{column} longer than 128 characters"
    if not (row.get("device_id") or row.get("name")):
        return "device_id or name is required"
    if row.get("device_id") and not valid_id(row["device_id"]):
        return "device_id has characters that are not allowed"
    if len(row.get("tags") or "") > 1000:
        return "tags longer than 1000 characters"
    return None


@router.post(
    "/import",
    response_model=ImportResult,
    responses={400: {"model": ErrorBody}, 413: {"model": ErrorBody}},
)
async def import_devices(
    tenant: AdminTenantId,
    conn: TenantDb,
    file: Annotated[
        UploadFile,
        File(
            description="CSV, UTF-8, ≤1 MB, ≤500 rows; columns: device_id or name, "
            "device_type, site_id (default 'default-site'), tags (comma-separated)"
        ),
    ],
    settings: AppSettings,
    background: BackgroundTasks,
) -> ImportResult:
    try:
        text = (await _read_bounded(file)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PulseError(400, "invalid_csv", "the file is not UTF-8") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip().lower() for c in (reader.fieldnames or []) if c}
        if not columns & {"device_id", "name"}:
            raise PulseError(400, "invalid_csv", "the header needs a device_id or a name column")
        rows = []
        for raw in reader:
            if len(rows) >= MAX_ROWS:
                raise PulseError(400, "too_many_rows", f"at most {MAX_ROWS} rows per import")
            rows.append(
                {
                    (k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else ""
                    for k, v in raw.items()
                }
            )
    except csv.Error as exc:
        raise PulseError(400, "invalid_csv", f"cannot read the CSV: {exc}") from None

    results: list[ImportRow] = []
    for number, row in enumerate(rows, start=1):
        problem = _row_problem(row)
        if problem:
            results.append(ImportRow(row=number, status="error", message=problem))
            continue
        device_id = row.get("device_id") or _derived_id(row["name"])
        tags = [t.strip() for t in (row.get("tags") or "").split(",") if t.strip()][:50]
        fields = {"device_type": row.get("device_type") or None, "model": row.get("name") or None}
        try:
            async with conn.transaction():  # a savepoint: a failed row leaves the others intact
                created = await register_device(
                    conn,
                    tenant,
                    device_id,
                    row.get("site_id") or DEFAULT_SITE,
                    fields=fields,
                    credential="token",
                )
                if tags:
                    await replace_tags(conn, tenant, device_id, [t[:64] for t in tags])
        except (ProvisioningError, CapacityError) as exc:
            results.append(ImportRow(row=number, status="error", device_id=device_id, message=exc.detail))
            continue
        results.append(
            ImportRow(row=number, status="ok", device_id=device_id, provision_token=created.provision_token)
        )
    imported = sum(1 for r in results if r.status == "ok")
    passwords = {r.device_id: r.provision_token for r in results if r.device_id and r.provision_token}
    background.add_task(broker_control.set_device_passwords, settings, tenant, passwords)  # after the commit
    return ImportResult(
        total=len(results), imported=imported, failed=len(results) - imported, results=results
    )
