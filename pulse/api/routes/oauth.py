"""The built-in issuer's endpoints: discovery, JWKS, the login page, token, revocation, logout, userinfo."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from pulse.api.deps import CurrentPrincipal, client_ip
from pulse.api.errors import ErrorBody
from pulse.errors import PulseError
from pulse.identity.issuer import Issuer, LoginRefused
from pulse.identity.login_page import (
    AUTHORIZE_FIELDS,
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    render_login,
)
from pulse.identity.users import IdentityError

router = APIRouter(tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FIELD = 4096  # longest form value accepted (codes, tokens, verifiers are far shorter)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    id_token: str | None = None


class UserInfo(BaseModel):
    sub: str
    preferred_username: str | None
    email: str | None
    name: str | None
    tenant_id: str | None
    realm_access: dict[str, list[str]]


def _issuer(request: Request) -> Issuer:
    issuer = request.app.state.issuer
    if issuer is None:
        raise PulseError(404, "not_found", "the built-in issuer is disabled (PULSE_BUILTIN_ISSUER=false)")
    return issuer


def _identity_error(exc: IdentityError) -> PulseError:
    return PulseError(exc.status, exc.error, exc.detail, _NO_STORE)


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery document")
async def discovery(request: Request) -> dict:
    return _issuer(request).discovery()


@router.get("/oauth/jwks", summary="The issuer's public signing keys (current and recently retired)")
async def jwks(request: Request) -> dict:
    return await _issuer(request).keys.jwks()


def _login_page(
    issuer: Issuer, params: dict[str, str], *, status: int = 200, error: str | None = None, username: str = ""
):
    token = secrets.token_urlsafe(32)
    response = HTMLResponse(
        render_login(params, token, error=error, username=username), status, SECURITY_HEADERS
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=1800,
        path="/oauth",
        httponly=True,
        samesite="strict",
        secure=issuer.issuer.startswith("https://"),
    )
    return response


def _params(source) -> dict[str, str]:
    return {name: str(source.get(name) or "")[:_FIELD] for name in AUTHORIZE_FIELDS}


@router.get(
    "/oauth/authorize",
    response_class=HTMLResponse,
    summary="Start the authorization-code flow (PKCE S256): shows the login page",
    responses={400: {"model": ErrorBody}},
)
async def authorize(request: Request):
    params = _params(request.query_params)
    issuer = _issuer(request)
    try:
        issuer.check_authorize(params)
    except IdentityError as exc:
        raise _identity_error(exc) from None
    return _login_page(issuer, params)


@router.post(
    "/oauth/authorize",
    response_class=HTMLResponse,
    summary="Submit the login form; redirects to redirect_uri with a one-time code",
    responses={303: {"description": "to redirect_uri"}, 400: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def authorize_submit(request: Request):
    form = await request.form(max_files=0, max_fields=20, max_part_size=_FIELD)
    params = _params(form)
    issuer = _issuer(request)
    try:
        auth_request = issuer.check_authorize(params)
    except IdentityError as exc:
        raise _identity_error(exc) from None
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get(CSRF_FIELD) or "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise PulseError(403, "csrf_failed", "the login form expired or was not sent by this page; reload it")
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    if not username or not password:
        return _login_page(
            issuer, params, status=400, error="Enter your username and password.", username=username
        )
    try:
        location = await issuer.login(auth_request, username, password, client_ip(request))
    except LoginRefused as exc:
        return _login_page(issuer, params, status=exc.status, error=exc.message, username=username)
    response = RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(CSRF_COOKIE, path="/oauth")
    return response


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise PulseError(401, "invalid_client", "malformed Basic credentials", _NO_STORE) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise PulseError(401, "invalid_client", "malformed Basic credentials", _NO_STORE)
    return unquote(client_id), unquote(secret)


Field = Annotated[str | None, Form(max_length=_FIELD)]


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Token endpoint: authorization_code (+PKCE), refresh_token (rotating), client_credentials",
    responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def token(
    request: Request,
    grant_type: Annotated[Literal["authorization_code", "refresh_token", "client_credentials"], Form()],
    code: Field = None,
    redirect_uri: Field = None,
    code_verifier: Field = None,
    refresh_token: Field = None,
    client_id: Field = None,
    client_secret: Field = None,
    scope: Field = None,
):
    issuer = _issuer(request)
    if not await issuer.token_allowed(client_ip(request)):
        raise PulseError(
            429,
            "rate_limited",
            "too many token requests from this address",
            {**_NO_STORE, "Retry-After": "60"},
        )
    basic = _basic_credentials(request)
    if basic:
        client_id, client_secret = basic
    try:
        if grant_type == "authorization_code":
            if not (code and redirect_uri and code_verifier and client_id):
                raise IdentityError(
                    400, "invalid_request", "code, redirect_uri, code_verifier and client_id are required"
                )
            body = await issuer.exchange_code(
                code=code, client_id=client_id, redirect_uri=redirect_uri, code_verifier=code_verifier
            )
        elif grant_type == "refresh_token":
            if not (refresh_token and client_id):
                raise IdentityError(400, "invalid_request", "refresh_token and client_id are required")
            body = await issuer.refresh(token=refresh_token, client_id=client_id)
        else:
            if not (client_id and client_secret):
                raise IdentityError(401, "invalid_client", "client_id and client_secret are required")
            body = await issuer.client_credentials(
                client_id=client_id, client_secret=client_secret, scope=scope
            )
    except IdentityError as exc:
        raise _identity_error(exc) from None
    return JSONResponse(body, headers=_NO_STORE)


@router.post(
    "/oauth/revoke",
    status_code=200,
    summary="Revoke a refresh token and its whole family (RFC 7009); unknown tokens are not an error",
)
async def revoke(
    request: Request,
    token: Annotated[str, Form(max_length=_FIELD)],
    token_type_hint: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    await _issuer(request).revoke(token)
    return Response(status_code=200, headers=_NO_STORE)


async def _logout(request: Request, source) -> Response:
    issuer = _issuer(request)
    token = str(source.get("refresh_token") or "")[:_FIELD]
    target = str(source.get("post_logout_redirect_uri") or "")[:_FIELD]
    if target and not issuer.logout_redirect_allowed(target):
        raise PulseError(400, "invalid_redirect_uri", "post_logout_redirect_uri is not registered")
    if token:
        await issuer.revoke(token)
    if target:
        return RedirectResponse(target, status_code=303, headers=_NO_STORE)
    return JSONResponse({"status": "logged_out"}, headers=_NO_STORE)


_LOGOUT = {
    "summary": "End the session: revokes the refresh token given, then redirects to post_logout_redirect_uri",
    "responses": {303: {"description": "to post_logout_redirect_uri"}, 400: {"model": ErrorBody}},
}


@router.get("/oauth/logout", **_LOGOUT)
async def logout(request: Request) -> Response:
    return await _logout(request, request.query_params)


@router.post("/oauth/logout", **_LOGOUT)
async def logout_form(request: Request) -> Response:
    return await _logout(request, await request.form(max_files=0, max_fields=10, max_part_size=_FIELD))


@router.get("/oauth/userinfo", response_model=UserInfo, summary="Claims about the bearer of the access token")
async def userinfo(request: Request, principal: CurrentPrincipal) -> UserInfo:
    issuer = _issuer(request)
    user = await issuer.user(principal.sub) if principal.issuer == issuer.issuer else None
    if user is None:
        raise PulseError(404, "not_found", "no such user at this issuer")
    return UserInfo(
        sub=user.user_id,
        preferred_username=user.username,
        email=user.email,
        name=user.display_name,
        tenant_id=user.tenant_id,
        realm_access={"roles": list(user.roles)},
    )
