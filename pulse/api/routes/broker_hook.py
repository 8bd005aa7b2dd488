"""The HTTP authentication / authorization hook of brokers that scale past one machine (EMQX 5's `http`
authenticator and authorizer; VerneMQ's webhooks can be pointed at the same URLs).

The broker POSTs JSON it is configured to send and gets `200 {"result": "allow"|"deny", "is_superuser":
false}`; the decisions come from pulse/broker/access.py, the same rules the Mosquitto dynsec file is
built from. The broker must send PULSE_BROKER_HOOK_SECRET as `X-Pulse-Broker-Secret` (compared in
constant time): a wrong or missing one is 401, and with no secret configured the endpoints are 404.
Any answer but 200 is "ignore" to EMQX, so configure its chain to deny what nobody allowed
(`authorization.no_match = deny`, no other authenticator).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel

from pulse.api.deps import AppSettings, get_pool
from pulse.broker import access
from pulse.errors import PulseError

Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
SECRET_HEADER = "X-Pulse-Broker-Secret"  # noqa: S105 (a header name)


def check_secret(
    settings: AppSettings,
    x_pulse_broker_secret: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    if settings.broker_hook_secret is None:
        raise PulseError(404, "not_found", "Not Found")
    expected = settings.broker_hook_secret.get_secret_value().encode()
    if not hmac.compare_digest((x_pulse_broker_secret or "").encode(), expected):
        raise PulseError(401, "unauthorized", f"missing or wrong {SECRET_HEADER}")


router = APIRouter(prefix="/broker", tags=["broker hook"], dependencies=[Depends(check_secret)])


class AuthnRequest(BaseModel):
    username: str | None = None
    password: str | None = None
    clientid: str = ""


class AuthzRequest(BaseModel):
    username: str | None = None
    clientid: str = ""
    topic: str
    action: str


class Decision(BaseModel):
    result: Literal["allow", "deny"]
    is_superuser: bool = False


def _decision(ok: bool) -> Decision:
    return Decision(result="allow" if ok else "deny")


@router.post("/auth", summary="Broker authentication hook (EMQX http authenticator)")
async def authenticate(body: AuthnRequest, settings: AppSettings, pool: Pool) -> Decision:
    account = await access.authenticate(pool, settings, body.username, body.password, body.clientid)
    return _decision(account is not None)


@router.post("/acl", summary="Broker authorization hook (EMQX http authorizer)")
async def authorize(body: AuthzRequest, settings: AppSettings, pool: Pool) -> Decision:
    if body.action not in ("publish", "subscribe"):
        return _decision(False)
    account = await access.account_for(pool, settings, body.username, body.clientid)
    return _decision(account is not None and access.allowed(account, body.action, body.topic, settings))
