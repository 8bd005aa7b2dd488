"""Access-token verification for every API route and the WebSocket.

Accepted: tokens signed by a configured issuer (the built-in one, and the external issuer of
PULSE_OIDC_ISSUER), with an asymmetric algorithm, a known `kid`, the expected `iss` and `aud`, inside
`nbf`/`exp` (30 s leeway). Refused with TokenError (401): `alg: none` and any HMAC or unknown
algorithm, a bad signature, an unknown issuer or key, a wrong audience, expiry, a customer role
without a tenant. A remote issuer's JWKS is cached (PULSE_OIDC_JWKS_TTL_SECONDS) and fetched again
when a token names a kid we do not have (key rotation), at most once every few seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Protocol

import httpx
import jwt

from pulse.errors import PulseError
from pulse.identity.keys import KeyStore
from pulse.identity.principal import Principal
from pulse.identity.roles import ALL_ROLES, TENANT_ROLES, effective_roles

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
MAX_TOKEN_LENGTH = 16384
LEEWAY_SECONDS = 30
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UNKNOWN_KID_REFETCH_SECONDS = 10.0


class TokenError(PulseError):
    """A bearer token refused (401), or an external issuer that cannot be asked (503)."""

    def __init__(self, detail: str, status: int = 401, error: str = "invalid_token"):
        super().__init__(status, error, detail)


class TrustedIssuer(Protocol):
    issuer: str
    audience: str

    async def key_for(self, kid: str) -> dict | None: ...


class BuiltinIssuerKeys:
    """The built-in issuer's keys, read straight from the database (no HTTP round trip to ourselves)."""

    def __init__(self, issuer: str, audience: str, keys: KeyStore):
        self.issuer, self.audience, self._keys = issuer, audience, keys

    async def key_for(self, kid: str) -> dict | None:
        return await self._keys.public_jwk(kid)


class RemoteIssuer:
    """An external OIDC issuer: JWKS located through its discovery document, cached with a TTL."""

    def __init__(self, issuer: str, audience: str, *, ttl: float, http: httpx.AsyncClient | None = None):
        # `issuer` exactly as configured (compared with `iss` exactly); the discovery URL without a slash.
        self.issuer, self.audience, self._ttl = issuer, audience, ttl
        self._discovery = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._keys: dict[str, dict] = {}
        self._fetched_at = -1e18
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        try:
            discovery = await self._http.get(self._discovery)
            discovery.raise_for_status()
            jwks_uri = discovery.json()["jwks_uri"]
            response = await self._http.get(jwks_uri)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise TokenError(
                f"cannot reach the identity provider ({type(exc).__name__})", 503, "auth_unavailable"
            ) from None
        self._keys = {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}
        self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> dict | None:
        age = time.monotonic() - self._fetched_at
        if age >= self._ttl or (kid not in self._keys and age >= _UNKNOWN_KID_REFETCH_SECONDS):
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                if age >= self._ttl or (kid not in self._keys and age >= _UNKNOWN_KID_REFETCH_SECONDS):
                    try:
                        await self._fetch()
                    except TokenError:
                        if not self._keys:
                            raise
                        # keep serving the cached keys while the provider is down
        return self._keys.get(kid)

    async def aclose(self) -> None:
        await self._http.aclose()


def _tenant_from(claims: dict) -> str | None:
    """`tenant_id`, else Keycloak Organizations' `organization` claim (map: first key; list: first)."""
    tenant = claims.get("tenant_id")
    if tenant is None:
        org = claims.get("organization")
        if isinstance(org, dict) and org:
            tenant = next(iter(org))
        elif isinstance(org, list) and org:
            tenant = org[0]
    if tenant is None:
        return None
    if not isinstance(tenant, str) or not _TENANT_RE.match(tenant):
        raise TokenError("the tenant claim is malformed")
    return tenant


def _roles_from(claims: dict) -> frozenset[str]:
    realm_access = claims.get("realm_access")
    roles = realm_access.get("roles") if isinstance(realm_access, dict) else None
    if not isinstance(roles, list):
        return frozenset()
    return effective_roles([r for r in roles if isinstance(r, str) and r in ALL_ROLES])


class TokenVerifier:
    def __init__(self, issuers: list[TrustedIssuer]):
        self._issuers = {i.issuer: i for i in issuers}

    @property
    def issuers(self) -> list[str]:
        return list(self._issuers)

    async def verify(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenError("missing or oversized token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenError("unexpected signing algorithm")
        issuer = self._issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if issuer is None:
            raise TokenError("token from an untrusted issuer")
        kid = header.get("kid")
        jwk = await issuer.key_for(kid) if isinstance(kid, str) and len(kid) <= 256 else None
        if jwk is None:
            raise TokenError("unknown signing key")
        if jwk.get("alg") not in (None, alg):
            raise TokenError("unexpected signing algorithm")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=issuer.audience,
                issuer=issuer.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise TokenError("token for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenError("token from an untrusted issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenError("bad token signature") from None
        except jwt.PyJWTError:
            raise TokenError("invalid token") from None
        if not isinstance(claims.get("sub"), str):
            raise TokenError("invalid token")
        roles = _roles_from(claims)
        tenant_id = _tenant_from(claims)
        if roles & TENANT_ROLES and not tenant_id:
            raise TokenError("a customer role needs a tenant claim")

        def text(name: str) -> str | None:
            value = claims.get(name)
            return value[:256] if isinstance(value, str) else None

        return Principal(
            sub=claims["sub"],
            issuer=issuer.issuer,
            roles=roles,
            tenant_id=tenant_id,
            username=text("preferred_username"),
            email=text("email"),
            client_id=text("azp"),
            expires_at=claims["exp"] if isinstance(claims.get("exp"), int) else None,
        )


def build_verifier(settings, keys: KeyStore | None) -> TokenVerifier:
    """The issuers this process trusts: the built-in one (unless disabled) and PULSE_OIDC_ISSUER."""
    issuers: list[TrustedIssuer] = []
    if settings.builtin_issuer and keys is not None:
        issuers.append(BuiltinIssuerKeys(settings.base_url, settings.oidc_audience, keys))
    if settings.oidc_issuer and settings.oidc_issuer.rstrip("/") != settings.base_url:
        issuers.append(
            RemoteIssuer(settings.oidc_issuer, settings.oidc_audience, ttl=settings.oidc_jwks_ttl_seconds)
        )
    return TokenVerifier(issuers)
