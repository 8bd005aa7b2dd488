"""The device message envelope (reference §2.1) and the checks that need nothing but the message.

One pydantic model validates both transports; metric values are walked once to enforce the limits
(key count, nesting depth, finite numbers, string length) that keep hostile payloads cheap to reject.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pulse.provisioning.devices import ID_SEGMENT

# Ids are MQTT topic segments; the pattern is the one devices are registered with.
TOPIC_SEGMENT = re.compile(f"^{ID_SEGMENT}$")
# The whole topic in one match: tenant/{tenant_id}/device/{device_id}/{msg_type}.
TOPIC = re.compile(rf"^tenant/({ID_SEGMENT})/device/({ID_SEGMENT})/([a-z][a-z0-9_-]{{0,31}})$")
MAX_STRING = 1024


class Envelope(BaseModel):
    """What a device sends. `device_id` and `msg_type` in the body are ignored: the topic (or URL) is
    authoritative."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_max_length=MAX_STRING)

    site_id: str | None = None
    provision_token: str | None = None
    tenant_id: str | None = None
    ts: datetime | None = None
    seq: int = Field(default=0, ge=-(2**63), lt=2**63)
    metrics: dict[str, Any] = Field(default_factory=dict)
    lat: float | None = Field(default=None, ge=-90, le=90)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # naive device clocks are taken as UTC
        return value

    @property
    def location(self) -> tuple[float, float] | None:
        lat = self.lat if self.lat is not None else self.latitude
        lng = self.lng if self.lng is not None else self.longitude
        return (lat, lng) if lat is not None and lng is not None else None


class EnvelopeError(ValueError):
    """The message is JSON but breaks the envelope's rules; `json_error` marks INVALID_JSON cases."""

    def __init__(self, detail: str, *, json_error: bool = False):
        super().__init__(detail)
        self.json_error = json_error


def check_metrics(metrics: dict[str, Any], *, max_keys: int, max_depth: int) -> None:
    """Count every key at every level; refuse deep nesting, non-finite numbers and long strings.

    The common case — a flat object of numbers — is checked in one loop without recursion.
    """
    if len(metrics) > max_keys:
        raise EnvelopeError(f"more than {max_keys} metric keys")
    budget = max_keys - len(metrics)
    for key, value in metrics.items():
        if len(key) > 128 or "\x00" in key:
            raise EnvelopeError("metric name longer than 128 characters or containing NUL")
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                raise EnvelopeError("metric value is not a finite number")
        elif kind is int or kind is bool or value is None:
            continue
        else:
            budget = _check_nested(value, 2, budget, max_keys, max_depth)


def _check_nested(value: Any, depth: int, budget: int, max_keys: int, max_depth: int) -> int:
    """Check a non-number metric value; return the key budget left."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise EnvelopeError(f"metric string longer than {MAX_STRING}")
        if "\x00" in value:
            raise EnvelopeError("metric string contains a NUL character")
        return budget
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EnvelopeError("metric value is not a finite number")
        return budget
    if not isinstance(value, dict | list):
        return budget
    if depth > max_depth:
        raise EnvelopeError(f"metrics nested deeper than {max_depth}")
    budget -= len(value)
    if budget < 0:
        raise EnvelopeError(f"more than {max_keys} metric keys")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and (len(key) > 128 or "\x00" in key):
            raise EnvelopeError("metric name longer than 128 characters or containing NUL")
        budget = _check_nested(item, depth + 1, budget, max_keys, max_depth)
    return budget


def parse_envelope(raw: bytes, *, max_keys: int, max_depth: int) -> Envelope:
    """Decode and validate; raises EnvelopeError (json_error=True for INVALID_JSON)."""
    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] in ("json_invalid", "json_type", "model_type") and not first["loc"]:
            raise EnvelopeError(f"not a JSON object: {first['msg']}", json_error=True) from None
        if first["type"] == "json_invalid":
            raise EnvelopeError(f"not JSON: {first['msg']}", json_error=True) from None
        location = ".".join(str(p) for p in first["loc"])
        raise EnvelopeError(f"{location}: {first['msg']}") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise EnvelopeError(f"not JSON: {type(exc).__name__}", json_error=True) from None
    for name in ("site_id", "provision_token", "tenant_id"):
        value = getattr(envelope, name)
        if value is not None and "\x00" in value:
            raise EnvelopeError(f"{name} contains a NUL character")
    check_metrics(envelope.metrics, max_keys=max_keys, max_depth=max_depth)
    return envelope
