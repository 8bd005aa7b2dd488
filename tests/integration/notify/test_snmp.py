"""The SNMP trap channel against a real receiver (pysnmp's, see snmp_receiver.py) on loopback."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from pysnmp.entity import config as usm

from pulse.notify import configs, ssrf
from pulse.notify.channels import snmp
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event
from tests.integration.notify.snmp_receiver import TrapReceiver, User

LOOPBACK = ssrf.Policy(allow_loopback=True)
P = snmp.DEFAULT_OID_PREFIX
CREATED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
OK = SendResult(True, False, Reason.OK)
AUTH_PASSWORD, PRIV_PASSWORD = "auth-pass-1", "priv-pass-1"


def alert(**changes) -> AlertEvent:
    return make_event(
        **dict(
            tenant_id="tenant-snmp",
            alert_id=4242,
            site_id="site-9",
            device_id="pump-3",
            summary="Temperatur über 30 °C",
            created_at=CREATED,
        )
        | changes
    )


def context(policy: ssrf.Policy = LOOPBACK, timeout: float = 5.0) -> SendContext:
    return SendContext(policy, "msg-1", 0, timeout=timeout)


def v3(port: int, **fields) -> snmp.Config:
    fields = {"auth_password": AUTH_PASSWORD, "priv_password": PRIV_PASSWORD, **fields}
    return snmp.Config(host="127.0.0.1", port=port, version="3", username="alice", **fields)


async def test_v2c_trap_carries_every_varbind():
    async with TrapReceiver(community="c0mmunity") as receiver:
        config = snmp.Config(host="127.0.0.1", port=receiver.port, community="c0mmunity")
        assert await snmp.send(alert(), config, None, context()) == OK
        (trap,) = await receiver.wait_for(1)
    assert (trap.version, trap.security_name, trap.security_level) == ("2c", "pulse-test", 1)
    assert trap.varbinds[0][:2] == ("1.3.6.1.2.1.1.3.0", "TimeTicks")  # sysUpTime.0, added by the engine
    assert trap.varbinds[1:] == [
        ("1.3.6.1.6.3.1.1.4.1.0", "ObjectIdentifier", f"{P}.0.1"),
        (f"{P}.1.1.0", "OctetString", "4242"),
        (f"{P}.1.2.0", "OctetString", "pump-3"),
        (f"{P}.1.3.0", "OctetString", "tenant-snmp"),
        (f"{P}.1.4.0", "Integer", 1),
        (f"{P}.1.5.0", "OctetString", "Temperatur über 30 °C"),
        (f"{P}.1.6.0", "OctetString", "2025-03-04T05:06:07+00:00"),
        (f"{P}.1.7.0", "OctetString", "OPEN"),
        (f"{P}.1.8.0", "Integer", 5),
        (f"{P}.1.9.0", "OctetString", "THRESHOLD"),
        (f"{P}.1.10.0", "OctetString", "site-9"),
    ]


@pytest.mark.parametrize(("severity", "code"), [(5, 1), (4, 2), (3, 2), (2, 3), (1, 3)])
async def test_severity_varbind_follows_the_label(severity, code):
    """CRITICAL 1, WARNING 2, INFO 3 — the reference sent 4 for every numeric severity."""
    async with TrapReceiver() as receiver:
        config = snmp.Config(host="127.0.0.1", port=receiver.port)
        assert await snmp.send(alert(severity=severity), config, None, context()) == OK
        (trap,) = await receiver.wait_for(1)
    values = {oid: value for oid, _, value in trap.varbinds}
    assert (values[f"{P}.1.4.0"], values[f"{P}.1.8.0"]) == (code, severity)


async def test_event_and_custom_prefix():
    prefix = "1.3.6.1.4.1.55555.7"
    async with TrapReceiver() as receiver:
        config = snmp.Config(host="127.0.0.1", port=receiver.port, oid_prefix=prefix)
        assert await snmp.send(alert(event="ESCALATED"), config, None, context()) == OK
        (trap,) = await receiver.wait_for(1)
    assert trap.varbinds[1] == ("1.3.6.1.6.3.1.1.4.1.0", "ObjectIdentifier", f"{prefix}.0.1")
    assert (f"{prefix}.1.7.0", "OctetString", "ESCALATED") in trap.varbinds
    assert {oid for oid, _, _ in trap.varbinds[2:]} == {f"{prefix}.1.{n}.0" for n in range(1, 11)}


@pytest.mark.parametrize(
    ("auth", "priv", "receiver_user", "level"),
    [
        (
            "SHA",
            "AES",
            User("alice", usm.USM_AUTH_HMAC96_SHA, AUTH_PASSWORD, usm.USM_PRIV_CFB128_AES, PRIV_PASSWORD),
            3,
        ),
        (
            "SHA256",
            "AES256",
            User(
                "alice",
                usm.USM_AUTH_HMAC192_SHA256,
                AUTH_PASSWORD,
                usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
                PRIV_PASSWORD,
            ),
            3,
        ),
        (
            "MD5",
            "DES",
            User("alice", usm.USM_AUTH_HMAC96_MD5, AUTH_PASSWORD, usm.USM_PRIV_CBC56_DES, PRIV_PASSWORD),
            3,
        ),
        (
            "SHA512",
            "AES192C",
            User("alice", usm.USM_AUTH_HMAC384_SHA512, AUTH_PASSWORD, usm.USM_PRIV_CFB192_AES, PRIV_PASSWORD),
            3,
        ),
        ("SHA384", "none", User("alice", usm.USM_AUTH_HMAC256_SHA384, AUTH_PASSWORD), 2),
        ("none", "none", User("alice"), 1),
    ],
)
async def test_v3_trap_uses_the_configured_protocols(auth, priv, receiver_user, level):
    fields = {"auth_protocol": auth, "priv_protocol": priv}
    if auth == "none":
        fields["auth_password"] = None
    if priv == "none":
        fields["priv_password"] = None
    async with TrapReceiver(users=(receiver_user,)) as receiver:
        assert await snmp.send(alert(), v3(receiver.port, **fields), None, context()) == OK
        (trap,) = await receiver.wait_for(1)
    assert (trap.version, trap.security_name, trap.security_level) == ("3", "alice", level)
    assert (f"{P}.1.2.0", "OctetString", "pump-3") in trap.varbinds


async def test_v3_protocols_are_not_interchangeable():
    """The reference always sent SHA-1 and AES-128 whatever was configured: a receiver expecting
    SHA-256 and AES-256 gets nothing from SHA/AES, and the trap from SHA256/AES256."""
    user = User(
        "alice", usm.USM_AUTH_HMAC192_SHA256, AUTH_PASSWORD, usm.USM_PRIV_CFB256_AES_BLUMENTHAL, PRIV_PASSWORD
    )
    async with TrapReceiver(users=(user,)) as receiver:
        assert await snmp.send(alert(), v3(receiver.port), None, context()) == OK
        assert await receiver.nothing_within()
        config = v3(receiver.port, auth_protocol="SHA256", priv_protocol="AES256")
        assert await snmp.send(alert(), config, None, context()) == OK
        assert len(await receiver.wait_for(1)) == 1


async def test_v3_wrong_password_is_dropped_by_the_receiver_yet_reported_sent():
    """Traps are unacknowledged UDP: the receiver drops a trap whose authentication fails and tells
    nobody, so the sender can only report that the datagram left — `ok` here means sent, not delivered."""
    user = User("alice", usm.USM_AUTH_HMAC96_SHA, AUTH_PASSWORD, usm.USM_PRIV_CFB128_AES, PRIV_PASSWORD)
    async with TrapReceiver(users=(user,)) as receiver:
        result = await snmp.send(alert(), v3(receiver.port, auth_password="wrong-pass-1"), None, context())
        assert result == OK
        assert await receiver.nothing_within()


async def test_v3_engine_id_must_be_the_one_the_receiver_knows():
    engine_id = "80001f8880a1b2c3d4e5f6"
    user = User("alice", usm.USM_AUTH_HMAC96_SHA, AUTH_PASSWORD, usm.USM_PRIV_CFB128_AES, PRIV_PASSWORD)
    async with TrapReceiver(users=(user,), engine_id=engine_id) as receiver:
        assert await snmp.send(alert(), v3(receiver.port), None, context()) == OK  # the default ID
        assert await receiver.nothing_within()
        assert await snmp.send(alert(), v3(receiver.port, engine_id=engine_id), None, context()) == OK
        assert len(await receiver.wait_for(1)) == 1


def test_engine_clock_is_shared_by_every_engine():
    """Receivers drop v3 traps whose clock runs behind what they saw (RFC 3414); engines built at any
    moment in any process read boots 1 and the seconds since CLOCK_EPOCH."""
    engine = snmp._engine(snmp.DEFAULT_ENGINE_ID)
    own_id, boots, clock = engine.get_mib_builder().import_symbols(
        "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime"
    )
    assert bytes(own_id.syntax).hex() == snmp.DEFAULT_ENGINE_ID
    assert int(boots.syntax) == 1
    assert abs(int(clock.syntax.clone()) - (time.time() - snmp.CLOCK_EPOCH)) < 2


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6_target():
    async with TrapReceiver(host="::1") as receiver:
        assert await snmp.send(alert(), snmp.Config(host="::1", port=receiver.port), None, context()) == OK
        assert len(await receiver.wait_for(1)) == 1


async def test_allow_listed_host_is_resolved_and_reached():
    """An operator-approved host skips the address check (even loopback) and is resolved at send."""
    policy = ssrf.Policy.build(False, ["localhost"])
    first = str((await ssrf.resolve("localhost", 162))[0])
    async with TrapReceiver(host=first) as receiver:
        config = snmp.Config(host="localhost", port=receiver.port)
        await snmp.check(config, policy)
        assert await snmp.send(alert(), config, None, context(policy)) == OK
        assert len(await receiver.wait_for(1)) == 1


async def test_refused_target_is_permanent_and_nothing_is_sent():
    async with TrapReceiver() as receiver:
        config = snmp.Config(host="127.0.0.1", port=receiver.port)
        with pytest.raises(ssrf.Blocked):
            await snmp.check(config, ssrf.Policy())
        result = await snmp.send(alert(), config, None, context(ssrf.Policy()))
        assert (result.ok, result.retryable, result.reason) == (False, False, Reason.SSRF_BLOCKED)
        assert await receiver.nothing_within()
    await snmp.check(config, LOOPBACK)


async def test_unresolvable_host_is_retryable_and_detail_has_no_secret():
    config = snmp.Config(host="no-such-host.invalid", community="top-secret-community")
    result = await snmp.send(alert(), config, None, context())
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert "top-secret-community" not in result.detail


async def test_timeout_is_retryable():
    async with TrapReceiver() as receiver:
        config = snmp.Config(host="127.0.0.1", port=receiver.port)
        result = await snmp.send(alert(), config, None, context(timeout=0.001))
        assert (result.ok, result.retryable, result.reason) == (False, True, Reason.TIMEOUT)
        assert await receiver.nothing_within()


@pytest.mark.slow  # 31 v3 traps, an engine each: many seconds on a busy machine
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
async def test_concurrent_sends_all_arrive_and_leave_nothing_open():
    """One engine, socket and event loop per trap, all closed explicitly (the garbage collector is off
    meanwhile): repeated sends leave no descriptors, and the worker threads are a bounded pool."""
    user = User("alice", usm.USM_AUTH_HMAC96_SHA, AUTH_PASSWORD, usm.USM_PRIV_CFB128_AES, PRIV_PASSWORD)
    async with TrapReceiver(users=(user,)) as receiver:
        config = v3(receiver.port)
        assert await snmp.send(alert(), config, None, context()) == OK
        await receiver.wait_for(1)
        descriptors = len(os.listdir("/proc/self/fd"))
        gc.disable()
        try:
            results = await asyncio.gather(
                *(snmp.send(alert(alert_id=n), config, None, context(timeout=20)) for n in range(30))
            )
            assert results == [OK] * 30
            traps = await receiver.wait_for(31)
            assert len(os.listdir("/proc/self/fd")) == descriptors
        finally:
            gc.enable()
    assert sorted(dict((o, v) for o, _, v in t.varbinds)[f"{P}.1.1.0"] for t in traps[1:]) == sorted(
        str(n) for n in range(30)
    )
    assert sum(t.name.startswith("pulse-snmp") for t in threading.enumerate()) <= snmp._EXECUTOR._max_workers


def test_render_is_the_varbind_list():
    assert snmp.render(alert(severity=3, summary="x" * 2000), snmp.Config(host="h"))[4:6] == [
        (f"{P}.1.4.0", "Integer32", 2),
        (f"{P}.1.5.0", "OctetString", "x" * snmp.MAX_TEXT),
    ]


@pytest.mark.parametrize(
    "config",
    [
        snmp.Config(host="h"),
        v3(162, auth_protocol="MD5", priv_protocol="DES", engine_id="80001f8880a1b2c3d4"),
    ],
)
def test_stored_config_validates_again(config):
    """The API stores every field, defaults included; the worker validates that again."""
    assert snmp.Config.model_validate(configs.stored(config)) == config


def test_valid_v3_config_keeps_secrets_out_of_its_repr():
    config = v3(162, auth_protocol="SHA512", priv_protocol="AES256")
    assert AUTH_PASSWORD not in repr(config) and PRIV_PASSWORD not in repr(config)
    assert config.engine_id == snmp.DEFAULT_ENGINE_ID


V3 = {
    "host": "h",
    "version": "3",
    "username": "u",
    "auth_password": AUTH_PASSWORD,
    "priv_password": PRIV_PASSWORD,
}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({**V3, "username": None}, "username"),
        ({"host": "h", "version": "3"}, "username"),
        ({**V3, "auth_protocol": "none", "auth_password": None}, "priv_protocol"),
        ({**V3, "auth_password": None}, "auth_password"),
        ({**V3, "priv_password": None}, "priv_password"),
        ({**V3, "priv_protocol": "none"}, "priv_password"),  # a key that would be ignored
        ({**V3, "auth_password": "short"}, "auth_password"),
        ({**V3, "priv_password": "short"}, "priv_password"),
        ({**V3, "auth_protocol": "SHA1"}, "auth_protocol"),
        ({**V3, "priv_protocol": "3DES"}, "priv_protocol"),
        ({**V3, "engine_id": "abc"}, "engine_id"),
        ({"host": "h", "username": "u"}, "username"),
        ({"host": "h", "auth_password": AUTH_PASSWORD}, "auth_password"),
        ({"host": "h", "priv_password": PRIV_PASSWORD}, "priv_password"),
        ({"host": "h", "community": ""}, "community"),
        ({"host": "h", "oid_prefix": "1.3.6.x"}, "oid_prefix"),
        ({"host": "h", "oid_prefix": "1.3..6"}, "oid_prefix"),
        ({"host": "h", "oid_prefix": "3.1.2"}, "oid_prefix"),
        ({"host": "h", "oid_prefix": "1.40.2"}, "oid_prefix"),
        ({"host": "h", "oid_prefix": "1.3.6.1.4.1.4294967296"}, "oid_prefix"),
        ({"host": "h", "oid_prefix": ".".join(["1"] * 101)}, "oid_prefix"),
        ({"host": "h", "version": "1"}, "version"),
        ({"host": "h", "port": 0}, "port"),
        ({"host": "h/x"}, "host"),
        ({}, "host"),
        ({"host": "h", "url": "x"}, "url"),
    ],
)
def test_invalid_config_names_the_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        snmp.Config.model_validate(raw)
    assert field in {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert AUTH_PASSWORD not in str(caught.value) and PRIV_PASSWORD not in str(caught.value)
