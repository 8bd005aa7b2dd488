"""Delivery jobs against local receivers: signing, retries, Retry-After, dead letters, claims."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from pulse.notify.dispatch import Dispatcher
from tests.factories import make_alert, make_integration
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def later() -> datetime:
    """A clock a minute ahead: jobs the test creates next are due then (next_run_at defaults to now)."""
    return datetime.now(UTC) + timedelta(minutes=1)


def verify_standard(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig == f"v1,{expected}" for sig in headers["webhook-signature"].split())


async def one_job(pool, tenant, receiver: Receiver, **config) -> int:
    await make_integration(pool, tenant, {"url": receiver.url, **config})
    await make_alert(pool, tenant)
    assert await dispatch(pool, Dispatcher()) == 1
    (job,) = await fetch(pool, "SELECT job_id FROM delivery_jobs")
    return job["job_id"]


async def job_row(pool, job_id: int):
    (row,) = await fetch(pool, "SELECT * FROM delivery_jobs WHERE job_id = $1", job_id)
    return row


async def attempt_rows(pool, job_id: int):
    return await fetch(pool, "SELECT * FROM delivery_attempts WHERE job_id = $1 ORDER BY attempt_no", job_id)


async def run_due(worker, now: datetime) -> int:
    jobs = await worker.claim(10, now)
    for job in jobs:
        await worker.process(job, now)
    return len(jobs)


async def test_signed_delivery_and_completion(pool, tenant, make_worker):
    t0 = later()
    async with Receiver() as receiver:
        job_id = await one_job(pool, tenant, receiver, secret=SECRET, headers={"X-Team": "ops"})
        worker = make_worker()
        assert await run_due(worker, t0) == 1
    (request,) = receiver.requests
    assert verify_standard(SECRET, request.headers, request.body)
    legacy = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-signature-sha256"] == legacy
    assert request.headers["x-team"] == "ops"
    assert request.headers["webhook-id"] == f"pulse-job-{job_id}"
    body = request.json()
    assert body["event"] == "OPEN" and body["tenant_id"] == tenant and body["severity_label"] == "CRITICAL"
    job = await job_row(pool, job_id)
    assert job["status"] == "COMPLETED" and job["attempts"] == 1 and job["last_error"] is None
    (attempt,) = await attempt_rows(pool, job_id)
    assert attempt["ok"] and attempt["http_status"] == 200 and attempt["reason"] == "ok"


async def test_500_is_retried_with_backoff_then_delivered_once(pool, tenant, make_worker):
    t0 = later()
    async with Receiver(Answer(500), Answer(200)) as receiver:
        job_id = await one_job(pool, tenant, receiver)
        worker = make_worker()
        assert await run_due(worker, t0) == 1
        job = await job_row(pool, job_id)
        assert job["status"] == "PENDING" and job["attempts"] == 1
        assert t0 <= job["next_run_at"] <= t0 + timedelta(seconds=10)  # full jitter below base·2^0
        assert job["last_error"].startswith("server_error")
        assert await run_due(worker, t0 - timedelta(seconds=1)) == 0  # not due yet
        assert await run_due(worker, t0 + timedelta(seconds=11)) == 1
        assert await run_due(worker, t0 + timedelta(hours=5)) == 0
    assert len(receiver.requests) == 2
    assert (await job_row(pool, job_id))["status"] == "COMPLETED"
    attempts = await attempt_rows(pool, job_id)
    assert [(a["attempt_no"], a["ok"], a["http_status"]) for a in attempts] == [
        (1, False, 500),
        (2, True, 200),
    ]


async def test_retry_after_is_honoured(pool, tenant, make_worker):
    t0 = later()
    async with Receiver(Answer(429, {"Retry-After": "120"}), Answer(200)) as receiver:
        job_id = await one_job(pool, tenant, receiver)
        worker = make_worker()
        await run_due(worker, t0)
        job = await job_row(pool, job_id)
        assert job["status"] == "PENDING" and job["next_run_at"] >= t0 + timedelta(seconds=120)
        assert await run_due(worker, t0 + timedelta(seconds=119)) == 0
        assert await run_due(worker, t0 + timedelta(seconds=121)) == 1
    (first, second) = await attempt_rows(pool, job_id)
    assert first["reason"] == "rate_limited" and first["http_status"] == 429 and second["ok"]


async def test_permanent_4xx_fails_after_one_attempt(pool, tenant, make_worker):
    t0 = later()
    async with Receiver(Answer(404, body="no such hook")) as receiver:
        job_id = await one_job(pool, tenant, receiver)
        await run_due(make_worker(), t0)
        assert await run_due(make_worker(), t0 + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1
    job = await job_row(pool, job_id)
    assert job["status"] == "FAILED" and job["attempts"] == 1 and "http_404" in job["last_error"]
    (attempt,) = await attempt_rows(pool, job_id)
    assert not attempt["ok"] and attempt["http_status"] == 404 and attempt["reason"] == "client_error"


async def test_last_attempt_ends_in_failed(pool, tenant, make_worker):
    t0 = later()
    async with Receiver(Answer(503)) as receiver:
        job_id = await one_job(pool, tenant, receiver)
        worker = make_worker()
        now = t0
        for _ in range(10):
            await run_due(worker, now)
            now += timedelta(hours=3)
    assert len(receiver.requests) == 5
    job = await job_row(pool, job_id)
    assert job["status"] == "FAILED" and job["attempts"] == 5
    assert [a["attempt_no"] for a in await attempt_rows(pool, job_id)] == [1, 2, 3, 4, 5]


async def test_two_workers_never_deliver_a_job_twice(pool, tenant, make_worker):
    t0 = later()
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url})
        for _ in range(20):
            await make_alert(pool, tenant)
        assert await dispatch(pool, Dispatcher()) == 20

        async def drain(worker):
            while jobs := await worker.claim(3, t0):
                await asyncio.gather(*(worker.process(j, t0) for j in jobs))

        await asyncio.gather(drain(make_worker()), drain(make_worker()))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 20 and len(set(ids)) == 20
    rows = await fetch(pool, "SELECT status, attempts, count(*) AS n FROM delivery_jobs GROUP BY 1, 2")
    assert [(r["status"], r["attempts"], r["n"]) for r in rows] == [("COMPLETED", 1, 20)]


async def test_stuck_job_is_reclaimed_and_delivered_once(pool, tenant, make_worker):
    t0 = later()
    async with Receiver() as receiver:
        job_id = await one_job(pool, tenant, receiver)
        dead = make_worker(name="dead-worker")
        assert len(await dead.claim(10, t0)) == 1  # claimed, then the worker "dies"
        alive = make_worker()
        assert await alive.reclaim(t0 + timedelta(seconds=299)) == 0
        assert await run_due(alive, t0 + timedelta(seconds=299)) == 0
        assert await alive.reclaim(t0 + timedelta(seconds=301)) == 1
        assert await run_due(alive, t0 + timedelta(seconds=301)) == 1
    assert len(receiver.requests) == 1
    job = await job_row(pool, job_id)
    assert job["status"] == "COMPLETED" and job["attempts"] == 1 and job["locked_by"] is None


async def test_secrets_never_reach_errors(pool, tenant, make_worker):
    t0 = later()
    slack_secret = "T000/B000/XXXXsecretXXXX"
    # Each receiver echoes its credential in a 400 body, as a careless provider might.
    async with (
        Receiver(Answer(400, body=f"bad signature for {SECRET}")) as receiver,
        Receiver(Answer(400, body=f"no_service /hook/{slack_secret}")) as slack,
    ):
        await make_integration(pool, tenant, {"url": receiver.url, "secret": SECRET})
        await make_integration(pool, tenant, {"url": f"{slack.url}/{slack_secret}"}, kind="slack")
        await make_alert(pool, tenant)
        assert await dispatch(pool, Dispatcher()) == 2
        await run_due(make_worker(), t0)
    assert len(receiver.requests) == len(slack.requests) == 1
    jobs = await fetch(pool, "SELECT status, last_error FROM delivery_jobs")
    attempts = await fetch(pool, "SELECT error, reason FROM delivery_attempts")
    assert {j["status"] for j in jobs} == {"FAILED"}
    for text in [j["last_error"] for j in jobs] + [a["error"] for a in attempts]:
        assert SECRET not in text and slack_secret not in text and "secret" not in text.lower()


async def test_ssrf_targets_are_refused_without_a_request(pool, tenant, make_worker):
    t0 = later()
    from pulse.notify import ssrf

    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://127.0.0.1:9/hook"):
        await make_integration(pool, tenant, {"url": url})
    await make_alert(pool, tenant)
    assert await dispatch(pool, Dispatcher()) == 3
    await run_due(make_worker(policy=ssrf.Policy()), t0)
    rows = await fetch(pool, "SELECT status, attempts, last_error FROM delivery_jobs ORDER BY job_id")
    assert all(r["status"] == "FAILED" and r["attempts"] == 1 for r in rows)
    errors = sorted(r["last_error"] for r in rows)
    assert [e.split(":")[0] for e in errors] == ["ssrf_blocked"] * 3
    assert any("link_local address 169.254.169.254" in e for e in errors)
    assert any("private address 10.0.0.1" in e for e in errors)
    assert any("loopback address 127.0.0.1" in e for e in errors)


async def test_slack_payload(pool, tenant, make_worker):
    t0 = later()
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url + "/services/T/B/x"}, kind="slack")
        await make_alert(pool, tenant, severity=3, device_id="pump-7")
        await dispatch(pool, Dispatcher())
        await run_due(make_worker(), t0)
    (request,) = receiver.requests
    body = request.json()
    assert request.path == "/hook/services/T/B/x"
    assert body["text"] == "[WARNING] Alert: THRESHOLD on pump-7"
    (attachment,) = body["attachments"]
    assert attachment["title"] == "temp_c above 30" and attachment["color"] == "#f9a825"
    assert {f["title"]: f["value"] for f in attachment["fields"]}["Device"] == "pump-7"
