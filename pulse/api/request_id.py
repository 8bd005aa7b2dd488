"""`X-Request-ID` on every response of both apps, and `request_id` in every log line of the request.

The client's id is kept when it is sane (1 to 128 characters of letters, digits and `._:-`, so it cannot
forge log fields or headers); anything else is replaced by a fresh UUID. The id is bound in structlog's
context variables for the request's duration and kept in `request.state.request_id` (the audit trail
records it; the 500 handler, which runs outside this middleware, reads it there). One log line per
request ends it: DEBUG normally, WARNING for a 5xx.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse.log import get_logger

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = get_logger("pulse.api.request")


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE.fullmatch(text) else None
    return None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            (log.warning if status >= 500 else log.debug)(
                "request",
                method=scope.get("method", "WEBSOCKET"),
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.reset_contextvars(**tokens)
