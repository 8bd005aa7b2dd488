"""HTTP ingest (reference §2.5), served by the API app: the same validation, quarantine and
subscription checks as MQTT, through the same pipeline. A 202 is sent only after the row is committed.

Limits before any parsing: a global sliding window, then per client IP (a tighter one, per minute,
for devices not known to exist); over a limit → 429 with Retry-After. The per-device window and the
pipeline's device and tenant buckets are charged only once the message is authenticated, so requests
without the device's token never spend its budget. A rejection that did not prove the token spends the
client's unknown-device budget too: past it, the reason is withheld (429), so neither endpoint
enumerates devices and sites. When the writer is full (the database is slow or away) → 503 with
Retry-After rather than queueing without bound.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from pulse.api.errors import ErrorBody, error_response
from pulse.ingest.envelope import TOPIC
from pulse.ingest.pipeline import Inbound, Ingestor
from pulse.ingest.rate_limit import SlidingWindows, retry_after_header
from pulse.ingest.reasons import HTTP_STATUS, Reason

router = APIRouter(prefix="/ingest/v1", tags=["ingest"])

MAX_BATCH = 100


class IngestMessage(BaseModel):
    """The body of a single-message ingest (documentation; the pipeline validates the raw bytes)."""

    site_id: str
    ts: datetime | None = None
    seq: int = 0
    metrics: dict[str, Any] = Field(default_factory=dict)
    lat: float | None = None
    lng: float | None = None


class BatchMessage(IngestMessage):
    tenant_id: str
    device_id: str
    msg_type: str = "telemetry"
    provision_token: str


class BatchBody(BaseModel):
    messages: list[BatchMessage] = Field(max_length=MAX_BATCH)


class Accepted(BaseModel):
    status: str = "accepted"
    device_id: str
    seq: int


class BatchResult(BaseModel):
    index: int
    status: str  # accepted | rejected
    reason: str | None = None
    detail: str | None = None
    device_id: str | None = None


class BatchResponse(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchResult]


class HttpLimits:
    def __init__(self, settings) -> None:
        self.trust_forwarded_for = settings.ingest_trust_forwarded_for
        self.trusted_proxies = [
            ipaddress.ip_network(c, strict=False) for c in settings.ingest_trusted_proxies
        ]
        self.global_ = SlidingWindows(settings.ingest_http_global_limit, 1.0)
        self.ip_known = SlidingWindows(settings.ingest_http_ip_limit, 1.0)
        self.ip_unknown = SlidingWindows(settings.ingest_http_unknown_ip_limit, 60.0)
        self.device = SlidingWindows(settings.ingest_http_device_limit, 1.0)

    def client_ip(self, request: Request) -> str:
        """The right-most hop that is not a trusted proxy: hops left of it were written by the client."""
        peer = request.client.host if request.client else "unknown"
        if not self.trust_forwarded_for:
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
        hops = [h for h in hops if h] + [peer]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop[:64]
        return hops[0][:64]  # every hop is a trusted proxy: the request came from inside

    def _trusted(self, hop: str) -> bool:
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def unauthenticated_over(self, ip: str, messages: list[Inbound], outcomes, known: set) -> list[int]:
        """Charge the client's unknown-device budget for each rejection of a registered device that did
        not prove its token (unregistered ones were charged up front); the indexes past the budget."""
        over = []
        for index, (message, outcome) in enumerate(zip(messages, outcomes, strict=True)):
            if outcome is None or message.authenticated or _device_key(message) not in known:
                continue
            if self.ip_unknown.hit(ip) is not None:
                over.append(index)
        return over


def _device_key(message: Inbound) -> tuple[str, str] | None:
    topic = TOPIC.match(message.topic)
    return (topic.group(1), topic.group(2)) if topic else None


def _ingestor(request: Request) -> Ingestor | None:
    return getattr(request.app.state, "ingestor", None)


def _too_many(retry: float, what: str) -> JSONResponse:
    return error_response(
        429,
        Reason.RATE_LIMITED.value,
        f"{what} rate limit exceeded",
        {"Retry-After": retry_after_header(retry)},
    )


def _unavailable(detail: str) -> JSONResponse:
    return error_response(503, "ingest_unavailable", detail, {"Retry-After": "1"})


async def _read_body(request: Request, limit: int) -> tuple[bytes, bool]:
    """(body, too_large): reading stops past `limit`, so an oversized body is never held whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return b"", True
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            return b"".join(chunks)[: limit + 1], True
    return b"".join(chunks), False


async def _submit(
    request: Request, ingestor: Ingestor, messages: list[Inbound]
) -> list[Reason | None] | None:
    """Run messages through the pipeline; their outcomes once committed, or None on timeout."""
    # One future per request, completed when the last of its messages is committed.
    finished = asyncio.get_running_loop().create_future()
    outcomes: list[Reason | None] = [None] * len(messages)
    remaining = len(messages)

    def completer(index: int):
        def done(outcome: Reason | None) -> None:
            nonlocal remaining
            outcomes[index] = outcome
            remaining -= 1
            if remaining == 0 and not finished.done():
                finished.set_result(outcomes)

        return done

    for index, message in enumerate(messages):
        message.done = completer(index)
    await ingestor.submit(messages)
    try:
        return await asyncio.wait_for(finished, timeout=request.app.state.settings.ingest_http_timeout)
    except TimeoutError:
        return None


_ERRORS = {422: {"model": ErrorBody}, 400: {"model": ErrorBody}, 401: {"model": ErrorBody},
           403: {"model": ErrorBody}, 429: {"model": ErrorBody}, 503: {"model": ErrorBody}}  # fmt: skip


@router.post(
    "/tenant/{tenant_id}/device/{device_id}/{msg_type}",
    status_code=202,
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": IngestMessage.model_json_schema()}}}
    },
)
async def ingest_message(
    request: Request,
    tenant_id: str,
    device_id: str,
    msg_type: str,
    x_provision_token: Annotated[str | None, Header(max_length=512)] = None,
):
    """Ingest one message for a device. The provision token goes in `X-Provision-Token`."""
    ingestor = _ingestor(request)
    if ingestor is None:
        return _unavailable("HTTP ingest is not running in this process")
    limits: HttpLimits = request.app.state.ingest_limits
    if (retry := limits.global_.hit(None)) is not None:
        return _unavailable("ingest is at its global request limit")
    ip = limits.client_ip(request)
    known = await ingestor.registered({(tenant_id, device_id)})
    window, what = (limits.ip_known, "client") if known else (limits.ip_unknown, "unknown-device client")
    if (retry := window.hit(ip)) is not None:
        return _too_many(retry, what)
    if not ingestor.writer.has_room():
        return _unavailable("ingest is catching up; retry shortly")
    limit = ingestor.limits.current.max_payload_bytes
    body, too_large = await _read_body(request, limit)
    message = Inbound(
        topic=f"tenant/{tenant_id}/device/{device_id}/{msg_type}",
        payload=body,
        received_at=datetime.now(UTC),
        token=x_provision_token,
        http=True,
        size=limit + 1 if too_large else None,
        device_window=limits.device,
    )
    outcomes = await _submit(request, ingestor, [message])
    if outcomes is None:
        return _unavailable("the message was not committed in time; it may still be stored")
    if limits.unauthenticated_over(ip, [message], outcomes, known):
        return _too_many(60.0, "unauthenticated client")
    if outcomes[0] is not None:
        reason = outcomes[0]
        if reason == Reason.RATE_LIMITED:
            return _too_many(message.retry_after or 1.0, "device")
        return error_response(HTTP_STATUS[reason], reason.value, message.detail)
    return Accepted(device_id=device_id, seq=message.seq or 0)


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchResponse,
    responses={**_ERRORS, 400: {"model": BatchResponse}},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": BatchBody.model_json_schema()}}}
    },
)
async def ingest_batch(request: Request):
    """Ingest up to 100 messages for any devices; a result per message. 202 if any was accepted."""
    ingestor = _ingestor(request)
    if ingestor is None:
        return _unavailable("HTTP ingest is not running in this process")
    limits: HttpLimits = request.app.state.ingest_limits
    if limits.global_.hit(None) is not None:
        return _unavailable("ingest is at its global request limit")
    ip = limits.client_ip(request)
    if (retry := limits.ip_known.hit(ip)) is not None:
        return _too_many(retry, "client")
    max_message = ingestor.limits.current.max_payload_bytes
    body, too_large = await _read_body(request, MAX_BATCH * (max_message + 256))
    if too_large:
        return error_response(
            400, Reason.PAYLOAD_TOO_LARGE.value, f"batch larger than {MAX_BATCH} messages allow"
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return error_response(400, Reason.INVALID_JSON.value, str(exc)[:200])
    items = parsed.get("messages") if isinstance(parsed, dict) else None
    if not isinstance(items, list):
        return error_response(422, "invalid_request", 'body must be {"messages": [...]}')
    if not items:
        return error_response(400, "batch_empty", "Batch is empty")
    if len(items) > MAX_BATCH:
        return error_response(400, "batch_too_large", f"Batch exceeds {MAX_BATCH} message limit")
    if not ingestor.writer.has_room(len(items)):
        return _unavailable("ingest is catching up; retry shortly")
    now = datetime.now(UTC)
    messages = [_batch_inbound(item, now) for item in items]
    # The single endpoint's unknown-device limit, one hit per message naming an unregistered device:
    # otherwise a batch answers a reason per message, 100 at a time, to anyone.
    keys = [k for k in map(_device_key, messages) if k is not None]
    known = await ingestor.registered(set(keys))
    for key in keys:
        if key not in known and (retry := limits.ip_unknown.hit(ip)) is not None:
            return _too_many(retry, "unknown-device client")
    outcomes = await _submit(request, ingestor, messages)
    if outcomes is None:
        return _unavailable("the batch was not committed in time; it may still be stored")
    for index in limits.unauthenticated_over(ip, messages, outcomes, known):
        outcomes[index] = Reason.RATE_LIMITED
        messages[index].detail = "unauthenticated client rate limit exceeded"
    # Built as plain dicts and serialised with orjson: 100 pydantic models and stdlib json per
    # request cost more than the validation itself. The shape is BatchResponse's.
    results = []
    accepted = 0
    for i, (item, m, outcome) in enumerate(zip(items, messages, outcomes, strict=True)):
        device_id = item.get("device_id") if isinstance(item, dict) else None
        if outcome is None:
            accepted += 1
        results.append(
            {
                "index": i,
                "status": "accepted" if outcome is None else "rejected",
                "reason": None if outcome is None else outcome.value,
                "detail": None if outcome is None else m.detail,
                "device_id": device_id if isinstance(device_id, str) else None,
            }
        )
    body = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
    return Response(orjson.dumps(body), status_code=202 if accepted else 400, media_type="application/json")


def _batch_inbound(item: object, received_at: datetime) -> Inbound:
    """A batch element becomes a message on its own topic; the pipeline judges the rest."""
    if not isinstance(item, dict):
        return Inbound(
            topic="tenant/?/device/?/?", payload=orjson.dumps(item), received_at=received_at, http=True
        )
    parts = [item.get("tenant_id"), item.get("device_id"), item.get("msg_type", "telemetry")]
    if all(isinstance(p, str) for p in parts):
        topic = f"tenant/{parts[0]}/device/{parts[1]}/{parts[2]}"
    else:
        topic = "tenant/?/device/?/?"  # BAD_TOPIC_FORMAT
    token = item.get("provision_token")
    return Inbound(
        topic=topic,
        payload=orjson.dumps(item),
        received_at=received_at,
        token=token if isinstance(token, str) else None,
        http=True,
    )


def mount(app, ingestor: Ingestor) -> None:
    """Serve HTTP ingest from `app` through `ingestor` (whose writer the caller runs)."""
    app.state.ingestor = ingestor
    app.state.ingest_limits = HttpLimits(app.state.settings)
    app.include_router(router)
