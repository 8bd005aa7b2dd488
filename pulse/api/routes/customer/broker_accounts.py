"""/customer/broker-accounts: broker logins that read the tenant's alerts (`alerts/{tenant}/#`, where the
MQTT notification channel publishes on Pulse's own broker) and nothing else. Created and revoked on the
running broker right after the commit (pulse/broker/control.py); the password is shown once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from pulse.api.deps import AdminTenantId, AppSettings, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries import broker_accounts as queries
from pulse.api.queries.broker_accounts import MAX_ACTIVE, BrokerAccount
from pulse.broker import control as broker_control
from pulse.errors import PulseError

router = APIRouter(
    prefix="/customer/broker-accounts",
    tags=["customer-broker-accounts"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


class BrokerAccountList(BaseModel):
    accounts: list[BrokerAccount]
    total: int


class AccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(min_length=1, max_length=64)] = "alerts"


class NewBrokerAccount(BaseModel):
    id: uuid.UUID
    username: str
    client_id: str = Field(description="Connect with this client id (the same as the username).")
    password: str = Field(description="Shown once.")
    broker_url: str | None
    topic_filter: str = Field(description="What this login may subscribe to.")


@router.get("", response_model=BrokerAccountList)
async def list_accounts(tenant: AdminTenantId, conn: TenantDb) -> BrokerAccountList:
    """Active alert readers (never their passwords)."""
    accounts = await queries.active_accounts(conn, tenant)
    return BrokerAccountList(accounts=accounts, total=len(accounts))


@router.post("", status_code=201, response_model=NewBrokerAccount, responses={409: {"model": ErrorBody}})
async def create_account(
    tenant: AdminTenantId,
    conn: TenantDb,
    settings: AppSettings,
    background: BackgroundTasks,
    body: AccountBody | None = None,
) -> NewBrokerAccount:
    """A new login that may subscribe to `alerts/{tenant}/#` only (at most 20 active per tenant)."""
    made = await queries.create_account(conn, tenant, (body or AccountBody()).label)
    if made is None:
        raise PulseError(409, "too_many_accounts", f"at most {MAX_ACTIVE} active broker accounts per tenant")
    account, password = made
    background.add_task(broker_control.set_alerts_reader, settings, tenant, account.username, password)
    return NewBrokerAccount(
        id=account.id,
        username=account.username,
        client_id=account.username,
        password=password,
        broker_url=settings.mqtt_url,
        topic_filter=f"alerts/{tenant}/#",
    )


@router.delete(
    "/{account_id}", status_code=204, response_class=Response, responses={404: {"model": ErrorBody}}
)
async def revoke_account(
    tenant: AdminTenantId,
    conn: TenantDb,
    settings: AppSettings,
    background: BackgroundTasks,
    account_id: Annotated[uuid.UUID, Path()],
) -> Response:
    """The login stops working and its connection is dropped."""
    username = await queries.revoke_account(conn, tenant, account_id)
    if username is None:
        raise PulseError(404, "not_found", "no such active broker account")
    background.add_task(broker_control.set_alerts_reader, settings, tenant, username, None)
    return Response(status_code=204)
