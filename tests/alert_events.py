"""AlertEvent values for notification tests: one default event, each test overriding what it checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pulse.notify.events import AlertEvent

DEFAULTS: dict[str, Any] = {
    "event_id": 7,
    "tenant_id": "acme",
    "alert_id": 42,
    "event": "OPEN",
    "status": "OPEN",
    "site_id": "site-1",
    "device_id": "pump-1",
    "alert_type": "THRESHOLD",
    "severity": 5,
    "summary": "hot",
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
}


def make_event(**overrides: Any) -> AlertEvent:
    return AlertEvent(**(DEFAULTS | overrides))
