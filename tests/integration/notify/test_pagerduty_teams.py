"""PagerDuty and Teams channels through the engine against local receivers: payloads, classification,
secrets kept out of stored errors, and a full OPEN → ACKNOWLEDGED → CLOSED lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from pulse.notify.channels import pagerduty, teams
from pulse.notify.dispatch import Dispatcher
from pulse.notify.events import AlertEvent
from tests.factories import make_alert, make_integration
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch, set_status

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
TEAMS_TOKEN = "webhookb2/abc-123@def/IncomingWebhook/t0ken5ecret/456"
ALL_EVENTS = ["OPEN", "ACKNOWLEDGED", "CLOSED"]


def later() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def config_for(kind: str, receiver: Receiver) -> tuple[dict, list[str]]:
    """(config_json, the secret strings that must never be stored)."""
    if kind == "pagerduty":
        return {"routing_key": ROUTING_KEY, "url": receiver.url}, [ROUTING_KEY]
    url = f"{receiver.url}/{TEAMS_TOKEN}"
    return {"url": url}, [url, TEAMS_TOKEN, "t0ken5ecret"]


async def run_due(worker, now: datetime) -> int:
    jobs = await worker.claim(10, now)
    for job in jobs:
        await worker.process(job, now)
    return len(jobs)


async def jobs_and_attempts(pool):
    jobs = await fetch(pool, "SELECT * FROM delivery_jobs ORDER BY job_id")
    attempts = await fetch(pool, "SELECT * FROM delivery_attempts ORDER BY job_id, attempt_no")
    return jobs, attempts


def expected_body(kind: str, job, config: dict) -> dict:
    payload = job["payload_json"]
    payload = orjson.loads(payload) if isinstance(payload, str) else payload
    event = AlertEvent.from_json(payload["event"])
    channel = {"pagerduty": pagerduty, "teams": teams}[kind]
    return orjson.loads(orjson.dumps(channel.render(event, channel.Config.model_validate(config))))


@pytest.mark.parametrize(("kind", "ok_status"), [("pagerduty", 202), ("teams", 200)])
async def test_lifecycle_end_to_end(pool, tenant, make_worker, kind, ok_status):
    async with Receiver(Answer(ok_status)) as receiver:
        config, _ = config_for(kind, receiver)
        await make_integration(pool, tenant, config, kind=kind, deliver_on=ALL_EVENTS)
        alert_id = await make_alert(pool, tenant, severity=4)
        worker = make_worker()
        for status in (None, "ACKNOWLEDGED", "CLOSED"):
            if status:
                await set_status(pool, tenant, alert_id, status)
            assert await dispatch(pool, Dispatcher()) == 1
            assert await run_due(worker, later()) == 1
    jobs, attempts = await jobs_and_attempts(pool)
    assert [j["status"] for j in jobs] == ["COMPLETED"] * 3
    assert [(a["ok"], a["http_status"], a["reason"]) for a in attempts] == [(True, ok_status, "ok")] * 3
    bodies = [r.json() for r in receiver.requests]
    assert len(bodies) == 3
    assert all(r.path.startswith("/hook") for r in receiver.requests)
    for body, job in zip(bodies, jobs, strict=True):
        assert body == expected_body(kind, job, config)
    if kind == "pagerduty":
        assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve"]
        assert {b["dedup_key"] for b in bodies} == {f"alert-{alert_id}"}
        assert {b["routing_key"] for b in bodies} == {ROUTING_KEY}
        assert {b["payload"]["severity"] for b in bodies} == {"error"}
        assert {b["payload"]["source"] for b in bodies} == {"dev-1"}
        assert [b["payload"]["custom_details"]["status"] for b in bodies] == [
            "OPEN",
            "ACKNOWLEDGED",
            "CLOSED",
        ]
    else:
        assert {b["@type"] for b in bodies} == {"MessageCard"}
        assert [b["themeColor"] for b in bodies] == ["f9a825", "f9a825", "2e7d32"]
        assert [b["title"].split(":")[0] for b in bodies] == [
            "[WARNING] Alert",
            "[WARNING] Acknowledged",
            "[WARNING] Resolved",
        ]
        facts = {f["name"]: f["value"] for f in bodies[1]["sections"][0]["facts"]}
        assert facts == {
            "Device": "dev-1",
            "Site": "site-1",
            "Severity": "4 (WARNING)",
            "Status": "ACKNOWLEDGED",
            "Alert type": "THRESHOLD",
        }


@pytest.mark.parametrize(
    ("kind", "status", "job_status", "ok", "reason"),
    [
        ("pagerduty", 202, "COMPLETED", True, "ok"),
        ("pagerduty", 429, "PENDING", False, "rate_limited"),
        ("pagerduty", 500, "PENDING", False, "server_error"),
        ("pagerduty", 400, "FAILED", False, "client_error"),
        ("teams", 200, "COMPLETED", True, "ok"),
        ("teams", 429, "PENDING", False, "rate_limited"),
        ("teams", 500, "PENDING", False, "server_error"),
        ("teams", 400, "FAILED", False, "client_error"),
    ],
)
async def test_classification_and_secrets_never_stored(
    pool, tenant, make_worker, kind, status, job_status, ok, reason
):
    async with Receiver() as receiver:
        config, secrets = config_for(kind, receiver)
        # the provider's error body echoes every secret it was sent
        receiver.script = [Answer(status, body=f"error echo {' '.join(secrets)} {config}")]
        await make_integration(pool, tenant, config, kind=kind)
        await make_alert(pool, tenant)
        assert await dispatch(pool, Dispatcher()) == 1
        assert await run_due(make_worker(), later()) == 1
    assert len(receiver.requests) == 1
    (job,), (attempt,) = await jobs_and_attempts(pool)
    assert job["status"] == job_status and job["attempts"] == 1
    assert attempt["ok"] is ok and attempt["http_status"] == status and attempt["reason"] == reason
    if ok:
        assert job["last_error"] is None and attempt["error"] is None
    else:
        assert job["last_error"].startswith(reason) and attempt["error"].startswith(reason)
    if status == 400:
        assert "http_400" in job["last_error"]
    stored = " ".join(str(v) for row in (job, attempt) for k, v in row.items() if k != "payload_json")
    for secret in secrets:
        assert secret not in stored


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("pagerduty", {"url": "https://events.pagerduty.com/v2/enqueue"}),
        ("teams", {"webhook_url": "https://x"}),
    ],
)
async def test_config_checks_in_the_database(pool, tenant, kind, config):
    with pytest.raises(asyncpg.CheckViolationError):
        await make_integration(pool, tenant, config, kind=kind)


async def test_unknown_type_still_refused(pool, tenant):
    with pytest.raises(asyncpg.CheckViolationError):
        await make_integration(pool, tenant, {"url": "https://x"}, kind="opsgenie")
