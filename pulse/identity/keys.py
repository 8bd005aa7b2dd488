"""The issuer's signing keys: generated on first use, kept in `signing_keys`, rotated with overlap.

- One current RSA key signs; `rotate` retires it and makes a new one current.
- JWKS publishes the current key and every key retired less than `overlap` ago (one access-token
  lifetime), so a token signed just before a rotation verifies until it expires.
- Private keys never leave this module: they are stored PKCS#8, encrypted with
  PULSE_SIGNING_KEY_SECRET when it is set, in a table only pulse_operator can read.
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


def _generate(secret: bytes | None) -> tuple[str, str, dict, bool]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    kid = _new_kid()
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return kid, pem.decode(), jwk, secret is not None


async def _insert_key(conn: asyncpg.Connection, secret: bytes | None) -> str:
    # Key generation takes tens of milliseconds of CPU: keep it off the event loop.
    kid, pem, jwk, encrypted = await asyncio.to_thread(_generate, secret)
    await conn.execute(
        "INSERT INTO signing_keys (kid, algorithm, private_pem, encrypted, public_jwk) VALUES ($1, $2, $3, $4, $5)",
        kid,
        ALGORITHM,
        pem,
        encrypted,
        jwk,
    )
    return kid


async def ensure_current_key(pool: asyncpg.Pool, secret: bytes | None) -> str:
    """The current key's kid, creating the first key if there is none."""
    async with operator_tx(pool, _ACTOR) as conn:
        kid = await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
        if kid:
            return kid
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.SIGNING_KEYS)
        kid = await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
        return kid or await _insert_key(conn, secret)


async def rotate(pool: asyncpg.Pool, secret: bytes | None) -> str:
    """Retire the current key and make a new one current; returns the new kid."""
    async with operator_tx(pool, _ACTOR) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.SIGNING_KEYS)
        await conn.execute("UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL")
        return await _insert_key(conn, secret)


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
    ):
        self._pool = pool
        self._secret = secret
        self._overlap = overlap
        self._refresh_seconds = refresh_seconds
        self._loaded_at = -1e18
        self._forced_at = -1e18
        self._current: SigningKey | None = None
        self._public: dict[str, dict] = {}
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        await ensure_current_key(self._pool, self._secret)
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
                if row["encrypted"] and not self._secret:
                    raise RuntimeError(
                        "the signing keys are encrypted: set PULSE_SIGNING_KEY_SECRET to the passphrase"
                    )
                password = self._secret if row["encrypted"] else None
                key = serialization.load_pem_private_key(row["private_pem"].encode(), password=password)
                assert isinstance(key, rsa.RSAPrivateKey)
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
