"""Who may do what on the broker, computed from the database (the one source of truth).

Accounts (Mosquitto dynamic-security "clients"):
- a device: username `{tenant}/{device}`, password = its provision token (issued at activation or
  rotation, shown once); bound to client id = username so no device can take another client's id.
- a device API token (`device_api_tokens`): username = its client_id, bound to that client id, same
  rights as its device.
- a tenant's alert reader (`tenant_broker_accounts`): username = client id = `alerts:{tenant}:{random}`;
  may subscribe to and receive `alerts/{tenant}/#`, nothing else.
- Pulse's services: `pulse-ingest`, `pulse-notify`, `pulse-admin`, passwords derived from
  PULSE_MQTT_SERVICE_SECRET (HMAC), so every process of a deployment agrees without storing them.

Rights (dynsec roles; the default denies every publish, subscribe and receive):
- device: publish `tenant/{t}/device/{d}/+`, subscribe (and receive) `tenant/{t}/device/{d}/commands/#`;
- ingest: subscribe exactly its subscription (`$share/{group}/tenant/+/device/+/+`), receive device
  topics — nobody else may join its group or read device topics;
- notify: publish `alerts/#`; tenant readers (role `tenant/{t}/alerts`) subscribe/receive `alerts/{t}/#`;
- admin: the dynamic-security control topic (live changes, pulse/broker/control.py);
- anonymous clients (only with PULSE_MQTT_ANONYMOUS_DEVICES): publish `tenant/+/device/+/+`, nothing else.
  Mosquitto lets any client, an anonymous one too, take over a client id; receiving is therefore
  denied by default and granted only with a subscription right, so a taken-over session (ingest's
  persistent one) delivers nothing to the taker. The taker can still disconnect that client (it
  reconnects and takes the id back): keep the mode for trusted networks.

Only a PBKDF2-SHA512 hash of a device password is stored (the format dynsec keeps in its own file), so
the broker's file can be rebuilt from the database without any plaintext at rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from pulse.config import Settings

ITERATIONS = 101  # Mosquitto's own default: the secrets are 256-bit random, a slow hash adds nothing
SERVICE_NAMES = ("ingest", "notify", "admin")
ANONYMOUS_GROUP = "anonymous-devices"
DEVICE_TOPICS = "tenant/+/device/+/+"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
ALERTS_PREFIX = "alerts:"


def auth_enabled(settings: Settings) -> bool:
    return settings.mqtt_auth == "dynsec"


def service_username(name: str) -> str:
    return f"pulse-{name}"


def service_password(settings: Settings, name: str) -> str:
    if settings.mqtt_service_secret is None:
        raise ValueError("PULSE_MQTT_SERVICE_SECRET is needed when PULSE_MQTT_AUTH=dynsec")
    key = settings.mqtt_service_secret.get_secret_value().encode()
    return hmac.new(key, f"pulse-mqtt:{name}".encode(), hashlib.sha256).hexdigest()


def service_login(settings: Settings, name: str) -> tuple[str, str] | None:
    """(username, password) of one of Pulse's own broker clients; None on an anonymous broker."""
    if not auth_enabled(settings):
        return None
    return service_username(name), service_password(settings, name)


def device_username(tenant_id: str, device_id: str) -> str:
    return f"{tenant_id}/{device_id}"


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"pbkdf2-sha512${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _, iterations, salt, _ = stored.split("$")
        expected = hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)


def _dynsec_password(stored: str) -> dict[str, Any]:
    _, iterations, salt, digest = stored.split("$")
    return {"password": digest, "salt": salt, "iterations": int(iterations)}


def _acl(acltype: str, topic: str, allow: bool = True) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "priority": 0, "allow": allow}


@dataclass(frozen=True)
class Account:
    """Who a broker client is. `clientid`: the one client id it may use (None: free, services)."""

    kind: str  # "device" | "service" | "anonymous" | "alerts" (a tenant's alert reader)
    username: str | None = None
    tenant_id: str | None = None
    device_id: str | None = None
    service: str | None = None
    clientid: str | None = None


ANONYMOUS = Account("anonymous")


def device_account(username: str, tenant_id: str, device_id: str) -> Account:
    return Account("device", username, tenant_id, device_id, clientid=username)


def alerts_account(username: str, tenant_id: str) -> Account:
    return Account("alerts", username, tenant_id, clientid=username)


def alerts_username(tenant_id: str) -> str:
    """A new alert reader's username (also its client id): `alerts:{tenant}:{random}` — a `:` never
    appears in a tenant id, and no device account or API token client id starts that way."""
    return f"{ALERTS_PREFIX}{tenant_id}:{secrets.token_hex(6)}"


def service_account(name: str) -> Account:
    return Account("service", service_username(name), service=name)


def account_acls(account: Account, settings: Settings | None = None) -> list[tuple[str, str]]:
    """THE rules: (dynsec acltype, topic pattern) granted to an account; everything else is denied.
    The dynsec file is built from them and the HTTP hook (`allowed`) decides with them."""
    if account.kind == "device":
        base = f"tenant/{account.tenant_id}/device/{account.device_id}"
        return [
            ("publishClientSend", f"{base}/+"),
            ("subscribePattern", f"{base}/commands/#"),
            ("publishClientReceive", f"{base}/commands/#"),
        ]
    if account.kind == "anonymous":
        return [("publishClientSend", DEVICE_TOPICS)]
    if account.kind == "alerts":
        return [
            ("subscribePattern", f"alerts/{account.tenant_id}/#"),
            ("publishClientReceive", f"alerts/{account.tenant_id}/#"),
        ]
    if account.service == "ingest" and settings is not None:
        return [
            ("subscribeLiteral", ingest_subscription(settings)),
            ("publishClientReceive", settings.ingest_topic),
        ]
    if account.service == "notify":
        return [("publishClientSend", "alerts/#")]
    if account.service == "admin":
        return [
            ("publishClientSend", "$CONTROL/dynamic-security/#"),
            ("publishClientReceive", "$CONTROL/dynamic-security/#"),
            ("subscribePattern", "$CONTROL/dynamic-security/#"),
        ]
    return []


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT matching of a concrete topic against a filter (`+`, `#`; wildcards never match a leading `$`)."""
    if not topic or "+" in topic or "#" in topic:
        return False
    return _within(pattern.split("/"), topic.split("/"))


def filter_within(pattern: str, subscription: str) -> bool:
    """A subscription filter asks for nothing outside the pattern (how dynsec's subscribePattern reads)."""
    if not subscription:
        return False
    return _within(pattern.split("/"), subscription.split("/"))


def _within(pattern: list[str], levels: list[str]) -> bool:
    if levels[0].startswith("$") and pattern[0] in ("+", "#"):
        return False
    for i, want in enumerate(pattern):
        if want == "#":
            return i <= len(levels)  # `a/#` also covers `a`
        if i >= len(levels):
            return False
        got = levels[i]
        if got == "#" or (got == "+" and want != "+"):
            return False
        if want not in ("+", got):
            return False
    return len(levels) == len(pattern)


def allowed(account: Account, action: str, topic: str, settings: Settings) -> bool:
    """May the account publish to / subscribe to this topic (filter)? Pure: the same rules as the file."""
    for acltype, pattern in account_acls(account, settings):
        if action == "publish" and acltype == "publishClientSend" and topic_matches(pattern, topic):
            return True
        if action == "subscribe" and (
            (acltype == "subscribeLiteral" and hmac.compare_digest(pattern.encode(), topic.encode()))
            or (acltype == "subscribePattern" and filter_within(pattern, topic))
        ):
            return True
    return False


def device_role_name(tenant_id: str, device_id: str) -> str:
    return f"device/{tenant_id}/{device_id}"


def device_role(tenant_id: str, device_id: str) -> dict[str, Any]:
    account = device_account(device_username(tenant_id, device_id), tenant_id, device_id)
    return {
        "rolename": device_role_name(tenant_id, device_id),
        "acls": [_acl(t, topic) for t, topic in account_acls(account)],
    }


def tenant_alerts_role_name(tenant_id: str) -> str:
    return f"tenant/{tenant_id}/alerts"


def tenant_alerts_role(tenant_id: str) -> dict[str, Any]:
    account = alerts_account("", tenant_id)
    return {
        "rolename": tenant_alerts_role_name(tenant_id),
        "acls": [_acl(t, topic) for t, topic in account_acls(account)],
    }


def alerts_client(username: str, stored_hash: str, tenant_id: str) -> dict[str, Any]:
    return {
        "username": username,
        "clientid": username,
        "textname": f"alert reader of {tenant_id}",
        **_dynsec_password(stored_hash),
        "roles": [{"rolename": tenant_alerts_role_name(tenant_id)}],
    }


def ingest_subscription(settings: Settings) -> str:
    group = settings.ingest_shared_group
    return f"$share/{group}/{settings.ingest_topic}" if group else settings.ingest_topic


def service_roles(settings: Settings) -> list[dict[str, Any]]:
    roles = [
        {
            "rolename": f"pulse-{name}",
            "acls": [_acl(t, topic) for t, topic in account_acls(service_account(name), settings)],
        }
        for name in SERVICE_NAMES
    ]
    roles.append(
        {
            "rolename": ANONYMOUS_GROUP,
            "acls": [_acl(t, topic) for t, topic in account_acls(ANONYMOUS, settings)],
        }
    )
    return roles


def device_client(username: str, stored_hash: str, tenant_id: str, device_id: str) -> dict[str, Any]:
    return {
        "username": username,
        "clientid": username,
        "textname": f"device {device_id} of {tenant_id}",
        **_dynsec_password(stored_hash),
        "roles": [{"rolename": device_role_name(tenant_id, device_id)}],
    }


async def desired_state(conn: asyncpg.Connection, settings: Settings) -> dict[str, Any]:
    """The dynamic-security configuration (the plugin's JSON file format) for this database."""
    clients: list[dict[str, Any]] = []
    for name in SERVICE_NAMES:
        stored = hash_password(service_password(settings, name))
        clients.append(
            {"username": service_username(name), "textname": f"Pulse {name}", **_dynsec_password(stored),
             "roles": [{"rolename": f"pulse-{name}"}]}
        )  # fmt: skip
    roles = service_roles(settings)
    devices = await conn.fetch(
        """SELECT tenant_id, device_id, broker_password_hash FROM device_registry
            WHERE status = 'ACTIVE' ORDER BY tenant_id, device_id"""
    )
    for row in devices:
        roles.append(device_role(row["tenant_id"], row["device_id"]))
        if row["broker_password_hash"]:
            username = device_username(row["tenant_id"], row["device_id"])
            clients.append(
                device_client(username, row["broker_password_hash"], row["tenant_id"], row["device_id"])
            )
    tokens = await conn.fetch(
        """SELECT t.tenant_id, t.device_id, t.client_id, t.broker_password_hash
             FROM device_api_tokens t JOIN device_registry d USING (tenant_id, device_id)
            WHERE t.revoked_at IS NULL AND t.broker_password_hash IS NOT NULL AND d.status = 'ACTIVE'"""
    )
    for row in tokens:
        clients.append(
            device_client(row["client_id"], row["broker_password_hash"], row["tenant_id"], row["device_id"])
        )
    for tenant in await conn.fetch(
        "SELECT tenant_id FROM tenants WHERE status = 'ACTIVE' ORDER BY tenant_id"
    ):
        roles.append(tenant_alerts_role(tenant["tenant_id"]))
    readers = await conn.fetch(
        """SELECT a.tenant_id, a.username, a.password_hash FROM tenant_broker_accounts a
             JOIN tenants t USING (tenant_id) WHERE a.revoked_at IS NULL AND t.status = 'ACTIVE'"""
    )
    for row in readers:
        clients.append(alerts_client(row["username"], row["password_hash"], row["tenant_id"]))
    state: dict[str, Any] = {
        "clients": clients,
        "groups": [{"groupname": ANONYMOUS_GROUP, "roles": [{"rolename": ANONYMOUS_GROUP}]}],
        "roles": roles,
        "defaultACLAccess": {
            "publishClientSend": False,
            # Receiving is granted only to the roles that subscribe: Mosquitto lets any client take over
            # a client id (an anonymous one too), and a taken-over session must deliver nothing.
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
    }
    if settings.mqtt_anonymous_devices:
        state["anonymousGroup"] = ANONYMOUS_GROUP
    return state


def write_dynsec_file(path: Path, state: dict[str, Any]) -> None:
    """Atomically, mode 0600 (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle)
    tmp.replace(path)


async def rebuild_file(settings: Settings, path: Path) -> int:
    """Write the broker's dynsec file from the database; the number of accounts in it."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        state = await desired_state(conn, settings)
    finally:
        await conn.close()
    write_dynsec_file(path, state)
    return len(state["clients"])


_PLUGIN_PATHS = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
)


def dynsec_plugin() -> str | None:
    """Where Debian's `mosquitto` package put the dynamic-security plugin, if it is installed."""
    return next((p for p in _PLUGIN_PATHS if Path(p).exists()), None)


def mosquitto_auth_conf(dynsec_file: Path, *, allow_anonymous: bool) -> str:
    """Lines of mosquitto.conf that switch the dynamic-security plugin on."""
    plugin = dynsec_plugin() or "mosquitto_dynamic_security.so"  # else the broker's own search path
    return (
        f"plugin {plugin}\n"
        f"plugin_opt_config_file {dynsec_file}\n"
        f"allow_anonymous {'true' if allow_anonymous else 'false'}\n"
    )


_process_logins: dict[str, tuple[str, str]] = {}


def configure_process(settings: Settings) -> None:
    """Remember this process's service logins, for code that gets no settings (the mqtt channel)."""
    _process_logins.clear()
    if auth_enabled(settings):
        for name in SERVICE_NAMES:
            _process_logins[name] = (service_username(name), service_password(settings, name))


def process_login(name: str) -> tuple[str, str] | None:
    return _process_logins.get(name)


# --- accounts looked up per request (the HTTP hook of brokers without dynsec: EMQX, VerneMQ) ---

ACCOUNT_CACHE_TTL = 5.0  # seconds a looked-up device account is reused for authorization; never a miss
_account_cache: dict[str, tuple[float, Account]] = {}

_DEVICE = """SELECT d.tenant_id, d.device_id, d.broker_password_hash
               FROM device_registry d JOIN tenants t USING (tenant_id)
              WHERE d.tenant_id = $1 AND d.device_id = $2 AND d.status = 'ACTIVE' AND t.status = 'ACTIVE'"""
_API_CLIENT_SQL = """SELECT t.tenant_id, t.device_id, t.broker_password_hash
              FROM device_api_tokens t JOIN device_registry d USING (tenant_id, device_id)
              JOIN tenants n ON n.tenant_id = t.tenant_id
             WHERE t.client_id = $1 AND t.revoked_at IS NULL AND d.status = 'ACTIVE' AND n.status = 'ACTIVE'"""


_ALERTS_READER = """SELECT a.tenant_id, NULL AS device_id, a.password_hash AS broker_password_hash
              FROM tenant_broker_accounts a JOIN tenants t USING (tenant_id)
             WHERE a.username = $1 AND a.revoked_at IS NULL AND t.status = 'ACTIVE'"""


async def _device_row(pool: asyncpg.Pool, username: str) -> asyncpg.Record | None:
    """The account row of a device, device API token or alert-reader username (None: no such login)."""
    if username.startswith(ALERTS_PREFIX):
        return await pool.fetchrow(_ALERTS_READER, username)
    if "/" in username:
        tenant_id, _, device_id = username.partition("/")
        return await pool.fetchrow(_DEVICE, tenant_id, device_id)
    return await pool.fetchrow(_API_CLIENT_SQL, username)


def _service_named(username: str) -> str | None:
    return next((n for n in SERVICE_NAMES if hmac.compare_digest(username, service_username(n))), None)


def anonymous_clientid_ok(clientid: str) -> bool:
    """An anonymous client may not pick a client id of Pulse's services or of a device account."""
    return bool(clientid) and not clientid.startswith("pulse-") and "/" not in clientid


async def authenticate(
    pool: asyncpg.Pool, settings: Settings, username: str | None, password: str | None, clientid: str
) -> Account | None:
    """The account these credentials log in as (client id binding included); None = refuse. Never
    cached: a revoked or rotated device is refused at its next connect."""
    if not username:
        if settings.mqtt_anonymous_devices and not password and anonymous_clientid_ok(clientid):
            return ANONYMOUS
        return None
    password = password or ""
    name = _service_named(username)
    if name is not None:
        ok = settings.mqtt_service_secret is not None and hmac.compare_digest(
            password.encode(), service_password(settings, name).encode()
        )
        return service_account(name) if ok else None
    row = await _device_row(pool, username)
    if row is None or not password_matches(password, row["broker_password_hash"]):
        return None
    account = _account_of(username, row)
    return account if hmac.compare_digest(clientid.encode(), username.encode()) else None


def _account_of(username: str, row: asyncpg.Record) -> Account:
    if row["device_id"] is None:
        return alerts_account(username, row["tenant_id"])
    return device_account(username, row["tenant_id"], row["device_id"])


async def account_for(
    pool: asyncpg.Pool, settings: Settings, username: str | None, clientid: str
) -> Account | None:
    """The account of an authenticated connection, for an authorization question. A device account is
    reused for ACCOUNT_CACHE_TTL seconds (a revocation is seen within them); a missing one is never
    cached."""
    if not username:
        return ANONYMOUS if settings.mqtt_anonymous_devices and anonymous_clientid_ok(clientid) else None
    name = _service_named(username)
    if name is not None:
        return service_account(name)
    now = time.monotonic()
    cached = _account_cache.get(username)
    if cached is not None and cached[0] > now:
        account: Account | None = cached[1]
    else:
        row = await _device_row(pool, username)
        account = _account_of(username, row) if row else None
        if account is None:
            _account_cache.pop(username, None)
        else:
            if len(_account_cache) > 100_000:
                _account_cache.clear()
            _account_cache[username] = (now + ACCOUNT_CACHE_TTL, account)
    if account is None or not hmac.compare_digest(clientid.encode(), (account.clientid or "").encode()):
        return None
    return account


def forget_accounts() -> None:
    _account_cache.clear()
