"""A real SNMP trap receiver for tests: pysnmp's notification receiver on a free UDP port of the
loopback interface, accepting v2c with one community and v3 from the USM users it is given.

Users are described with pysnmp's own protocol constants, not the channel's names, so a wrong mapping
in the channel cannot be mirrored here."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto.api import v2c

from pulse.notify.channels.snmp import DEFAULT_ENGINE_ID


@dataclass(frozen=True)
class User:
    name: str
    auth_protocol: tuple = config.USM_AUTH_NONE
    auth_password: str | None = None
    priv_protocol: tuple = config.USM_PRIV_NONE
    priv_password: str | None = None


@dataclass(frozen=True)
class Trap:
    version: str  # "2c" or "3"
    security_name: str  # the community's entry for v2c, the user for v3
    security_level: int  # 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv
    varbinds: list[tuple[str, str, Any]]  # (OID, ASN.1 type as received, value)


class TrapReceiver:
    def __init__(
        self,
        *,
        community: str = "public",
        users: tuple[User, ...] = (),
        engine_id: str = DEFAULT_ENGINE_ID,  # the sender's: v3 keys are localised with it
        host: str = "127.0.0.1",
    ):
        self.community = community
        self.users = users
        self.engine_id = engine_id
        self.host = host
        self.port = 0
        self.traps: list[Trap] = []
        self._arrived = asyncio.Event()
        self._engine: SnmpEngine | None = None
        self._security: dict[str, Any] = {}

    async def __aenter__(self) -> TrapReceiver:
        v6 = ":" in self.host
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, 0))  # bound now: datagrams wait in the kernel until the transport reads
        self.port = sock.getsockname()[1]
        self._engine = engine = SnmpEngine()
        transport, domain = (
            (udp6.Udp6AsyncioTransport, udp6.DOMAIN_NAME)
            if v6
            else (udp.UdpAsyncioTransport, udp.DOMAIN_NAME)
        )
        config.add_transport(engine, domain, transport().open_server_mode(sock=sock))
        config.add_v1_system(engine, "pulse-test", self.community)
        for user in self.users:
            config.add_v3_user(
                engine,
                user.name,
                user.auth_protocol,
                user.auth_password,
                user.priv_protocol,
                user.priv_password,
                securityEngineId=v2c.OctetString(hexValue=self.engine_id),
            )
        engine.observer.register_observer(self._note_security, "rfc3412.receiveMessage:request")
        ntfrcv.NotificationReceiver(engine, self._on_trap)
        return self

    async def __aexit__(self, *exc) -> None:
        self._engine.close_dispatcher()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Trap]:
        async with asyncio.timeout(timeout):
            while len(self.traps) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.traps

    async def nothing_within(self, seconds: float = 0.5) -> bool:
        """True when no trap arrives for `seconds` (UDP: silence is all a dropped trap leaves)."""
        await asyncio.sleep(seconds)
        return not self.traps

    def _note_security(self, engine, point, variables, ctx) -> None:
        self._security = variables  # the message's security, read by _on_trap for the same message

    def _on_trap(self, engine, state, context_engine_id, context_name, varbinds, ctx) -> None:
        self.traps.append(
            Trap(
                version="3" if int(self._security["securityModel"]) == 3 else "2c",
                security_name=str(self._security["securityName"]),
                security_level=int(self._security["securityLevel"]),
                varbinds=[(str(oid), type(value).__name__, _python(value)) for oid, value in varbinds],
            )
        )
        self._arrived.set()


def _python(value: Any) -> Any:
    if isinstance(value, v2c.OctetString):
        return bytes(value).decode()
    if isinstance(value, v2c.ObjectIdentifier):
        return str(value)
    return int(value)
