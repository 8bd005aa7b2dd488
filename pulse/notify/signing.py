"""Webhook signatures: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
and the legacy `X-Signature-SHA256` (hex HMAC-SHA256 of the body)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def standard_key(secret: str) -> bytes:
    """A `whsec_<base64>` secret is the base64 of the key; any other string is the key's UTF-8."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def legacy_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, msg_id, timestamp, body),
        "X-Signature-SHA256": legacy_signature(secret, body),
    }
