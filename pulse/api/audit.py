"""The audit trail of API writes: one `audit_log` row for every successful write (any method but GET,
HEAD and OPTIONS) through the customer, operator and admin APIs.

Written from one place — the database dependencies in `deps.py` (`TenantDb`, `OperatorDb`, `AdminDb`)
call `record_write` after the handler returned, in the handler's own transaction, so the row commits
with the change or not at all, and a refused write leaves none. The row says who (actor, address,
request id), what (the route's name as `action`, the resource from the path) and in which tenant. A
handler whose change is worth seeing in full declares `AuditChange` and fills in `before`/`after`
(and the entity when the path does not name it); every value goes through `mask_secrets` first.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from pydantic import BaseModel

from pulse.api.request_id import request_id_of

MASK = "********"
# Config keys whose values are secrets, or carry one (Slack and Teams webhook URLs are the credential).
_SECRET_KEY = re.compile(
    r"secret|passw|token|api_?key|private|credential|routing_key|integration_key|auth|signature|"
    r"community|webhook|url|dsn",
    re.IGNORECASE,
)
_SECURITY_RESOURCES = {"users", "tokens", "broker-accounts", "contact-methods", "feed"}
_DEVICE_RESOURCES = {"devices", "tags", "sites", "device-groups", "import"}


def mask_secrets(value: Any) -> Any:
    """The value with every secret-looking key's value replaced by a mask, at any depth."""
    if isinstance(value, dict):
        return {
            k: MASK if _SECRET_KEY.search(str(k)) and v not in (None, "") else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


@dataclass(frozen=True)
class Actor:
    type: str  # user (a tenant's person or client), operator, admin-key, device
    id: str
    name: str | None = None


@dataclass
class AuditNote:
    """What a handler adds to its request's audit row."""

    before: Any = None
    after: Any = None
    entity_type: str | None = None
    entity_id: str | None = None
    entity_name: str | None = None
    tenant_id: str | None = None  # operator and admin routes whose tenant is not in the path
    actor: Actor | None = None  # who acted, when not the caller the dependency knows (a device)

    def change(self, *, before: Any = None, after: Any = None) -> None:
        self.before, self.after = _plain(before), _plain(after)


def audit_note(request: Request) -> AuditNote:
    note = getattr(request.state, "audit_note", None)
    if note is None:
        note = request.state.audit_note = AuditNote()
    return note


AuditChange = Annotated[AuditNote, Depends(audit_note)]


def _resource(request: Request) -> tuple[str | None, str | None]:
    """(entity type, id) from the path: the last path parameter and the segment naming it, else the
    last literal segment (a create)."""
    route = request.scope.get("route")
    template: str = getattr(route, "path", request.url.path)
    segments = [s for s in template.split("/") if s]
    for index in range(len(segments) - 1, -1, -1):
        segment = segments[index]
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            kind = segments[index - 1] if index > 0 else name
            return kind, str(request.path_params.get(name))[:256]
    return (segments[-1] if segments else None), None


def _category(entity_type: str | None, path: str) -> str:
    if entity_type in _SECURITY_RESOURCES or "/users" in path:
        return "security"
    if entity_type in _DEVICE_RESOURCES:
        return "device"
    if entity_type == "alerts":
        return "alert"
    if entity_type == "tenants":
        return "tenant"
    return "config"


def _inet(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


async def record_write(
    conn: asyncpg.Connection, request: Request, actor: Actor, *, tenant_id: str | None, source: str
) -> None:
    """The audit row of this request's write, in the handler's transaction."""
    note: AuditNote = getattr(request.state, "audit_note", None) or AuditNote()
    actor = note.actor or actor
    path_type, path_id = _resource(request)
    entity_type = note.entity_type or path_type
    entity_id = note.entity_id or path_id
    route = request.scope.get("route")
    action = getattr(route, "name", None) or request.method.lower()
    details: dict[str, Any] = {"method": request.method, "path": request.url.path[:512]}
    if note.before is not None:
        details["before"] = mask_secrets(note.before)
    if note.after is not None:
        details["after"] = mask_secrets(note.after)
    target = f" {entity_type} {entity_id}" if entity_id else (f" {entity_type}" if entity_type else "")
    message = f"{actor.name or actor.id} {action.replace('_', ' ')}:{target}"
    await conn.execute(
        """INSERT INTO audit_log (tenant_id, event_type, category, severity, entity_type, entity_id,
                                  entity_name, action, message, details, source_service, actor_type,
                                  actor_id, actor_name, ip_address, request_id)
           VALUES ($1, $2, $3, 'info', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::inet, $15)""",
        note.tenant_id or tenant_id,
        f"{entity_type or 'api'}.{action}",
        _category(entity_type, request.url.path),
        entity_type,
        entity_id,
        note.entity_name,
        action,
        message[:1000],
        details,
        source,
        actor.type,
        actor.id[:256],
        actor.name[:256] if actor.name else None,
        _inet(request),
        request_id_of(request.scope),
    )
