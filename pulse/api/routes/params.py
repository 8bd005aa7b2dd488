"""Path and query parameter types shared by the routers: bounded, so no input is unbounded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from pulse.api.queries.alerts import AlertFilter, AlertType, StatusFilter
from pulse.api.queries.devices import ConnectionStatus
from pulse.errors import PulseError

DeviceId = Annotated[str, Path(min_length=1, max_length=128, description="Device id.")]
AlertId = Annotated[int, Path(ge=1, le=2**62, description="Alert id.")]
DeviceStatusFilter = Annotated[ConnectionStatus | None, Query()]
SiteFilter = Annotated[str | None, Query(max_length=128, description="Only this site.")]
SearchText = Annotated[
    str | None, Query(max_length=100, description="Text searched in ids, model, serial, address.")
]
TagsFilter = Annotated[
    str | None, Query(max_length=1000, description="Comma-separated tags; a device must have all of them.")
]


def split_list(
    value: str | None, *, max_items: int = 20, max_length: int = 100, name: str = "list"
) -> list[str] | None:
    if not value:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) > max_items or any(len(item) > max_length for item in items):
        raise PulseError(
            400, "bad_request", f"{name}: at most {max_items} items of at most {max_length} characters"
        )
    return items or None


def utc(value: datetime | None) -> datetime | None:
    """A naive timestamp from a client is read as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def tenant_alert_filter(
    status: Annotated[StatusFilter, Query(description="ACTIVE = OPEN or ACKNOWLEDGED.")] = "OPEN",
    alert_type: AlertType | None = None,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    site_id: SiteFilter = None,
    min_severity: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> AlertFilter:
    """The filters of a tenant's alert list (/api/v2/alerts, /customer/alerts); open alerts by default."""
    return AlertFilter(status, alert_type, device_id, site_id, min_severity)


TenantAlertFilter = Annotated[AlertFilter, Depends(tenant_alert_filter)]
