"""SNMP traps (v2c, or v3 with USM authentication and privacy) carrying the alert as varbinds.

Trap, after the sysUpTime.0 the engine adds (`render` gives the rest, in order):

    snmpTrapOID.0      ObjectIdentifier  {prefix}.0.1
    {prefix}.1.1.0     OctetString       alert_id
    {prefix}.1.2.0     OctetString       device_id
    {prefix}.1.3.0     OctetString       tenant_id
    {prefix}.1.4.0     Integer32         severity: CRITICAL 1, WARNING 2, INFO 3 (from the severity label)
    {prefix}.1.5.0     OctetString       summary (UTF-8, at most MAX_TEXT characters)
    {prefix}.1.6.0     OctetString       created_at, ISO 8601
    {prefix}.1.7.0     OctetString       event: OPEN, ACKNOWLEDGED, ESCALATED or CLOSED
    {prefix}.1.8.0     Integer32         severity as stored, 1 (info) … 5 (critical)
    {prefix}.1.9.0     OctetString       alert_type
    {prefix}.1.10.0    OctetString       site_id

Traps are unacknowledged UDP: a successful send means the datagram left this host without a local
error, not that a receiver accepted it (a wrong community, USM user, key or engine ID is dropped
silently by the receiver).

SNMPv3 traps are sent by Pulse as the authoritative engine, so the receiver must know Pulse's engine ID
(`engine_id`; for net-snmp: `createUser -e 0x8001869f0470756c7365 NAME SHA AUTHPASS AES PRIVPASS`).
AES192/AES256 use the key extension of net-snmp's AES192/AES256 (Blumenthal draft); AES192C/AES256C
the Cisco one (Reeder draft).
"""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config as snmp_config
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    Integer32,
    ObjectIdentifier,
    ObjectIdentity,
    ObjectType,
    OctetString,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    send_notification,
)

from pulse.notify import ssrf
from pulse.notify.channels.base import Reason, SendContext, SendResult, field_errors
from pulse.notify.events import AlertEvent

kind = "snmp"
DESTINATION_FIELDS = ("host", "port")  # where the community or v3 keys are sent

DEFAULT_OID_PREFIX = "1.3.6.1.4.1.99999"
# 0x80 | enterprise 99999 (the default prefix's), format 4 (text), "pulse": RFC 3411 SnmpEngineID.
DEFAULT_ENGINE_ID = "8001869f0470756c7365"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SEVERITY_CODES = {"CRITICAL": 1, "WARNING": 2, "INFO": 3}
MAX_TEXT = 1024
MAX_PREFIX_ARCS = 100  # SNMP allows 128 sub-identifiers; the varbinds add three
# Engine clock: boots 1 since this instant (2024-01-01T00:00:00Z). See `_engine`.
CLOCK_EPOCH = 1_704_067_200

AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "none"]
PrivProtocol = Literal["DES", "AES", "AES192", "AES256", "AES192C", "AES256C", "none"]
AUTH_PROTOCOLS = {
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "SHA256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "SHA384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "SHA512": snmp_config.USM_AUTH_HMAC384_SHA512,
    "none": snmp_config.USM_AUTH_NONE,
}
PRIV_PROTOCOLS = {
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
    "AES192": snmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES192C": snmp_config.USM_PRIV_CFB192_AES,
    "AES256C": snmp_config.USM_PRIV_CFB256_AES,
    "none": snmp_config.USM_PRIV_NONE,
}
# v3 credentials a v2c config would silently ignore. (Fields with defaults are not checked: a stored
# config holds every default, so it must validate again with them.)
V3_CREDENTIALS = ("username", "auth_password", "priv_password")
# Text as UTF-8 octets: pyasn1 would encode a str as Latin-1 and fail on anything else.
VALUE_TYPES = {
    "OctetString": lambda text: OctetString(text.encode()),
    "Integer32": Integer32,
    "ObjectIdentifier": ObjectIdentifier,
}

# Building an engine (MIB modules, key localisation) costs ~0.1 s of CPU: it runs here, off the event
# loop, and not in the default executor that DNS look-ups of every channel share.
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pulse-snmp")


class Config(BaseModel):
    """`integrations.config_json` of an snmp integration."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:-]+$")
    port: int = Field(162, ge=1, le=65535)
    oid_prefix: str = Field(DEFAULT_OID_PREFIX, max_length=256, pattern=r"^[0-9]+(\.[0-9]+)*$")
    version: Literal["2c", "3"] = "2c"
    community: SecretStr = Field(SecretStr("public"), min_length=1, max_length=64)
    username: str | None = Field(None, min_length=1, max_length=32)
    auth_protocol: AuthProtocol = "SHA"
    auth_password: SecretStr | None = Field(None, min_length=8, max_length=64)
    priv_protocol: PrivProtocol = "AES"
    priv_password: SecretStr | None = Field(None, min_length=8, max_length=64)
    engine_id: str = Field(DEFAULT_ENGINE_ID, pattern=r"^([0-9a-fA-F]{2}){5,32}$")

    @field_validator("oid_prefix")
    @classmethod
    def _valid_oid(cls, value: str) -> str:
        arcs = [int(arc) for arc in value.split(".")]
        if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
            raise ValueError("not an OID: the first arc is 0-2, the second below 40 under 0 and 1")
        if len(arcs) > MAX_PREFIX_ARCS or max(arcs) >= 2**32:
            raise ValueError(f"at most {MAX_PREFIX_ARCS} arcs, each below 2^32")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        problems = self._v3_problems() if self.version == "3" else self._v2c_problems()
        if problems:
            raise field_errors(problems)
        return self

    def _v2c_problems(self) -> list[tuple[str, str]]:
        return [(name, "only for version 3") for name in V3_CREDENTIALS if getattr(self, name) is not None]

    def _v3_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.username is None:
            problems.append(("username", "required for version 3"))
        problems += _key_problems("auth", self.auth_protocol, self.auth_password)
        problems += _key_problems("priv", self.priv_protocol, self.priv_password)
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            problems.append(("priv_protocol", "privacy needs authentication: set auth_protocol"))
        return problems


def _key_problems(prefix: str, protocol: str, password: SecretStr | None) -> list[tuple[str, str]]:
    if protocol != "none" and password is None:
        return [(f"{prefix}_password", f"required with {prefix}_protocol {protocol}")]
    if protocol == "none" and password is not None:
        return [(f"{prefix}_password", f"not used with {prefix}_protocol none")]
    return []


def render(event: AlertEvent, config: Config) -> list[tuple[str, str, Any]]:
    """The trap's varbinds as (OID, SNMP type, value), snmpTrapOID.0 first."""
    prefix = config.oid_prefix
    return [
        (SNMP_TRAP_OID, "ObjectIdentifier", f"{prefix}.0.1"),
        (f"{prefix}.1.1.0", "OctetString", str(event.alert_id)),
        (f"{prefix}.1.2.0", "OctetString", event.device_id),
        (f"{prefix}.1.3.0", "OctetString", event.tenant_id),
        (f"{prefix}.1.4.0", "Integer32", SEVERITY_CODES[event.severity_label]),
        (f"{prefix}.1.5.0", "OctetString", event.summary[:MAX_TEXT]),
        (f"{prefix}.1.6.0", "OctetString", event.created_at.isoformat()),
        (f"{prefix}.1.7.0", "OctetString", event.event),
        (f"{prefix}.1.8.0", "Integer32", event.severity),
        (f"{prefix}.1.9.0", "OctetString", event.alert_type),
        (f"{prefix}.1.10.0", "OctetString", event.site_id),
    ]


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the target must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_host(config.host, config.port, policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    """Check the host again and send one trap to the checked address (a DNS answer that changed since
    cannot redirect it). Every failure before the datagram leaves is retryable except a refused target."""
    target = f"{config.host}:{config.port}"
    try:
        address = await _checked_address(config, ctx.policy)
    except ssrf.Unresolvable as exc:
        return SendResult(False, True, Reason.NETWORK, detail=str(exc))
    except ssrf.Blocked as exc:
        return SendResult(False, False, Reason.SSRF_BLOCKED, detail=str(exc))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timeout  # loop.time() is time.monotonic(), shared by every loop
    try:
        failure = await loop.run_in_executor(
            _EXECUTOR, _send_blocking, config, address, render(event, config), deadline
        )
    except TimeoutError:
        return SendResult(
            False, True, Reason.TIMEOUT, detail=f"trap not sent within {ctx.timeout}s to {target}"
        )
    except OSError as exc:
        return SendResult(
            False, True, Reason.NETWORK, detail=f"{exc.strerror or type(exc).__name__} to {target}"
        )
    except PySnmpError as exc:
        return SendResult(False, True, Reason.NETWORK, detail=f"{type(exc).__name__} to {target}")
    if failure:
        return SendResult(False, True, Reason.NETWORK, detail=f"snmp: {failure} to {target}")
    return SendResult(True, False, Reason.OK)


async def _checked_address(config: Config, policy: ssrf.Policy) -> str:
    """The address the check passed; an allow-listed host (no addresses checked) is resolved here."""
    addresses = await ssrf.check_host(config.host, config.port, policy)
    return str((addresses or await ssrf.resolve(config.host, config.port))[0])


def _send_blocking(
    config: Config, address: str, varbinds: list[tuple[str, str, Any]], deadline: float
) -> str:
    """In a worker thread: one engine, one socket and one event loop for this trap, all closed after."""
    return asyncio.run(_send_trap(config, address, varbinds, deadline))


async def _send_trap(
    config: Config, address: str, varbinds: list[tuple[str, str, Any]], deadline: float
) -> str:
    """Send the trap; returns pysnmp's error indication ("" when the datagram left)."""
    v6 = ipaddress.ip_address(address).version == 6
    target_class, transport = (Udp6TransportTarget, _Udp6()) if v6 else (UdpTransportTarget, _Udp())
    async with asyncio.timeout_at(deadline):
        engine = _engine(config.engine_id)
        try:
            # Opened here rather than by pysnmp, which would open it in the background and queue the
            # trap: returning before that ran would lose it, and a send error would go unseen.
            await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: transport, family=transport.SOCK_FAMILY
            )
            snmp_config.add_transport(engine, target_class.TRANSPORT_DOMAIN, transport)
            target = await target_class.create((address, config.port), timeout=1, retries=0)
            error_indication, _, _, _ = await send_notification(
                engine, _auth(config), target, ContextData(), "trap", *_object_types(varbinds)
            )
            await transport.sent()
            return str(error_indication or "")
        finally:
            engine.close_dispatcher()


def _engine(engine_id: str) -> SnmpEngine:
    """A fresh engine with the configured engine ID, boots 1 and a clock counting from CLOCK_EPOCH.

    A receiver of v3 traps keeps the sender's boots and time and drops a trap whose clock runs more
    than 150 s behind them (RFC 3414 §3.2 step 7b). pysnmp's own clock starts with each engine and its
    boots counter is a temp file on one host, so engines per send, restarts and several notify
    processes sharing the ID would disagree; the wall clock agrees everywhere. (The ID is set after
    construction because pysnmp's constructor writes that boots file for a given ID.)"""
    engine = SnmpEngine()
    own_id, boots, clock = engine.get_mib_builder().import_symbols(
        "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime"
    )
    own_id.syntax = own_id.syntax.clone(bytes.fromhex(engine_id))
    engine.snmpEngineID = own_id.syntax
    boots.syntax = boots.syntax.clone(1)
    clock.syntax = clock.syntax.clone(CLOCK_EPOCH)  # pysnmp reads the time as now - this value
    return engine


def _auth(config: Config) -> CommunityData | UsmUserData:
    if config.version == "2c":
        # v2c (S508) because the receiver's operator chose it; v3 is offered.
        return CommunityData(config.community.get_secret_value(), mpModel=1)  # noqa: S508
    return UsmUserData(
        config.username,
        authKey=_secret(config.auth_password),
        privKey=_secret(config.priv_password),
        authProtocol=AUTH_PROTOCOLS[config.auth_protocol],
        privProtocol=PRIV_PROTOCOLS[config.priv_protocol],
    )


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _object_types(varbinds: list[tuple[str, str, Any]]) -> list[ObjectType]:
    return [
        ObjectType(ObjectIdentity(oid), VALUE_TYPES[type_name](value)) for oid, type_name, value in varbinds
    ]


class _Datagrams:
    """Mixed into pysnmp's datagram transport to learn what asyncio tells only the protocol: that a send
    failed (pysnmp ignores it) and when the datagrams it had to buffer have all reached the kernel."""

    error: OSError | None = None

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:
        self.flushed = asyncio.Event()
        self.flushed.set()
        transport.set_write_buffer_limits(high=0)  # any buffered datagram pauses us until it is sent
        super().connection_made(transport)

    def pause_writing(self) -> None:
        self.flushed.clear()

    def resume_writing(self) -> None:
        self.flushed.set()

    def error_received(self, exc: OSError) -> None:
        self.error = exc
        self.flushed.set()

    async def sent(self) -> None:
        await self.flushed.wait()
        if self.error is not None:
            raise self.error


class _Udp(_Datagrams, udp.UdpAsyncioTransport):
    pass


class _Udp6(_Datagrams, udp6.Udp6AsyncioTransport):
    pass
