"""The issuer's signing keys: generated on first use, kept in `signing_keys`, rotated with overlap.

- One current RSA key signs; `rotate` retires it and makes a new one current.
- JWKS publishes the current key and every key retired less than `overlap` ago (one access-token
  lifetime), so a token signed just before a rotation verifies until it expires.
- Private keys never leave this module: they are stored in a table only pulse_operator can read, as
  PKCS#8 PEM encrypted with the PULSE_SECRETS_KEY key ring (Fernet, `pulse.crypto`) when the caller
  passes one (`keyring`). Keys stored before that stay readable: PEM encrypted with the legacy
  PULSE_SIGNING_KEY_SECRET passphrase (`secret`), or plain PEM. `reseal` re-encrypts the Fernet ones
  with the first key (`pulse admin rotate-secrets-key`).
- Every API process caches the keys for `refresh_seconds` and re-reads them after that (or at once
  when asked for an unknown kid), so a rotation made by another process or the CLI spreads quickly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from pulse.crypto import Keyring
from pulse.db import locks
from pulse.db.tx import operator_tx

ALGORITHM = "RS256"
_ACTOR = "service:identity"
_FORCED_REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey


def _new_kid() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("=")


_PEM = "-----BEGIN"


def _generate(secret: bytes | None, keyring: Keyring | None = None) -> tuple[str, str, dict, bool]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    passphrase = secret if keyring is None else None
    encryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    stored = keyring.encrypt(pem) if keyring is not None else pem.decode()
    kid = _new_kid()
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return kid, stored, jwk, keyring is not None or passphrase is not None


def _private_key(
    stored: str, encrypted: bool, secret: bytes | None, keyring: Keyring | None
) -> rsa.RSAPrivateKey:
    """A stored private key: a Fernet token (key ring), or legacy PEM (passphrase-encrypted or plain)."""
    if stored.startswith(_PEM):
        if encrypted and not secret:
            raise RuntimeError(
                "the signing keys are encrypted: set PULSE_SIGNING_KEY_SECRET to the passphrase"
            )
        key = serialization.load_pem_private_key(stored.encode(), password=secret if encrypted else None)
    else:
        if keyring is None:
            raise RuntimeError("the signing keys are encrypted with PULSE_SECRETS_KEY, which is not set")
        key = serialization.load_pem_private_key(keyring.decrypt(stored), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def _insert_key(conn: asyncpg.Connection, secret: bytes | None, keyring: Keyring | None = None) -> str:
    # Key generation takes tens of milliseconds of CPU: keep it off the event loop.
    kid, pem, jwk, encrypted = await asyncio.to_thread(_generate, secret, keyring)
    await conn.execute(
        "INSERT INTO signing_keys (kid, algorithm, private_pem, encrypted, public_jwk) VALUES ($1, $2, $3, $4, $5)",
        kid,
        ALGORITHM,
        pem,
        encrypted,
        jwk,
    )
    return kid


async def ensure_current_key(pool: asyncpg.Pool, secret: bytes | None, keyring: Keyring | None = None) -> str:
    """The current key's kid, creating the first key if there is none."""
    async with operator_tx(pool, _ACTOR) as conn:
        kid = await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
        if kid:
            return kid
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.SIGNING_KEYS)
        kid = await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
        return kid or await _insert_key(conn, secret, keyring)


async def rotate(pool: asyncpg.Pool, secret: bytes | None, keyring: Keyring | None = None) -> str:
    """Retire the current key and make a new one current; returns the new kid."""
    async with operator_tx(pool, _ACTOR) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.SIGNING_KEYS)
        await conn.execute("UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL")
        return await _insert_key(conn, secret, keyring)


async def reseal(pool: asyncpg.Pool, keyring: Keyring, secret: bytes | None = None) -> int:
    """Re-encrypt the key-ring-encrypted private keys with the key ring's first key; how many.
    Legacy PEM rows (passphrase or plain) are left for their readers, which may not hold the key ring."""
    async with operator_tx(pool, _ACTOR) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.SIGNING_KEYS)
        rows = await conn.fetch("SELECT kid, private_pem FROM signing_keys")
        sealed = [
            (row["kid"], keyring.rotate(row["private_pem"]))
            for row in rows
            if not row["private_pem"].startswith(_PEM)
        ]
        for kid, token in sealed:
            await conn.execute("UPDATE signing_keys SET private_pem = $2 WHERE kid = $1", kid, token)
    return len(sealed)


async def prune(pool: asyncpg.Pool, overlap: timedelta) -> int:
    """Delete keys retired longer ago than `overlap`: nothing they signed can still be valid."""
    async with operator_tx(pool, _ACTOR) as conn:
        result = await conn.execute(
            "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < now() - $1::interval",
            overlap,
        )
    return int(result.split()[-1])


class KeyStore:
    """Cached view of the signing keys for one process."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        secret: bytes | None,
        overlap: timedelta,
        refresh_seconds: float = 60.0,
        keyring: Keyring | None = None,
    ):
        self._pool = pool
        self._secret = secret
        self._keyring = keyring
        self._overlap = overlap
        self._refresh_seconds = refresh_seconds
        self._loaded_at = -1e18
        self._forced_at = -1e18
        self._current: SigningKey | None = None
        self._public: dict[str, dict] = {}
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        await ensure_current_key(self._pool, self._secret, self._keyring)
        async with operator_tx(self._pool, _ACTOR) as conn:
            rows = await conn.fetch(
                """SELECT kid, private_pem, encrypted, public_jwk, retired_at IS NULL AS current
                     FROM signing_keys
                    WHERE retired_at IS NULL OR retired_at > now() - $1::interval
                    ORDER BY created_at DESC""",
                self._overlap,
            )
        public: dict[str, dict] = {}
        current = None
        for row in rows:
            public[row["kid"]] = row["public_jwk"]
            if row["current"]:
                key = _private_key(row["private_pem"], row["encrypted"], self._secret, self._keyring)
                current = SigningKey(row["kid"], key)
        self._current, self._public = current, public
        self._loaded_at = time.monotonic()

    async def _fresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._loaded_at < self._refresh_seconds:
            return
        async with self._lock:
            if force or time.monotonic() - self._loaded_at >= self._refresh_seconds:
                await self._load()

    async def signing_key(self) -> SigningKey:
        await self._fresh()
        assert self._current is not None
        return self._current

    async def jwks(self) -> dict:
        await self._fresh()
        return {"keys": list(self._public.values())}

    async def public_jwk(self, kid: str) -> dict | None:
        """The public key for `kid`; an unknown kid re-reads the table once (a rotation elsewhere)."""
        await self._fresh()
        # At most one forced re-read every few seconds: made-up kids must not become a database load.
        if kid not in self._public and time.monotonic() - self._forced_at > _FORCED_REFRESH_SECONDS:
            self._forced_at = time.monotonic()
            await self._fresh(force=True)
        return self._public.get(kid)
