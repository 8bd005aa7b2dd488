"""WebSocket /api/v2/ws: live telemetry, device state changes and new alerts of the caller's tenant.

Authenticate with `?token=<access token>` or, better (URLs end up in logs), with a first message
`{"action": "auth", "token": "..."}` within 10 s. Bad or missing token: close 4001; a role without
tenant access or a deleted tenant: close 4003; past the per-user or per-address cap: close 4029; the connection closes with 4001 when the token expires (reconnect with a
fresh one). Everything of the tenant is sent by default; narrow it with
`{"action": "subscribe"|"unsubscribe", "type": "telemetry"|"device_state"|"alerts"}` and
`{"action": "subscribe"|"unsubscribe", "type": "device", "device_id": "..."}` (with any device
subscribed, telemetry is limited to the subscribed devices). Server messages: `hello`, `subscribed`,
`unsubscribed`, `error`, `telemetry`, `device_state`, `alerts`, `ping`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pulse.api.deps import resolve_tenant
from pulse.api.live import LiveHub, Subscriber
from pulse.identity.principal import Principal
from pulse.identity.roles import CUSTOMER
from pulse.identity.verify import TokenError, TokenVerifier
from pulse.provisioning.tenants import TenantAccessError

router = APIRouter(tags=["v2-live"])

AUTH_TIMEOUT = 10.0
PING_SECONDS = 25.0
MAX_CLIENT_MESSAGE = 4096
MAX_DEVICE_FILTERS = 500
CHANNELS = ("telemetry", "device_state", "alerts")
CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_TOO_SLOW, CLOSE_TOO_MANY = 4001, 4003, 4008, 4029


class ConnectionCounts:
    """Open sockets per user and per client address in this process, against the settings' caps."""

    def __init__(self, per_user: int, per_ip: int):
        self.per_user, self.per_ip = per_user, per_ip
        self._counts: Counter[tuple[str, str]] = Counter()

    def take(self, kind: str, key: str) -> bool:
        limit = self.per_user if kind == "user" else self.per_ip
        if self._counts[(kind, key)] >= limit:
            return False
        self._counts[(kind, key)] += 1
        return True

    def give_back(self, kind: str, key: str) -> None:
        self._counts[(kind, key)] -= 1
        if self._counts[(kind, key)] <= 0:
            del self._counts[(kind, key)]


def _counts(websocket: WebSocket) -> ConnectionCounts:
    state = websocket.app.state
    counts = getattr(state, "ws_counts", None)
    if counts is None:
        settings = state.settings
        counts = state.ws_counts = ConnectionCounts(
            settings.ws_max_connections_per_user, settings.ws_max_connections_per_ip
        )
    return counts


@dataclass
class Filters:
    channels: set[str] = field(default_factory=lambda: set(CHANNELS))
    devices: set[str] = field(default_factory=set)

    def wants(self, message: dict[str, Any]) -> bool:
        kind = message["type"]
        if kind not in self.channels:
            return False
        if kind == "telemetry" and self.devices:
            return message["device_id"] in self.devices
        return True

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """A client's subscribe/unsubscribe request → the acknowledgement (or an error)."""
        action, kind = request.get("action"), request.get("type")
        if action not in ("subscribe", "unsubscribe"):
            return {"type": "error", "message": "action must be subscribe, unsubscribe or auth"}
        adding = action == "subscribe"
        if kind == "device":
            device_id = request.get("device_id")
            if not isinstance(device_id, str) or not 0 < len(device_id) <= 128:
                return {"type": "error", "message": "device_id required for device subscription"}
            if adding and len(self.devices) >= MAX_DEVICE_FILTERS:
                return {"type": "error", "message": f"at most {MAX_DEVICE_FILTERS} device subscriptions"}
            (self.devices.add if adding else self.devices.discard)(device_id)
            return {"type": f"{action}d", "channel": "device", "device_id": device_id}
        if kind not in CHANNELS:
            return {"type": "error", "message": f"type must be one of {', '.join(CHANNELS)} or device"}
        (self.channels.add if adding else self.channels.discard)(kind)
        return {"type": f"{action}d", "channel": kind}


async def _token_from(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT)
        message = json.loads(raw) if len(raw) <= MAX_CLIENT_MESSAGE * 4 else {}
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        return None
    if (
        isinstance(message, dict)
        and message.get("action") == "auth"
        and isinstance(message.get("token"), str)
    ):
        return message["token"]
    return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client may be gone already
        await websocket.close(code, reason)


async def _authenticate(websocket: WebSocket, verifier: TokenVerifier) -> tuple[Principal, str] | None:
    """The caller and its tenant, or None after closing the socket (4001 no or bad token, 4003 no
    customer role, no tenant, or a deleted tenant). A WebSocket cannot use the HTTP dependencies
    (TenantId), so it calls their tenant check (`resolve_tenant`, as a read) here."""
    token = await _token_from(websocket)
    if not token:
        await _close(websocket, CLOSE_UNAUTHORIZED, "missing token")
        return None
    try:
        principal = await verifier.verify(token)
    except TokenError as exc:
        await _close(websocket, CLOSE_UNAUTHORIZED, exc.detail[:120])
        return None
    tenant = principal.tenant_id
    if not principal.has(CUSTOMER) or not tenant:
        await _close(websocket, CLOSE_FORBIDDEN, "the customer role is required")
        return None
    try:
        await resolve_tenant(websocket.app.state.pool, tenant, write=False)
    except TenantAccessError as exc:
        await _close(websocket, CLOSE_FORBIDDEN, exc.error)
        return None
    return principal, tenant


async def _read_client(websocket: WebSocket, filters: Filters) -> None:
    while True:
        raw = await websocket.receive_text()
        try:
            request = json.loads(raw) if len(raw) <= MAX_CLIENT_MESSAGE else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            await websocket.send_json(
                {"type": "error", "message": f"send JSON objects of at most {MAX_CLIENT_MESSAGE} bytes"}
            )
            continue
        await websocket.send_json(filters.apply(request))


async def _write_client(
    websocket: WebSocket, subscriber: Subscriber, filters: Filters, expires_at: int | None
) -> None:
    while True:
        timeout = PING_SECONDS
        if expires_at is not None:
            timeout = min(timeout, max(expires_at - time.time(), 0))
        try:
            message = await asyncio.wait_for(subscriber.queue.get(), timeout)
        except TimeoutError:
            if expires_at is not None and time.time() >= expires_at:
                await _close(websocket, CLOSE_UNAUTHORIZED, "token expired")
                return
            await websocket.send_json({"type": "ping"})
            continue
        if subscriber.overflowed:
            await _close(websocket, CLOSE_TOO_SLOW, "client too slow; reconnect")
            return
        if filters.wants(message):
            await websocket.send_json(message)


@router.websocket("/api/v2/ws")
async def live_updates(websocket: WebSocket) -> None:
    """Capped per client address (counted from the handshake, so sockets waiting for their auth message
    count too) and per user (`PULSE_WS_MAX_CONNECTIONS_PER_IP` / `_PER_USER`); past a cap: close 4029."""
    await websocket.accept()
    counts = _counts(websocket)
    address = websocket.client.host if websocket.client else "-"
    if not counts.take("ip", address):
        await _close(websocket, CLOSE_TOO_MANY, "too many connections from this address")
        return
    try:
        await _serve(websocket, counts)
    finally:
        counts.give_back("ip", address)


async def _serve(websocket: WebSocket, counts: ConnectionCounts) -> None:
    caller = await _authenticate(websocket, websocket.app.state.verifier)
    if caller is None:
        return
    principal, tenant = caller
    user = f"{principal.issuer} {principal.sub}"
    if not counts.take("user", user):
        await _close(websocket, CLOSE_TOO_MANY, "too many connections for this user")
        return
    try:
        await _stream(websocket, principal, tenant)
    finally:
        counts.give_back("user", user)


async def _stream(websocket: WebSocket, principal: Principal, tenant: str) -> None:
    hub: LiveHub = websocket.app.state.live_hub
    subscriber = await hub.subscribe(tenant)
    filters = Filters()
    try:
        await websocket.send_json(
            {"type": "hello", "tenant_id": tenant, "channels": sorted(filters.channels)}
        )
        reader = asyncio.create_task(_read_client(websocket, filters))
        writer = asyncio.create_task(_write_client(websocket, subscriber, filters, principal.expires_at))
        done, pending = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                task.result()
    finally:
        hub.unsubscribe(subscriber)
