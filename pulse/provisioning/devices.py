"""Creating, activating, rotating and revoking devices — shared by the admin API and the customer API,
so the subscription device limit and the credential rules hold on every path.

All functions run on a connection inside a transaction the caller opened (tenant or operator context).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from pulse.broker.access import hash_password
from pulse.errors import PulseError
from pulse.provisioning.tokens import hash_secret, new_activation_code, new_provision_token
from pulse.subscriptions.limits import refresh_device_count, reserve_device_slot

# Ids become MQTT topic segments: no '/', '+', '#', no spaces or control characters.
ID_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}"
ID_PATTERN = f"^{ID_SEGMENT}$"
TENANT_ID_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)

# Registry columns a caller may set when creating or updating a device.
DEVICE_FIELDS = (
    "fw_version", "metadata", "device_type", "model", "manufacturer", "serial_number", "mac_address",
    "imei", "iccid", "hw_revision", "notes", "address", "latitude", "longitude",
)  # fmt: skip


class ProvisioningError(PulseError):
    """A device or tenant operation refused (unknown site, duplicate id, bad activation code …)."""


@dataclass
class ProvisionedDevice:
    tenant_id: str
    device_id: str
    site_id: str
    status: str
    subscription_id: str | None
    provision_token: str | None = None  # plain token: returned once, never stored
    activation_code: str | None = None  # plain code: returned once, never stored
    activation_expires_at: datetime | None = None


def valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


async def register_device(
    conn: asyncpg.Connection,
    tenant_id: str,
    device_id: str,
    site_id: str,
    *,
    subscription_id: str | None = None,
    fields: dict[str, object] | None = None,
    credential: Literal["token", "activation", "none"] = "token",
    if_exists: Literal["error", "update"] = "error",
    activation_ttl: timedelta = timedelta(hours=1),
) -> ProvisionedDevice:
    """Create (or, with if_exists='update', re-register) an ACTIVE device and issue its credential."""
    for label, value in (("device_id", device_id), ("site_id", site_id)):
        if not valid_id(value):
            raise ProvisioningError(422, "invalid_id", f"{label} must match {ID_PATTERN}")
    fields = {k: v for k, v in (fields or {}).items() if k in DEVICE_FIELDS and v is not None}
    if not await conn.fetchval("SELECT 1 FROM tenants WHERE tenant_id = $1 AND status = 'ACTIVE'", tenant_id):
        raise ProvisioningError(404, "tenant_not_found", f"no active tenant {tenant_id!r}")

    existing = await conn.fetchrow(
        "SELECT status, subscription_id FROM device_registry WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
        tenant_id,
        device_id,
    )
    if existing is not None and if_exists == "error":
        raise ProvisioningError(409, "device_exists", f"device {device_id!r} already exists")
    counted = existing is not None and existing["status"] == "ACTIVE" and existing["subscription_id"]
    if counted and subscription_id in (None, existing["subscription_id"]):
        chosen = existing["subscription_id"]
    else:
        chosen = await reserve_device_slot(conn, tenant_id, subscription_id)

    await conn.execute(
        "INSERT INTO sites (tenant_id, site_id, name) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING",
        tenant_id,
        site_id,
    )
    columns = ["tenant_id", "device_id", "site_id", "status", "subscription_id", *fields]
    values = [tenant_id, device_id, site_id, "ACTIVE", chosen, *fields.values()]
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    await conn.execute(
        f"""INSERT INTO device_registry ({", ".join(columns)}) VALUES ({placeholders})
            ON CONFLICT (tenant_id, device_id) DO UPDATE SET {updates}, decommissioned_at = NULL""",
        *values,
    )
    if existing is not None and existing["subscription_id"] and existing["subscription_id"] != chosen:
        await refresh_device_count(conn, tenant_id, existing["subscription_id"])

    device = ProvisionedDevice(tenant_id, device_id, site_id, "ACTIVE", chosen)
    if credential == "token":
        device.provision_token = await _issue_token(conn, tenant_id, device_id, reason="ROTATED")
    elif credential == "activation":
        device.activation_code = new_activation_code()
        device.activation_expires_at = await conn.fetchval(
            """INSERT INTO device_activation (tenant_id, device_id, activation_code_hash, expires_at)
               VALUES ($1, $2, $3, now() + $4::interval) RETURNING expires_at""",
            tenant_id,
            device_id,
            hash_secret(device.activation_code),
            activation_ttl,
        )
    return device


async def _issue_token(conn: asyncpg.Connection, tenant_id: str, device_id: str, *, reason: str) -> str:
    """A new provision token replaces any previous one; history keeps hashes and revocation times.

    The token is also the device's broker password (username `{tenant}/{device}`, pulse/broker/): the
    broker's copy is a PBKDF2 hash, pushed live by the caller (pulse/broker/control.py)."""
    token = new_provision_token()
    token_hash = hash_secret(token)
    await conn.execute(
        "UPDATE device_token_history SET revoked_at = now(), reason = $3 "
        "WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL",
        tenant_id,
        device_id,
        reason,
    )
    await conn.execute(
        "INSERT INTO device_token_history (tenant_id, device_id, token_hash) VALUES ($1, $2, $3)",
        tenant_id,
        device_id,
        token_hash,
    )
    await conn.execute(
        "UPDATE device_registry SET provision_token_hash = $3, broker_password_hash = $4, provisioned_at = now() "
        "WHERE tenant_id = $1 AND device_id = $2",
        tenant_id,
        device_id,
        token_hash,
        hash_password(token),
    )
    return token


async def activate_device(conn: asyncpg.Connection, tenant_id: str, device_id: str, code: str) -> str:
    """Exchange a one-time activation code for a provision token (the device calls this)."""
    row = await conn.fetchrow(
        """SELECT id, used_at, expires_at <= now() AS expired FROM device_activation
            WHERE tenant_id = $1 AND device_id = $2 AND activation_code_hash = $3 FOR UPDATE""",
        tenant_id,
        device_id,
        hash_secret(code),
    )
    if row is None:
        raise ProvisioningError(400, "invalid_activation_code", "Invalid activation code")
    if row["used_at"] is not None:
        raise ProvisioningError(400, "activation_code_used", "Activation code already used")
    if row["expired"]:
        raise ProvisioningError(400, "activation_code_expired", "Activation code expired")
    device = await conn.fetchrow(
        "SELECT status, subscription_id FROM device_registry WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
        tenant_id,
        device_id,
    )
    if device is None:
        raise ProvisioningError(400, "invalid_activation_code", "Invalid activation code")
    if device["status"] != "ACTIVE" or not device["subscription_id"]:
        # A revoked or inactive device coming back takes a slot again.
        chosen = await reserve_device_slot(conn, tenant_id, None)
        await conn.execute(
            "UPDATE device_registry SET status = 'ACTIVE', subscription_id = $3, decommissioned_at = NULL "
            "WHERE tenant_id = $1 AND device_id = $2",
            tenant_id,
            device_id,
            chosen,
        )
    await conn.execute("UPDATE device_activation SET used_at = now() WHERE id = $1", row["id"])
    return await _issue_token(conn, tenant_id, device_id, reason="ROTATED")


async def rotate_token(conn: asyncpg.Connection, tenant_id: str, device_id: str) -> str:
    if not await conn.fetchval(
        "SELECT 1 FROM device_registry WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
        tenant_id,
        device_id,
    ):
        raise ProvisioningError(404, "device_not_found", f"no device {device_id!r}")
    return await _issue_token(conn, tenant_id, device_id, reason="ROTATED")


async def set_device_status(
    conn: asyncpg.Connection,
    tenant_id: str,
    device_id: str,
    status: Literal["REVOKED", "INACTIVE", "SUSPENDED", "DELETED"],
    *,
    decommission: bool = False,
) -> None:
    """Take a device out of service; its token stops working within the ingest auth-cache TTL."""
    row = await conn.fetchrow(
        """UPDATE device_registry SET status = $3,
                  decommissioned_at = CASE WHEN $4 THEN now() ELSE decommissioned_at END
            WHERE tenant_id = $1 AND device_id = $2
        RETURNING subscription_id""",
        tenant_id,
        device_id,
        status,
        decommission,
    )
    if row is None:
        raise ProvisioningError(404, "device_not_found", f"no device {device_id!r}")
    if status == "REVOKED":
        await conn.execute(
            "UPDATE device_registry SET broker_password_hash = NULL WHERE tenant_id = $1 AND device_id = $2",
            tenant_id,
            device_id,
        )
        await conn.execute(
            "UPDATE device_token_history SET revoked_at = now(), reason = 'REVOKED' "
            "WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL",
            tenant_id,
            device_id,
        )
    if row["subscription_id"]:
        await refresh_device_count(conn, tenant_id, row["subscription_id"])
