"""Access and ID token claims. The claim names follow Keycloak's, so the API and the console treat
tokens from the built-in issuer and from Keycloak the same way."""

from __future__ import annotations

import secrets
import time

import jwt

from pulse.identity.keys import ALGORITHM, KeyStore
from pulse.identity.users import User


def access_claims(
    user: User, *, issuer: str, audience: str, client_id: str, scope: str, ttl: int, now: int | None = None
) -> dict:
    now = int(time.time()) if now is None else now
    claims: dict = {
        "iss": issuer,
        "sub": user.user_id,
        "aud": audience,
        "azp": client_id,
        "exp": now + ttl,
        "iat": now,
        "nbf": now,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "realm_access": {"roles": list(user.roles)},
        "preferred_username": user.username,
        "email": user.email,
    }
    if user.tenant_id:
        claims["tenant_id"] = user.tenant_id
    return claims


def id_claims(
    user: User, *, issuer: str, client_id: str, nonce: str | None, ttl: int, now: int | None = None
) -> dict:
    now = int(time.time()) if now is None else now
    claims: dict = {
        "iss": issuer,
        "sub": user.user_id,
        "aud": client_id,
        "exp": now + ttl,
        "iat": now,
        "auth_time": now,
        "preferred_username": user.username,
        "email": user.email,
        "name": user.display_name,
        "realm_access": {"roles": list(user.roles)},
    }
    if nonce:
        claims["nonce"] = nonce
    if user.tenant_id:
        claims["tenant_id"] = user.tenant_id
    return claims


async def sign(keys: KeyStore, claims: dict) -> str:
    key = await keys.signing_key()
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
