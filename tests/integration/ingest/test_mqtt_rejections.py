"""Every reason code from a real publish; rate limits; revocation; hostile input."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from pulse.db.tx import operator_tx
from pulse.provisioning.devices import register_device, set_device_status
from tests.factories import Device, make_device
from tests.integration.ingest.helpers import publish, wait_for


async def _reasons(pool, device_id: str | None = None) -> list[str]:
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetch(
            "SELECT reason FROM quarantine_events WHERE tenant_id = 'acme' AND ($1::text IS NULL OR device_id = $1) "
            "ORDER BY id",
            device_id,
        )
    return [r["reason"] for r in rows]


async def _accepted(pool, device_id: str) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval("SELECT count(*) FROM telemetry WHERE device_id = $1", device_id)


CASES = [
    "PAYLOAD_TOO_LARGE",
    "BAD_TOPIC_FORMAT",
    "INVALID_JSON",
    "INVALID_ENVELOPE",
    "TENANT_MISMATCH_TOPIC_VS_PAYLOAD",
    "MISSING_SITE_ID",
    "UNREGISTERED_DEVICE",
    "TENANT_SUSPENDED",
    "SUBSCRIPTION_SUSPENDED",
    "SUBSCRIPTION_EXPIRED",
    "DEVICE_REVOKED",
    "SITE_MISMATCH_REGISTRY_VS_PAYLOAD",
    "TOKEN_NOT_SET_IN_REGISTRY",
    "TOKEN_MISSING",
    "TOKEN_INVALID",
]


@pytest.mark.parametrize("reason", CASES)
async def test_reason_code_from_a_real_publish(
    ingest, ingest_settings, pool, device: Device, reason: str
) -> None:
    topic, payload = device.topic, device.payload()
    async with operator_tx(pool, "test") as conn:
        match reason:
            case "PAYLOAD_TOO_LARGE":
                payload = device.payload(metrics={"blob": "x" * 20_000})
            case "BAD_TOPIC_FORMAT":
                topic = topic.replace(device.device_id, "dev 1")
            case "INVALID_JSON":
                payload = b"{truncated"
            case "INVALID_ENVELOPE":
                payload = device.payload(seq="not a number")
            case "TENANT_MISMATCH_TOPIC_VS_PAYLOAD":
                payload = device.payload(tenant_id="globex")
            case "MISSING_SITE_ID":
                payload = device.payload(site_id="")
            case "UNREGISTERED_DEVICE":
                topic = topic.replace(device.device_id, "ghost")
            case "TENANT_SUSPENDED":
                await conn.execute("UPDATE tenants SET status = 'SUSPENDED'")
            case "SUBSCRIPTION_SUSPENDED":
                await conn.execute("UPDATE subscriptions SET status = 'SUSPENDED'")
            case "SUBSCRIPTION_EXPIRED":
                await conn.execute("UPDATE subscriptions SET status = 'EXPIRED'")
            case "DEVICE_REVOKED":
                await set_device_status(conn, "acme", device.device_id, "REVOKED")
            case "SITE_MISMATCH_REGISTRY_VS_PAYLOAD":
                payload = device.payload(site_id="site-9")
            case "TOKEN_NOT_SET_IN_REGISTRY":
                await register_device(conn, "acme", "no-token", "site-1", credential="activation")
                topic = topic.replace(device.device_id, "no-token")
            case "TOKEN_MISSING":
                payload = orjson.dumps({"site_id": device.site_id, "metrics": {"t": 1}})
            case "TOKEN_INVALID":
                payload = device.payload(provision_token="guess")
    await publish(ingest_settings, [(topic, payload)])
    assert await wait_for(lambda: _reasons(pool)) == [reason]
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT count(*) FROM device_state") == 0  # rejected: state untouched
        assert await conn.fetchval("SELECT count(*) FROM telemetry WHERE tenant_id = 'acme'") == 0
        counted = await conn.fetchval(
            "SELECT sum(cnt) FROM quarantine_counters_minute WHERE reason = $1 AND tenant_id = 'acme'", reason
        )
    assert counted == 1


async def test_rate_limited_device_does_not_slow_others(
    ingest, ingest_settings, pool, device: Device
) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE app_settings SET value = '0.01' WHERE key = 'RATE_LIMIT_RPS'")
        await conn.execute("UPDATE app_settings SET value = '5' WHERE key = 'RATE_LIMIT_BURST'")
    await asyncio.sleep(0.5)  # ingest re-reads app_settings every 0.2 s in tests
    quiet = await make_device(pool, "acme", "dev-quiet", "site-1")
    messages = []
    for i in range(20):
        messages.append((device.topic, device.payload(seq=i)))
        if i % 5 == 0:
            messages.append((quiet.topic, quiet.payload(seq=i)))
    await publish(ingest_settings, messages)
    await wait_for(lambda: _count_at_least(pool, 24))
    assert await _accepted(pool, device.device_id) == 5
    assert await _reasons(pool, device.device_id) == ["RATE_LIMITED"] * 15
    assert await _accepted(pool, quiet.device_id) == 4


async def _count_at_least(pool, n: int) -> bool:
    async with operator_tx(pool, "test") as conn:
        rows = await conn.fetchval("SELECT count(*) FROM telemetry WHERE tenant_id = 'acme'")
        rejected = await conn.fetchval("SELECT count(*) FROM quarantine_events WHERE tenant_id = 'acme'")
    return rows + rejected >= n


async def test_revocation_takes_effect_within_the_cache_ttl(
    ingest, ingest_settings, pool, device: Device
) -> None:
    await publish(ingest_settings, [(device.topic, device.payload(seq=1))])
    await wait_for(lambda: _accepted(pool, device.device_id))
    async with operator_tx(pool, "test") as conn:
        await set_device_status(conn, "acme", device.device_id, "REVOKED")
    await asyncio.sleep(ingest_settings.ingest_auth_cache_ttl + 0.1)
    await publish(ingest_settings, [(device.topic, device.payload(seq=2))])
    assert await wait_for(lambda: _reasons(pool)) == ["DEVICE_REVOKED"]
    assert await _accepted(pool, device.device_id) == 1


HOSTILE = [
    ("1 MB payload", None, b"{" + b'"k": "' + b"x" * 1_000_000 + b'"}', "PAYLOAD_TOO_LARGE"),
    ("deep nesting", None, b'{"metrics": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2001, "INVALID_JSON"),
    ("shallow but too deep", None, b'{"site_id": "site-1", "metrics": ' + b'{"a": ' * 8 + b"1" + b"}" * 9, "INVALID_ENVELOPE"),
    ("non-UTF-8", None, b'{"site_id": "\xff\xfe"}', "INVALID_JSON"),
    ("NaN", None, b'{"site_id": "site-1", "metrics": {"t": NaN}}', "INVALID_ENVELOPE"),
    ("Infinity", None, b'{"site_id": "site-1", "metrics": {"t": -Infinity}}', "INVALID_ENVELOPE"),
    ("10,000 metric keys", None, orjson.dumps({"metrics": {f"m{i}": i for i in range(10_000)}}), "PAYLOAD_TOO_LARGE"),
    ("300 metric keys", None, orjson.dumps({"site_id": "site-1", "metrics": {f"m{i}": i for i in range(300)}}), "INVALID_ENVELOPE"),
    ("NUL in a string", None, b'{"site_id": "site-1", "metrics": {"t": "a\\u0000b"}}', "INVALID_ENVELOPE"),
    ("odd Unicode in topic", "tenant/acme/device/d\u00e9v\u202e\U0001f600/telemetry", b"{}", "BAD_TOPIC_FORMAT"),
    ("empty payload", None, b"", "INVALID_JSON"),
    ("JSON null", None, b"null", "INVALID_JSON"),
]  # fmt: skip


async def test_hostile_input_is_quarantined_and_ingest_keeps_going(
    ingest, ingest_settings, pool, device: Device
) -> None:
    messages = [(topic or device.topic, payload) for _, topic, payload, _ in HOSTILE]
    sql_like = {"note": "'; DROP TABLE telemetry; --", "q": "1 OR 1=1", "u": "\u202e\U0001f600 ok"}
    messages.append((device.topic, device.payload(seq=99, metrics=sql_like)))
    await publish(ingest_settings, messages)
    reasons = await wait_for(lambda: _reasons_if(pool, len(HOSTILE)))
    assert sorted(reasons) == sorted(r for *_, r in HOSTILE)
    assert not ingest.done(), "the ingest service must survive hostile input"
    async with operator_tx(pool, "test") as conn:
        stored = await wait_for(lambda: conn.fetchval("SELECT metrics FROM telemetry WHERE seq = 99"))
    assert stored == sql_like  # SQL-looking strings are just data


async def _reasons_if(pool, n: int):
    reasons = await _reasons(pool)
    return reasons if len(reasons) >= n else None


async def test_rotated_token_is_refused_within_the_cache_ttl(
    ingest, ingest_settings, pool, device: Device
) -> None:
    from pulse.provisioning.devices import rotate_token

    await publish(ingest_settings, [(device.topic, device.payload(seq=1))])
    await wait_for(lambda: _accepted(pool, device.device_id))  # the old token is now the verified one
    async with operator_tx(pool, "test") as conn:
        new_token = await rotate_token(conn, "acme", device.device_id)
    await asyncio.sleep(ingest_settings.ingest_auth_cache_ttl + 0.1)
    await publish(
        ingest_settings,
        [
            (device.topic, device.payload(seq=2)),
            (device.topic, device.payload(seq=3, provision_token=new_token)),
        ],
    )
    assert await wait_for(lambda: _reasons(pool)) == ["TOKEN_INVALID"]
    assert await wait_for(lambda: _accepted_at_least(pool, device.device_id, 2))


async def _accepted_at_least(pool, device_id: str, n: int) -> bool:
    return await _accepted(pool, device_id) >= n


async def _rejected_total(pool) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            "SELECT coalesce(sum(cnt), 0) FROM quarantine_counters_minute WHERE tenant_id = 'acme'"
        )


async def _settled(pool, device_id: str, accepted: int, rejected: int) -> bool:
    return await _accepted(pool, device_id) >= accepted and await _rejected_total(pool) >= rejected


async def test_tokenless_flood_spends_neither_the_victims_budget_nor_its_quarantine(
    ingest, ingest_settings, pool, device: Device
) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE app_settings SET value = '0.01' WHERE key = 'RATE_LIMIT_RPS'")
        await conn.execute("UPDATE app_settings SET value = '6' WHERE key = 'RATE_LIMIT_BURST'")
    await asyncio.sleep(0.5)  # ingest re-reads app_settings every 0.2 s in tests
    tokenless = orjson.dumps({"site_id": device.site_id, "metrics": {"t": 1}})
    messages = []
    for i in range(5):
        messages += [(device.topic, tokenless)] * 8
        messages.append((device.topic, device.payload(seq=i)))
    # Then the genuine device gets something wrong: its own rejection must still be stored.
    messages.append((device.topic, device.payload(seq=5, site_id="site-9")))
    await publish(ingest_settings, messages)
    await wait_for(lambda: _settled(pool, device.device_id, 5, 41))
    assert await _accepted(pool, device.device_id) == 5  # none RATE_LIMITED by the flood
    reasons = await _reasons(pool, device.device_id)
    assert reasons.count("TOKEN_MISSING") == ingest_settings.ingest_quarantine_per_device_minute
    assert reasons[-1] == "SITE_MISMATCH_REGISTRY_VS_PAYLOAD"  # the victim's share was not used up


async def test_unauthenticated_rejections_are_capped_per_tenant(ingest, ingest_settings, pool) -> None:
    cap = ingest_settings.ingest_quarantine_unauthenticated_per_tenant_minute
    ghosts = [(f"tenant/acme/device/ghost-{i}/telemetry", b'{"site_id": "s"}') for i in range(cap + 20)]
    await publish(ingest_settings, ghosts)
    await wait_for(lambda: _settled(pool, "none", 0, cap + 20))
    assert len(await _reasons(pool)) == cap  # the rest only counted
