"""PKCE (RFC 7636), S256 only: `plain` would let a stolen code be redeemed by whoever saw the request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")  # base64url of a SHA-256, no padding


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def valid_challenge(challenge: str) -> bool:
    return bool(_CHALLENGE_RE.match(challenge))


def verifier_matches(verifier: str, challenge: str) -> bool:
    if not _VERIFIER_RE.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
