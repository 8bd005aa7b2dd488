"""The services Pulse is made of. Each is a module with `async def run(settings)`; `pulse up` runs them
all as tasks of one process, `pulse run NAME` runs some on their own. Modules are imported on demand so
the CLI starts fast and one service's dependencies never load in another's process."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from pulse.config import Settings

SERVICES: dict[str, tuple[str, str]] = {
    "admin": ("pulse.api.admin_service", "provisioning admin API (X-Admin-Key) on PULSE_ADMIN_PORT"),
    "api": ("pulse.api.service", "the HTTP API, its OpenAPI docs and the health probes"),
    "escalation": (
        "pulse.escalation.service",
        "escalation policies: notify whoever is on call, escalate until someone acknowledges",
    ),
    "evaluator": ("pulse.evaluator.service", "device health, alert rules and the alert lifecycle"),
    "ingest": (
        "pulse.ingest.service",
        "MQTT telemetry intake: validate, quarantine, batch-write to PostgreSQL",
    ),
    "notify": (
        "pulse.notify.service",
        "alert notifications: webhook, Slack, PagerDuty, Teams, email, SNMP and MQTT, with retries",
    ),
    "ops": ("pulse.ops.service", "housekeeping: partitions, retention, telemetry rollups"),
}


def load_service(name: str) -> Callable[[Settings], Awaitable[None]]:
    module, _ = SERVICES[name]
    return importlib.import_module(module).run
