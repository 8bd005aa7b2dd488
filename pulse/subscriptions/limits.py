"""Subscription device limits, enforced on every path that creates or activates a device.

The count of ACTIVE devices on a subscription is recomputed from `device_registry` while the
subscription row is locked (`FOR UPDATE`), so two concurrent creators cannot both take the last slot
and the stored `active_device_count` never drifts.
"""

from __future__ import annotations

import asyncpg

from pulse.errors import PulseError

# Statuses that still accept new devices. GRACE keeps the fleet running while renewal is pending.
ASSIGNABLE_STATUSES = ("ACTIVE", "TRIAL", "GRACE")
# Implicit choice: MAIN capacity first, then add-ons, then trial/temporary, oldest first.
_TYPE_ORDER = "CASE subscription_type WHEN 'MAIN' THEN 0 WHEN 'ADDON' THEN 1 ELSE 2 END"


class CapacityError(PulseError):
    """The device cannot be placed on a subscription (no room, no subscription accepting devices)."""


async def count_active_devices(conn: asyncpg.Connection, tenant_id: str, subscription_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM device_registry WHERE tenant_id = $1 AND subscription_id = $2 AND status = 'ACTIVE'",
        tenant_id,
        subscription_id,
    )


async def refresh_device_count(conn: asyncpg.Connection, tenant_id: str, subscription_id: str) -> int:
    """Store the recomputed count (after a device leaves, or to repair drift)."""
    count = await count_active_devices(conn, tenant_id, subscription_id)
    await conn.execute(
        "UPDATE subscriptions SET active_device_count = $3 WHERE tenant_id = $1 AND subscription_id = $2",
        tenant_id,
        subscription_id,
        count,
    )
    return count


async def reserve_device_slot(
    conn: asyncpg.Connection, tenant_id: str, subscription_id: str | None = None
) -> str:
    """Pick (or check) the subscription a new ACTIVE device goes on and count it there.

    Must run inside the transaction that then writes the device as ACTIVE with the returned
    subscription id. Raises CapacityError: 404 unknown subscription, 403 no usable subscription or
    subscription suspended/expired, 409 every candidate at its device limit.
    """
    if subscription_id is not None:
        rows = await conn.fetch(
            "SELECT subscription_id, status, device_limit FROM subscriptions "
            "WHERE tenant_id = $1 AND subscription_id = $2 FOR UPDATE",
            tenant_id,
            subscription_id,
        )
        if not rows:
            raise CapacityError(404, "subscription_not_found", f"no subscription {subscription_id!r}")
        if rows[0]["status"] not in ASSIGNABLE_STATUSES:
            raise CapacityError(
                403, "subscription_inactive", f"subscription {subscription_id} is {rows[0]['status']}"
            )
    else:
        rows = await conn.fetch(
            f"""SELECT subscription_id, status, device_limit FROM subscriptions
                 WHERE tenant_id = $1 AND status = ANY($2::text[])
                 ORDER BY {_TYPE_ORDER}, term_start, subscription_id
                 FOR UPDATE""",
            tenant_id,
            list(ASSIGNABLE_STATUSES),
        )
        if not rows:
            raise CapacityError(403, "no_subscription", f"tenant {tenant_id!r} has no active subscription")
    full = []
    for row in rows:
        used = await count_active_devices(conn, tenant_id, row["subscription_id"])
        if used < row["device_limit"]:
            await conn.execute(
                "UPDATE subscriptions SET active_device_count = $3 WHERE tenant_id = $1 AND subscription_id = $2",
                tenant_id,
                row["subscription_id"],
                used + 1,
            )
            return row["subscription_id"]
        full.append(f"{row['subscription_id']} at limit ({used}/{row['device_limit']})")
    raise CapacityError(409, "device_limit_reached", "; ".join(full))
