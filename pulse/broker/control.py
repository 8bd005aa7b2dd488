"""Live changes to the broker's accounts: dynamic-security commands published as `pulse-admin` on
`$CONTROL/dynamic-security/v1` (answers on `…/response`).

Called after the database change committed (routes schedule them as background tasks, which run after
the response's transaction): a new or rotated password is pushed while the process still holds it — the
database keeps only its hash. Deleting a dynsec client disconnects its live connection at once, so a
rotation or revocation takes effect within the round trip. Should a push fail, the next broker start
rebuilds every account from the database (pulse/broker/access.py), which stays the source of truth.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiomqtt
import orjson

from pulse.broker.access import (
    CONTROL_TOPIC,
    auth_enabled,
    device_role,
    device_username,
    service_login,
    tenant_alerts_role,
)
from pulse.config import Settings
from pulse.log import get_logger

log = get_logger("pulse.broker")

RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
TIMEOUT = 10.0
BATCH = 200  # devices per control message
# Mosquitto 2.0's plugin rewrites its whole file after each command: with thousands of accounts a batch
# (and the connection queued behind the previous one) takes far longer than one change. Not waiting
# would lose a batch that was never sent.
BULK_TIMEOUT = 600.0


async def send(
    settings: Settings, commands: list[dict[str, Any]], timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """Run dynsec commands; their responses (each may carry an `error`)."""
    login = service_login(settings, "admin")
    assert login is not None
    host, port = settings.mqtt_host_port
    async with (
        asyncio.timeout(timeout),
        aiomqtt.Client(
            host, port, username=login[0], password=login[1], identifier=f"pulse-admin-{secrets.token_hex(6)}",
            protocol=aiomqtt.ProtocolVersion.V5, timeout=timeout,
        ) as client,
    ):  # fmt: skip
        await client.subscribe(RESPONSE_TOPIC, qos=1)
        await client.publish(CONTROL_TOPIC, orjson.dumps({"commands": commands}), qos=1)
        async for message in client.messages:
            return orjson.loads(message.payload).get("responses", [])
    return []


def device_commands(tenant_id: str, device_id: str, password: str | None, usernames: list[str] | None = None):
    """Replace (password given) or remove (None) the device's accounts. A replaced client is deleted and
    created again, which also drops a connection that used the old password."""
    usernames = usernames or [device_username(tenant_id, device_id)]
    commands: list[dict[str, Any]] = [{"command": "deleteClient", "username": u} for u in usernames]
    if password is not None:
        role = device_role(tenant_id, device_id)
        commands.append({"command": "createRole", "rolename": role["rolename"], "acls": role["acls"]})
        commands += [
            {"command": "createClient", "username": u, "password": password, "clientid": u,
             "roles": [{"rolename": role["rolename"]}]}
            for u in usernames
        ]  # fmt: skip
    return commands


async def apply(settings: Settings, commands: list[dict[str, Any]], timeout: float = TIMEOUT) -> None:
    """Push changes, never raising (a background task): failures are logged; a restart rebuilds."""
    if not auth_enabled(settings) or not commands:
        return
    try:
        responses = await send(settings, commands, timeout)
    except Exception as exc:  # the broker may be away: its next start rebuilds from the database
        log.warning("broker account change not applied", error=str(exc) or type(exc).__name__)
        return
    for command, response in zip(commands, responses, strict=False):
        error = response.get("error")
        expected = (command["command"] == "deleteClient" and "not found" in (error or "").lower()) or (
            command["command"] == "createRole" and "already exists" in (error or "").lower()
        )
        if error and not expected:
            log.warning("broker account change refused", command=command["command"], error=error)


async def set_device_password(settings: Settings, tenant_id: str, device_id: str, password: str) -> None:
    await apply(settings, device_commands(tenant_id, device_id, password))


async def set_device_passwords(settings: Settings, tenant_id: str, passwords: dict[str, str]) -> None:
    """Many new devices of one tenant (an import), in messages of `BATCH` devices."""
    items = list(passwords.items())
    for start in range(0, len(items), BATCH):
        commands = [
            c for device_id, password in items[start : start + BATCH]
            for c in device_commands(tenant_id, device_id, password)
        ]  # fmt: skip
        await apply(settings, commands, BULK_TIMEOUT)


async def replace_token_clients(
    settings: Settings, tenant_id: str, device_id: str, new: tuple[str, str] | None, revoked: list[str]
) -> None:
    """A device API token's account: `revoked` client ids deleted (their connections dropped), and the
    `new` (client_id, password) created with the device's rights."""
    commands: list[dict[str, Any]] = [{"command": "deleteClient", "username": u} for u in revoked]
    if new is not None:
        commands += device_commands(tenant_id, device_id, new[1], [new[0]])
    await apply(settings, commands)


async def remove_device(settings: Settings, tenant_id: str, device_id: str, extra: list[str] = ()) -> None:
    await apply(
        settings, device_commands(tenant_id, device_id, None, [device_username(tenant_id, device_id), *extra])
    )


async def set_alerts_reader(settings: Settings, tenant_id: str, username: str, password: str | None) -> None:
    """Create (password given) or delete (None) a tenant's alert reader; deleting drops its connection."""
    commands: list[dict[str, Any]] = [{"command": "deleteClient", "username": username}]
    if password is not None:
        role = tenant_alerts_role(tenant_id)
        commands += [
            {"command": "createRole", "rolename": role["rolename"], "acls": role["acls"]},
            {"command": "createClient", "username": username, "password": password, "clientid": username,
             "roles": [{"rolename": role["rolename"]}]},
        ]  # fmt: skip
    await apply(settings, commands)
