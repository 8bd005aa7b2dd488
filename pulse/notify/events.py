"""The typed alert event a channel renders (no context bag)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# alert_events.event → the delivery event a route's `deliver_on` names. UPDATED and SILENCED deliver
# nothing. ESCALATED carries the new level in details.escalation_level.
DELIVERY_EVENTS = {
    "OPENED": "OPEN",
    "ACKNOWLEDGED": "ACKNOWLEDGED",
    "ESCALATED": "ESCALATED",
    "CLOSED": "CLOSED",
}

VERBS = {"OPEN": "Alert", "ACKNOWLEDGED": "Acknowledged", "ESCALATED": "Escalated", "CLOSED": "Resolved"}


def severity_label(severity: int) -> str:
    """Integer severity (1 Info … 5 Critical, higher = worse) → the label routes filter on:
    ≥5 CRITICAL, 3-4 WARNING, ≤2 INFO (the SeverityBadge mapping of the reference, §4.8)."""
    if severity >= 5:
        return "CRITICAL"
    if severity >= 3:
        return "WARNING"
    return "INFO"


@dataclass(frozen=True)
class AlertEvent:
    """What a delivery is about, as stored in `delivery_jobs.payload_json`."""

    event_id: int
    tenant_id: str
    alert_id: int
    event: str  # OPEN | ACKNOWLEDGED | ESCALATED | CLOSED
    status: str
    site_id: str
    device_id: str
    alert_type: str
    severity: int
    summary: str
    created_at: datetime
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # A message to a person: their single-use acknowledge link. Set by the worker at send time from
    # the job's link id (never stored in the job), so it is not part of the stored payload.
    ack_url: str | None = None

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity)

    @property
    def headline(self) -> str:
        """One line for chat channels: `[CRITICAL] Escalated (level 2): THRESHOLD on pump-7`."""
        verb = VERBS.get(self.event, self.event)
        if self.event == "ESCALATED" and self.details.get("escalation_level"):
            verb += f" (level {self.details['escalation_level']})"
        return f"[{self.severity_label}] {verb}: {self.alert_type} on {self.device_id}"

    def to_json(self) -> dict[str, Any]:
        ack = {"ack_url": self.ack_url} if self.ack_url else {}
        return ack | {
            "event_id": self.event_id,
            "tenant_id": self.tenant_id,
            "alert_id": self.alert_id,
            "event": self.event,
            "status": self.status,
            "site_id": self.site_id,
            "device_id": self.device_id,
            "alert_type": self.alert_type,
            "severity": self.severity,
            "severity_label": self.severity_label,
            "summary": self.summary,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertEvent:
        return cls(
            event_id=int(data["event_id"]),
            tenant_id=data["tenant_id"],
            alert_id=int(data["alert_id"]),
            event=data["event"],
            status=data["status"],
            site_id=data["site_id"],
            device_id=data["device_id"],
            alert_type=data["alert_type"],
            severity=int(data["severity"]),
            summary=data["summary"],
            created_at=datetime.fromisoformat(data["created_at"]),
            actor=data.get("actor"),
            details=data.get("details") or {},
        )
