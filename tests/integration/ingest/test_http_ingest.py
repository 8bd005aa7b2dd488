"""HTTP ingest: status codes, bodies, limits, and that a 202 means the row is committed."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import orjson
import pytest

from pulse.api.app import create_app
from pulse.api.routes import ingest as ingest_routes
from pulse.db.tx import operator_tx
from pulse.ingest.pipeline import build_ingestor, wait_for_limits
from pulse.provisioning.devices import set_device_status
from tests.factories import Device, make_device


@pytest.fixture
async def client(settings, pool):
    ingestor = build_ingestor(settings, pool, "http")
    await wait_for_limits(ingestor)
    writer = asyncio.create_task(ingestor.writer.run())
    app = create_app(settings, pool)
    ingest_routes.mount(app, ingestor)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


def _url(device: Device, msg_type: str = "telemetry") -> str:
    return f"/ingest/v1/tenant/{device.tenant_id}/device/{device.device_id}/{msg_type}"


def _body(device: Device, **extra) -> dict:
    return {"site_id": device.site_id, "seq": 7, "metrics": {"temp_c": 20.5}} | extra


async def _count(pool, table: str) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = 'acme'")


async def test_accepted_means_committed(client, pool, device: Device) -> None:
    response = await client.post(
        _url(device), json=_body(device), headers={"X-Provision-Token": device.token}
    )
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "device_id": device.device_id, "seq": 7}
    assert await _count(pool, "telemetry") == 1  # no waiting: the 202 came after the commit
    async with operator_tx(pool, "test") as conn:
        assert (
            await conn.fetchval("SELECT status FROM device_state WHERE device_id = $1", device.device_id)
            == "ONLINE"
        )


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("no token", 401, "TOKEN_MISSING"),
        ("wrong token", 401, "TOKEN_INVALID"),
        ("unregistered", 403, "UNREGISTERED_DEVICE"),
        ("other site", 400, "SITE_MISMATCH_REGISTRY_VS_PAYLOAD"),
        ("no site", 400, "MISSING_SITE_ID"),
        ("bad msg type", 400, "INVALID_MSG_TYPE"),
        ("not json", 400, "INVALID_JSON"),
        ("not an object", 400, "INVALID_JSON"),
        ("NaN", 422, "INVALID_ENVELOPE"),
        ("future ts", 422, "INVALID_ENVELOPE"),
        ("tenant mismatch", 400, "TENANT_MISMATCH_TOPIC_VS_PAYLOAD"),
        ("too large", 400, "PAYLOAD_TOO_LARGE"),
        ("bad device id", 400, "BAD_TOPIC_FORMAT"),
    ],
)
async def test_rejections(client, pool, device: Device, case: str, status: int, error: str) -> None:
    url, headers = _url(device), {"X-Provision-Token": device.token}
    content = orjson.dumps(_body(device))
    match case:
        case "no token":
            headers = {}
        case "wrong token":
            headers = {"X-Provision-Token": "not-the-token"}
        case "unregistered":
            url = url.replace(device.device_id, "ghost")
        case "other site":
            content = orjson.dumps(_body(device, site_id="elsewhere"))
        case "no site":
            content = orjson.dumps({"metrics": {}})
        case "bad msg type":
            url = _url(device, "firmware")
        case "not json":
            content = b"\xff{not json"
        case "not an object":
            content = b"[1, 2, 3]"
        case "NaN":
            content = orjson.dumps(_body(device)).replace(b"20.5", b"NaN")
        case "future ts":
            content = orjson.dumps(_body(device, ts="2999-01-01T00:00:00Z"))
        case "tenant mismatch":
            content = orjson.dumps(_body(device, tenant_id="someone-else"))
        case "too large":
            content = orjson.dumps(
                _body(device, metrics={"blob": "x" * 1000, **{f"k{i}": i for i in range(2000)}})
            )
        case "bad device id":
            url = url.replace(device.device_id, "bad%20id")
    response = await client.post(url, content=content, headers=headers | {"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert await _count(pool, "telemetry") == 0
    async with operator_tx(pool, "test") as conn:
        reasons = await conn.fetch("SELECT reason FROM quarantine_events")
    assert [r["reason"] for r in reasons] == [error]  # every rejection is quarantined


async def test_revoked_device(client, pool, device: Device) -> None:
    async with operator_tx(pool, "test") as conn:
        await set_device_status(conn, "acme", device.device_id, "REVOKED")
    await asyncio.sleep(0)  # the cache has not seen this device yet
    response = await client.post(
        _url(device), json=_body(device), headers={"X-Provision-Token": device.token}
    )
    assert (response.status_code, response.json()["error"]) == (403, "DEVICE_REVOKED")


async def test_device_rate_limit_has_retry_after(client, device: Device) -> None:
    statuses = []
    for _ in range(8):
        r = await client.post(_url(device), json=_body(device), headers={"X-Provision-Token": device.token})
        statuses.append(r.status_code)
    assert statuses.count(202) == 5  # PULSE_INGEST_HTTP_DEVICE_LIMIT per second
    limited = await client.post(_url(device), json=_body(device), headers={"X-Provision-Token": device.token})
    assert limited.status_code == 429
    assert limited.json()["error"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1


async def test_unknown_devices_are_limited_per_ip(client) -> None:
    statuses = [
        (
            await client.post(f"/ingest/v1/tenant/acme/device/ghost-{i}/telemetry", json={"site_id": "s"})
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [403] * 10  # UNREGISTERED_DEVICE, quarantined
    assert statuses[10:] == [429, 429]


async def test_batch(client, pool, device: Device) -> None:
    other = await make_device(pool, "acme", "dev-2", "site-1")
    messages = [
        {"tenant_id": "acme", "device_id": device.device_id, "provision_token": device.token, "site_id": "site-1", "seq": 1},
        {"tenant_id": "acme", "device_id": other.device_id, "provision_token": other.token, "site_id": "site-1",
         "msg_type": "heartbeat"},
        {"tenant_id": "acme", "device_id": other.device_id, "provision_token": "wrong", "site_id": "site-1"},
        {"tenant_id": "acme", "device_id": "ghost", "provision_token": "x", "site_id": "site-1"},
        "not an object",
        {"device_id": "no-tenant"},
    ]  # fmt: skip
    response = await client.post("/ingest/v1/batch", json={"messages": messages})
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert [r["reason"] for r in body["results"]] == [
        None, None, "TOKEN_INVALID", "UNREGISTERED_DEVICE", "BAD_TOPIC_FORMAT", "BAD_TOPIC_FORMAT",
    ]  # fmt: skip
    assert body["results"][0] == {
        "index": 0,
        "status": "accepted",
        "reason": None,
        "detail": None,
        "device_id": "dev-1",
    }
    assert await _count(pool, "telemetry") == 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"messages": []}, 400, "batch_empty"),
        ({"messages": [{"device_id": "x"}] * 101}, 400, "batch_too_large"),
        ({"nothing": 1}, 422, "invalid_request"),
        ([1, 2], 422, "invalid_request"),
    ],
)
async def test_batch_shape_errors(client, body, status: int, error: str) -> None:
    response = await client.post("/ingest/v1/batch", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)


async def test_batch_all_rejected_is_400(client, device: Device) -> None:
    messages = [
        {"tenant_id": "acme", "device_id": device.device_id, "provision_token": "bad", "site_id": "site-1"}
    ]
    response = await client.post("/ingest/v1/batch", json={"messages": messages})
    assert response.status_code == 400
    assert response.json()["rejected"] == 1


async def test_batch_invalid_json(client) -> None:
    response = await client.post(
        "/ingest/v1/batch", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "INVALID_JSON")


async def test_tokenless_flood_does_not_rate_limit_the_device(client, pool, device: Device) -> None:
    statuses = []
    for _ in range(5):
        for _ in range(6):
            await client.post(_url(device), json=_body(device))  # no token
        r = await client.post(_url(device), json=_body(device), headers={"X-Provision-Token": device.token})
        statuses.append(r.status_code)
    assert statuses == [202] * 5
    assert await _count(pool, "telemetry") == 5


async def test_unauthenticated_answers_are_limited_per_client(client, device: Device) -> None:
    errors = [
        (await client.post(_url(device), json=_body(device, site_id=f"s{i}"))).json()["error"]
        for i in range(12)
    ]
    # Which site the device is at cannot be searched for faster than the unknown-device limit.
    assert errors == ["SITE_MISMATCH_REGISTRY_VS_PAYLOAD"] * 10 + ["RATE_LIMITED"] * 2


async def test_batch_applies_the_unknown_device_limit(client, pool, device: Device) -> None:
    ghosts = [
        {"tenant_id": "acme", "device_id": f"ghost-{i}", "provision_token": "x", "site_id": "s"}
        for i in range(8)
    ]
    first = await client.post("/ingest/v1/batch", json={"messages": ghosts})
    assert [r["reason"] for r in first.json()["results"]] == ["UNREGISTERED_DEVICE"] * 8
    second = await client.post("/ingest/v1/batch", json={"messages": ghosts})
    assert (second.status_code, second.json()["error"]) == (429, "RATE_LIMITED")
    assert "Retry-After" in second.headers
    genuine = {"tenant_id": "acme", "device_id": device.device_id, "provision_token": device.token,
               "site_id": device.site_id}  # fmt: skip
    third = await client.post("/ingest/v1/batch", json={"messages": [genuine]})
    assert third.status_code == 202  # a client's known devices are not held up


@pytest.mark.parametrize(
    ("peer", "forwarded", "client_ip"),
    [
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),  # the client wrote 6.6.6.6
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.1.2.3"], "203.0.113.9"),  # two trusted proxies
        ("127.0.0.1", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),  # the header twice
        ("198.51.100.7", ["6.6.6.6"], "198.51.100.7"),  # not from a proxy: the header is the client's
        ("127.0.0.1", [], "127.0.0.1"),
    ],
)
def test_forwarded_for_takes_the_right_most_untrusted_hop(settings, peer, forwarded, client_ip) -> None:
    from starlette.requests import Request

    limits = ingest_routes.HttpLimits(
        settings.model_copy(
            update={
                "ingest_trust_forwarded_for": True,
                "ingest_trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"],
            }
        )
    )
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    request = Request({"type": "http", "headers": headers, "client": (peer, 4000)})
    assert limits.client_ip(request) == client_ip
