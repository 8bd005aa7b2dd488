"""Device secrets: provision tokens and activation codes.

Tokens carry 256 bits of randomness (`secrets.token_urlsafe(32)`); only their SHA-256 is stored. An
unsalted fast hash is right here: the input is random and long, so there is nothing to brute-force,
and ingest must check thousands of tokens a second. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
ACTIVATION_CODE_BYTES = 18


def new_provision_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_activation_code() -> str:
    return secrets.token_urlsafe(ACTIVATION_CODE_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    if not stored_hash:
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)
