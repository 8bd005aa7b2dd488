"""The channel contract: what `send` returns, and the shared HTTP classification and posting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import httpx
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from pulse.crypto import Keyring
from pulse.notify import ssrf


class Reason(StrEnum):
    OK = "ok"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    AUTH_ERROR = "auth_error"
    TIMEOUT = "timeout"
    NETWORK = "network"
    SSRF_BLOCKED = "ssrf_blocked"
    CONFIG_INVALID = "config_invalid"
    PROVIDER_REJECTED = "provider_rejected"
    THROTTLED = "throttled"  # our own per-target rate limit: wait, no attempt spent


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool
    reason: Reason
    http_status: int | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait
    detail: str = ""  # redacted: never a secret or a full URL


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def classify_http(status: int, *, retry_after: str | None = None, body: str = "") -> SendResult:
    """2xx ok; 429 and 5xx retryable; any other status (3xx included: redirects are not followed)
    is permanent."""
    if 200 <= status < 300:
        return SendResult(True, False, Reason.OK, status)
    snippet = redact_text(body[:200])
    if status == 429:
        return SendResult(False, True, Reason.RATE_LIMITED, status, parse_retry_after(retry_after), snippet)
    if status >= 500:
        return SendResult(False, True, Reason.SERVER_ERROR, status, parse_retry_after(retry_after), snippet)
    reason = Reason.AUTH_ERROR if status in (401, 403) else Reason.CLIENT_ERROR
    return SendResult(False, False, reason, status, None, f"http_{status} {snippet}".strip())


_URLISH = re.compile(r"https?://\S+")


def redact_text(text: str) -> str:
    """Strip URLs (they may carry tokens, e.g. Slack webhook paths) from provider text."""
    return _URLISH.sub("<url>", text)


def redact_url(url: str) -> str:
    """scheme://host only: paths and queries of webhook URLs are often credentials."""
    try:
        parts = httpx.URL(url)
    except Exception:
        return "<url>"
    return f"{parts.scheme}://{parts.host}"


def pinned(url: str, addresses: list[ssrf.IPAddress]) -> tuple[httpx.URL, dict, dict[str, str]]:
    """Connect to the address that was checked, not to the name again: a DNS answer that changes
    between check and connect (rebinding) cannot redirect the request. The Host header and TLS SNI
    (so certificate verification) keep the original name. Allow-listed hosts (no addresses) and IP
    literals are used as they are."""
    parsed = httpx.URL(url)
    if not addresses or parsed.host == str(addresses[0]):
        return parsed, {}, {}
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return parsed.copy_with(host=str(addresses[0])), extensions, {"Host": host_header}


async def post_json(
    http: httpx.AsyncClient,
    url: str,
    content: bytes,
    headers: dict[str, str],
    policy: ssrf.Policy,
) -> SendResult:
    """Check the URL's resolved addresses, then POST once; never follows redirects."""
    try:
        addresses = await ssrf.check_url(url, policy)
    except ssrf.Unresolvable as exc:
        return SendResult(False, True, Reason.NETWORK, detail=str(exc))
    except ssrf.Blocked as exc:
        return SendResult(False, False, Reason.SSRF_BLOCKED, detail=str(exc))
    target, extensions, host_header = pinned(url, addresses)
    try:
        response = await http.post(
            target,
            content=content,
            headers={"Content-Type": "application/json", **host_header, **headers},
            follow_redirects=False,
            extensions=extensions,
        )
    except httpx.TimeoutException as exc:
        return SendResult(False, True, Reason.TIMEOUT, detail=f"{type(exc).__name__} to {redact_url(url)}")
    except httpx.HTTPError as exc:
        return SendResult(False, True, Reason.NETWORK, detail=f"{type(exc).__name__} to {redact_url(url)}")
    return classify_http(
        response.status_code, retry_after=response.headers.get("retry-after"), body=response.text
    )


def field_errors(problems: list[tuple[str, str]]) -> ValidationError:
    """Cross-field problems of a channel config as one ValidationError whose entries each name their
    field (a ValueError from a model validator would name the whole config)."""
    return ValidationError.from_exception_data(
        "Config",
        [
            InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=None)
            for field, message in problems
        ],
    )


@dataclass(frozen=True)
class SendContext:
    """What the engine gives every send besides the event and config."""

    policy: ssrf.Policy
    message_id: str  # stable across retries of one job (receivers deduplicate on it)
    timestamp: int  # unix seconds of this attempt
    mqtt_url: str | None = None  # Pulse's own broker: the default target of the mqtt channel
    ca_file: str | None = None  # extra trusted CAs for outbound TLS (PULSE_NOTIFY_CA_FILE)
    timeout: float = 10.0  # seconds one outbound exchange may take (PULSE_NOTIFY_HTTP_TIMEOUT)
    keyring: Keyring | None = None  # opens the stored config's sealed secrets (PULSE_SECRETS_KEY)
