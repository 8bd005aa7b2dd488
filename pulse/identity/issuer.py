"""The built-in OpenID Connect issuer: what the `/oauth/*` and `/.well-known/*` routes call.

Flows: authorization code + PKCE (S256) for people through the login page; refresh tokens that
rotate on every use; client credentials for API clients; revocation (RFC 7009) and logout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg

from pulse.config import Settings
from pulse.crypto import Keyring
from pulse.db.tx import operator_tx
from pulse.errors import PulseError
from pulse.identity import api_clients, codes, refresh, throttle
from pulse.identity import keys as signing_keys
from pulse.identity.clients import CONSOLE_CLIENT_ID, console_redirect_uris, normalise_scope, redirect_allowed
from pulse.identity.keys import ALGORITHM, KeyStore
from pulse.identity.passwords import verify_password_async
from pulse.identity.pkce import valid_challenge
from pulse.identity.tokens import access_claims, id_claims, sign
from pulse.identity.users import IdentityError, User, find_by_id, find_by_username, record_login
from pulse.provisioning.tenants import TenantAccessError, check_tenant_access, tenant_status

_ACTOR = "service:identity"
LOGIN_FAILED = "Invalid username or password."
LOGIN_THROTTLED = "Too many failed sign-in attempts. Try again later."
LOGIN_BUSY = "Too many sign-ins at once. Try again in a moment."
LOGIN_TENANT_GONE = "This account's organisation no longer exists."
_MAX_PARAM = 512  # state, nonce and the like: bounded so a request cannot make us store megabytes
_PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    state: str | None
    nonce: str | None


class LoginRefused(PulseError):
    """Wrong credentials (401) or too many failures (429); the message never says which user exists.
    Shown on the login page rather than as a JSON error."""

    def __init__(self, status: int, message: str):
        super().__init__(status, "login_refused", message)
        self.message = message


class Issuer:
    def __init__(self, pool: asyncpg.Pool, settings: Settings):
        self.pool = pool
        self.issuer = settings.base_url
        self.audience = settings.oidc_audience
        self.access_ttl = settings.access_token_ttl_seconds
        self.refresh_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self.redirect_uris = console_redirect_uris(settings.base_url, settings.oidc_redirect_uris)
        self.limits = throttle.LoginLimits(
            settings.login_max_failures_per_user,
            settings.login_max_failures_per_ip,
            timedelta(seconds=settings.login_window_seconds),
            timedelta(seconds=settings.login_delay_base_seconds),
            timedelta(seconds=settings.login_delay_max_seconds),
        )
        self.token_limit_per_ip = settings.token_max_requests_per_ip
        # argon2 costs ~170 ms of CPU per check: at most this many at once per process, so a login flood
        # answers 503 at once instead of queueing threads and stalling every other request.
        self._hashing = asyncio.Semaphore(settings.login_hash_concurrency)
        self._pruned_at = -1e18
        secret = settings.signing_key_secret
        # Retired keys stay published for one access-token lifetime plus clock-skew margin.
        # New keys are sealed with the secrets key ring (PULSE_SECRETS_KEY or the data dir's key file);
        # keys sealed with the legacy passphrase stay readable.
        self.keys = KeyStore(
            pool,
            secret=secret.get_secret_value().encode() if secret else None,
            overlap=timedelta(seconds=self.access_ttl + 300),
            keyring=Keyring.from_settings(settings),
        )

    def discovery(self) -> dict:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "jwks_uri": f"{base}/oauth/jwks",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "end_session_endpoint": f"{base}/oauth/logout",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "tenant_id",
                "realm_access",
                "preferred_username",
                "email",
            ],
            "authorization_response_iss_parameter_supported": True,
        }

    # --- authorization code flow -------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Validate an authorization request; raises IdentityError (shown to the user, never redirected,
        so a bad request cannot turn the issuer into an open redirector)."""

        def get(name: str) -> str:
            value = params.get(name) or ""
            if len(value) > _MAX_PARAM and name != "redirect_uri":
                raise IdentityError(400, "invalid_request", f"{name} is too long")
            return value

        if get("client_id") != CONSOLE_CLIENT_ID:
            raise IdentityError(400, "invalid_client", "unknown client_id")
        redirect_uri = get("redirect_uri")
        if not redirect_allowed(redirect_uri, self.redirect_uris):
            raise IdentityError(400, "invalid_redirect_uri", "redirect_uri is not registered for this client")
        if get("response_type") != "code":
            raise IdentityError(400, "unsupported_response_type", "only response_type=code is supported")
        if get("code_challenge_method") != "S256" or not valid_challenge(get("code_challenge")):
            raise IdentityError(400, "invalid_request", "PKCE is required: code_challenge with method S256")
        return AuthorizeRequest(
            client_id=CONSOLE_CLIENT_ID,
            redirect_uri=redirect_uri,
            code_challenge=get("code_challenge"),
            scope=normalise_scope(get("scope")),
            state=get("state") or None,
            nonce=get("nonce") or None,
        )

    async def _prune(self) -> None:
        """Once an hour per process: drop used-up codes, long-expired refresh tokens, old throttle windows
        and keys retired past their overlap. Cheap indexed deletes, on the login path so that no
        extra service is needed."""
        now = time.monotonic()
        if now - self._pruned_at < _PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        async with operator_tx(self.pool, _ACTOR) as conn:
            await codes.prune(conn)
            await refresh.prune(conn)
            await throttle.prune(conn, self.limits)
        await signing_keys.prune(self.pool, timedelta(seconds=self.access_ttl + 300))

    async def login(self, request: AuthorizeRequest, username: str, password: str, ip: str | None) -> str:
        """Check the credentials and return where to send the browser (redirect_uri with the code).
        The attempt is reserved (throttle) before the hash is checked and counts as a failure unless it
        succeeds; 503 when this process already checks `login_hash_concurrency` passwords."""
        await self._prune()
        username, password = username[:256], password[:256]
        if self._hashing.locked():
            raise LoginRefused(503, LOGIN_BUSY)
        async with self._hashing:
            async with operator_tx(self.pool, _ACTOR) as conn:
                if not await throttle.reserve(conn, self.limits, username, ip):
                    raise LoginRefused(429, LOGIN_THROTTLED)  # rolls the reservation back
                row = await find_by_username(conn, username)
            usable = row is not None and row["status"] == "ACTIVE" and row["kind"] == "person"
            # Always verify a hash (a dummy one for unknown users) so timing does not reveal who exists.
            ok = await verify_password_async(row["password_hash"] if usable else None, password)
        if ok:
            assert row is not None
            async with operator_tx(self.pool, _ACTOR) as conn:
                user_id = str(row["user_id"])
                # Only after the password matched, so this answer reveals nothing to a guesser.
                if row["tenant_id"] is not None and not await _tenant_open(conn, row["tenant_id"]):
                    raise LoginRefused(403, LOGIN_TENANT_GONE)
                await throttle.succeeded(conn, self.limits, username, ip)
                await record_login(conn, user_id)
                code = await codes.issue_code(
                    conn,
                    client_id=request.client_id,
                    user_id=user_id,
                    redirect_uri=request.redirect_uri,
                    code_challenge=request.code_challenge,
                    scope=request.scope,
                    nonce=request.nonce,
                )
        if not ok:
            raise LoginRefused(401, LOGIN_FAILED)
        return _with_query(request.redirect_uri, {"code": code, "state": request.state, "iss": self.issuer})

    async def token_allowed(self, ip: str | None) -> bool:
        """The token endpoint's per-address budget (`token_max_requests_per_ip` a minute)."""
        async with operator_tx(self.pool, _ACTOR) as conn:
            return await throttle.take_token_slot(conn, ip, self.token_limit_per_ip)

    async def exchange_code(
        self, *, code: str, client_id: str, redirect_uri: str, code_verifier: str
    ) -> dict:
        if client_id != CONSOLE_CLIENT_ID:
            raise IdentityError(401, "invalid_client", "unknown client")
        async with operator_tx(self.pool, _ACTOR) as conn:
            redeemed = await codes.redeem_code(
                conn, code=code, client_id=client_id, redirect_uri=redirect_uri, code_verifier=code_verifier
            )
            user = await _active_user(conn, redeemed.user_id)
            await _require_tenant(conn, user)
            refresh_token = await refresh.issue(
                conn, user_id=user.user_id, client_id=client_id, scope=redeemed.scope, ttl=self.refresh_ttl
            )
        return await self._token_response(user, client_id, redeemed.scope, refresh_token, redeemed.nonce)

    async def refresh(self, *, token: str, client_id: str) -> dict:
        async with operator_tx(self.pool, _ACTOR) as conn:
            rotation = await refresh.rotate(conn, token=token, client_id=client_id, ttl=self.refresh_ttl)
            user = await find_by_id(conn, rotation.user_id) if rotation.ok and rotation.user_id else None
            if rotation.ok and (user is None or not user.active):
                await refresh.revoke(conn, rotation.token or "", reason="user_disabled")
            tenant_gone = bool(
                rotation.ok and user and user.tenant_id and not await _tenant_open(conn, user.tenant_id)
            )
            if tenant_gone:
                await refresh.revoke(conn, rotation.token or "", reason="tenant_deleted")
        # Committed: a detected reuse has revoked the family before we answer.
        if not rotation.ok:
            raise IdentityError(400, "invalid_grant", rotation.problem or "invalid refresh token")
        if user is None or not user.active:
            raise IdentityError(400, "invalid_grant", "the user is disabled")
        if tenant_gone:
            raise _tenant_gone()
        assert rotation.scope is not None
        return await self._token_response(user, client_id, rotation.scope, rotation.token, None)

    async def client_credentials(self, *, client_id: str, client_secret: str, scope: str | None) -> dict:
        async with operator_tx(self.pool, _ACTOR) as conn:
            user = await api_clients.authenticate(conn, client_id, client_secret)
            if user is not None:
                await _require_tenant(conn, user)
        if user is None:
            raise IdentityError(401, "invalid_client", "client authentication failed")
        scope = " ".join(s for s in normalise_scope(scope).split() if s != "offline_access")
        return await self._access_token(user, client_id, scope)

    async def revoke(self, token: str) -> None:
        """RFC 7009: revoke a refresh token (and its family). Access tokens are short-lived JWTs and
        expire on their own; an unknown token is not an error."""
        async with operator_tx(self.pool, _ACTOR) as conn:
            await refresh.revoke(conn, token[:512])

    async def user(self, user_id: str) -> User | None:
        async with operator_tx(self.pool, _ACTOR) as conn:
            return await find_by_id(conn, user_id)

    def logout_redirect_allowed(self, uri: str) -> bool:
        return redirect_allowed(uri, [self.issuer + "/", *self.redirect_uris])

    async def _access_token(self, user: User, client_id: str, scope: str) -> dict:
        """The token response's access-token part (RFC 6749 §5.1); claims from the user row as it is now."""
        claims = access_claims(
            user,
            issuer=self.issuer,
            audience=self.audience,
            client_id=client_id,
            scope=scope,
            ttl=self.access_ttl,
        )
        return {
            "access_token": await sign(self.keys, claims),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "scope": scope,
        }

    async def _token_response(
        self, user: User, client_id: str, scope: str, refresh_token: str | None, nonce: str | None
    ) -> dict:
        body = await self._access_token(user, client_id, scope)
        body["refresh_expires_in"] = int(self.refresh_ttl.total_seconds())
        if refresh_token:
            body["refresh_token"] = refresh_token
        if "openid" in scope.split():
            body["id_token"] = await sign(
                self.keys,
                id_claims(user, issuer=self.issuer, client_id=client_id, nonce=nonce, ttl=self.access_ttl),
            )
        return body


def _tenant_gone() -> IdentityError:
    return IdentityError(403, "tenant_unavailable", "the user's tenant does not exist or was deleted")


async def _tenant_open(conn: asyncpg.Connection, tenant_id: str) -> bool:
    """Whether a token may be minted for a user of this tenant: the tenant lifecycle rule of
    `pulse.provisioning.tenants` (deleted: nothing; suspended: sign-in and reads, so tokens are fine)."""
    try:
        check_tenant_access(tenant_id, await tenant_status(conn, tenant_id), write=False)
    except TenantAccessError:
        return False
    return True


async def _require_tenant(conn: asyncpg.Connection, user: User) -> None:
    if user.tenant_id is not None and not await _tenant_open(conn, user.tenant_id):
        raise _tenant_gone()


async def _active_user(conn: asyncpg.Connection, user_id: str) -> User:
    user = await find_by_id(conn, user_id)
    if user is None or not user.active:
        raise IdentityError(400, "invalid_grant", "the user is disabled")
    return user


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
