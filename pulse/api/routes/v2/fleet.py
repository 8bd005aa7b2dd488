"""/api/v2/fleet/summary: connection-state counts, alert counts and low batteries."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from pulse.api.deps import CustomerPrincipal, TenantDb
from pulse.api.errors import ErrorBody

router = APIRouter(prefix="/api/v2/fleet", tags=["v2-fleet"], responses={401: {"model": ErrorBody}})

LOW_BATTERY_PCT = 20


class LowBatteryDevice(BaseModel):
    device_id: str
    site_id: str
    battery_pct: float


class FleetSummary(BaseModel):
    total_devices: int
    online: int
    stale: int
    offline: int
    alerts_open: int
    alerts_acknowledged: int
    alerts_new_1h: int
    low_battery_threshold: int
    low_battery_count: int
    low_battery_devices: list[LowBatteryDevice]


@router.get("/summary", response_model=FleetSummary)
async def fleet_summary(principal: CustomerPrincipal, conn: TenantDb) -> FleetSummary:
    """Counts over the tenant's active devices; battery from the latest `battery_pct` reported."""
    tenant = principal.tenant_id
    counts = await conn.fetchrow(
        """SELECT count(*) AS total,
                  count(*) FILTER (WHERE s.status = 'ONLINE') AS online,
                  count(*) FILTER (WHERE s.status = 'STALE') AS stale
             FROM device_registry r
             LEFT JOIN device_state s ON s.tenant_id = r.tenant_id AND s.device_id = r.device_id
            WHERE r.tenant_id = $1 AND r.status = 'ACTIVE' AND r.decommissioned_at IS NULL""",
        tenant,
    )
    alerts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'OPEN') AS open,
                  count(*) FILTER (WHERE status = 'ACKNOWLEDGED') AS acknowledged,
                  count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS new_1h
             FROM alerts WHERE tenant_id = $1 AND (status <> 'CLOSED' OR created_at > now() - interval '1 hour')""",
        tenant,
    )
    low = await conn.fetch(
        """SELECT device_id, site_id, battery::double precision AS battery_pct, count(*) OVER () AS total
             FROM (SELECT s.device_id, s.site_id,
                          CASE WHEN jsonb_typeof(s.state->'battery_pct') = 'number'
                               THEN (s.state->'battery_pct')::numeric END AS battery
                     FROM device_state s WHERE s.tenant_id = $1) b
            WHERE battery < $2
            ORDER BY battery LIMIT 10""",
        tenant,
        LOW_BATTERY_PCT,
    )
    return FleetSummary(
        total_devices=counts["total"],
        online=counts["online"],
        stale=counts["stale"],
        offline=counts["total"] - counts["online"] - counts["stale"],
        alerts_open=alerts["open"],
        alerts_acknowledged=alerts["acknowledged"],
        alerts_new_1h=alerts["new_1h"],
        low_battery_threshold=LOW_BATTERY_PCT,
        low_battery_count=low[0]["total"] if low else 0,
        low_battery_devices=[
            LowBatteryDevice(device_id=r["device_id"], site_id=r["site_id"], battery_pct=r["battery_pct"])
            for r in low
        ],
    )
