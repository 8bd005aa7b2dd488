"""Messages to people: an escalation's person jobs delivered by the notify worker — to the local outbox
without SMTP, through a real SMTP server with it, to a personal Slack route — each carrying a
single-use acknowledge link; the link's pages (confirm, acknowledged, used, expired, forged); a notify
worker killed after sending repeats at most once, with the same message id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pulse.db.tx import operator_tx
from pulse.escalation import ack_links
from pulse.escalation.worker import Escalator
from pulse.notify import ssrf
from pulse.notify.mailer import OUTBOX_DETAIL, Mailer
from tests.factories import make_alert, make_channel, make_person, make_policy, make_tenant
from tests.integration.api.helpers import bearer
from tests.integration.notify.helpers import Receiver
from tests.integration.notify.smtp_server import Recorder, smtp_server

LINK = re.compile(r"http://pulse\.test/ack/([0-9a-f]{32}\.[A-Za-z0-9_-]{32})")


@pytest.fixture
async def tenant(pool) -> str:
    return await make_tenant(pool)


async def escalate(pool, tenant: str, targets: list[dict]) -> int:
    """An alert whose level 1 (to `targets`) has fired; returns the alert id."""
    await make_policy(pool, tenant, [(0, targets), (30, targets)], is_default=True)
    alert_id = await make_alert(pool, tenant)
    await Escalator(pool, base_url="http://pulse.test").fire_due(now=datetime.now(UTC) + timedelta(seconds=1))
    return alert_id


async def deliver_all(worker) -> list:
    results = []
    while jobs := await worker.claim(10):
        for job in jobs:
            results.append(await worker.process(job))
    return results


async def outbox(pool):
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch("SELECT * FROM mail_outbox ORDER BY id")


async def test_without_smtp_mail_to_a_person_lands_in_the_outbox_with_a_working_link(
    pool, tenant, settings, make_worker, app, client
):
    person = await make_person(pool, tenant, email="ann@example.com", username="ann")
    alert_id = await escalate(pool, tenant, [{"type": "user", "id": str(person)}])
    worker = make_worker(mailer=Mailer(settings), base_url="http://pulse.test")
    (result,) = await deliver_all(worker)
    assert result.ok and result.detail == OUTBOX_DETAIL
    (mail,) = await outbox(pool)
    assert mail["to_address"] == "ann@example.com" and mail["tenant_id"] == tenant
    assert "Escalated (level 1)" in mail["subject"]
    token = LINK.search(mail["body_text"]).group(1)
    assert f"http://pulse.test/ack/{token}" in mail["body_html"]

    page = await client.get(f"/ack/{token}")  # a mail scanner's GET acknowledges nothing
    assert page.status_code == 200 and "Acknowledge this alert?" in page.text
    assert await status(pool, alert_id) == "OPEN"
    done = await client.post(f"/ack/{token}")
    assert done.status_code == 200 and "Acknowledged by ann" in done.text
    async with operator_tx(pool, "test") as conn:
        row = await conn.fetchrow(
            "SELECT status, acknowledged_by, next_escalation_at FROM alerts WHERE id = $1", alert_id
        )
    assert (row["status"], row["acknowledged_by"], row["next_escalation_at"]) == ("ACKNOWLEDGED", "ann", None)
    again = await client.post(f"/ack/{token}")
    assert again.status_code == 410 and "already used" in again.text


async def status(pool, alert_id: int) -> str:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id)


async def test_forged_altered_and_expired_links_get_a_page_never_an_action(pool, tenant, client, app):
    person = await make_person(pool, tenant)
    alert_id = await make_alert(pool, tenant)
    async with operator_tx(pool, "test") as conn:
        key = await ack_links.link_key(conn)
        links = await ack_links.create_links(
            conn, [(tenant, alert_id, person)], datetime.now(UTC) - timedelta(seconds=1)
        )
    token = ack_links.token_for(key, links[(alert_id, person)])
    expired = await client.post(f"/ack/{token}")
    assert expired.status_code == 410 and "expired" in expired.text
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (altered, "0" * 32 + "." + "A" * 32, "nonsense", "x" * 80):
        page = await client.post(f"/ack/{bad}")
        assert page.status_code == 404 and "not valid" in page.text
    assert await status(pool, alert_id) == "OPEN"
    assert (
        page.headers["cache-control"] == "no-store"
        and "default-src 'none'" in page.headers["content-security-policy"]
    )


async def test_a_link_for_an_alert_someone_else_acknowledged_says_so(pool, tenant, client, app):
    person = await make_person(pool, tenant)
    alert_id = await make_alert(pool, tenant)
    async with operator_tx(pool, "test") as conn:
        key = await ack_links.link_key(conn)
        links = await ack_links.create_links(
            conn, [(tenant, alert_id, person)], datetime.now(UTC) + timedelta(hours=1)
        )
        await conn.execute(
            "UPDATE alerts SET status = 'ACKNOWLEDGED', acknowledged_by = 'bob', acknowledged_at = now() WHERE id = $1",
            alert_id,
        )
    page = await client.post(f"/ack/{ack_links.token_for(key, links[(alert_id, person)])}")
    assert page.status_code == 200 and "Already acknowledged" in page.text and "bob" in page.text


async def test_with_smtp_configured_mail_is_really_sent(pool, tenant, settings, make_worker):
    person = await make_person(pool, tenant, email="oncall@example.com")
    await escalate(pool, tenant, [{"type": "user", "id": str(person)}])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        mail = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_tls": "none",
                "smtp_from": "pulse@example.com",
            }
        )
        # loopback is not allowed for tenants' targets, but the installation's own SMTP host is
        worker = make_worker(mailer=Mailer(mail), base_url="http://pulse.test", policy=ssrf.Policy())
        (result,) = await deliver_all(worker)
    assert result.ok, result
    (received,) = recorder.received
    assert received.rcpt_tos == ["oncall@example.com"]
    assert LINK.search(received.message.get_body(("plain",)).get_content())
    assert await outbox(pool) == []


async def test_a_personal_slack_route_carries_the_link(pool, tenant, settings, make_worker):
    async with Receiver() as slack:
        channel = await make_channel(pool, tenant, {"url": slack.url}, kind="slack")
        person = await make_person(pool, tenant)
        async with operator_tx(pool, "test") as conn:
            await conn.execute(
                "INSERT INTO user_contact_methods (tenant_id, user_id, kind, channel_id) VALUES ($1, $2, 'channel', $3)",
                tenant,
                person,
                channel,
            )
        await escalate(pool, tenant, [{"type": "user", "id": str(person)}])
        worker = make_worker(mailer=Mailer(settings), base_url="http://pulse.test")
        (result,) = await deliver_all(worker)
        assert result.ok
    body = slack.requests[0].json()
    assert LINK.search(body["text"]) and "Escalated (level 1)" in body["text"]


async def test_a_notify_worker_killed_after_sending_repeats_once_with_the_same_message_id(
    pool, tenant, settings, make_worker
):
    person = await make_person(pool, tenant, email="oncall@example.com")
    await escalate(pool, tenant, [{"type": "user", "id": str(person)}])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none"})
        dying = make_worker(
            mailer=Mailer(mail), base_url="http://pulse.test", stuck_after=timedelta(seconds=1)
        )
        (job,) = await dying.claim(10)
        await dying._send(job, datetime.now(UTC))  # sent … and the process dies before recording it
        later = datetime.now(UTC) + timedelta(seconds=5)
        survivor = make_worker(
            mailer=Mailer(mail), base_url="http://pulse.test", stuck_after=timedelta(seconds=1)
        )
        assert await survivor.reclaim(now=later) == 1
        (again,) = await survivor.claim(10, now=later)
        assert (await survivor.process(again, now=later)).ok
        assert await survivor.claim(10, now=later + timedelta(hours=1)) == []
    assert len(recorder.received) == 2  # at least once: one repeat, never more
    ids = {r.message["Message-ID"] for r in recorder.received}
    assert ids == {f"<pulse-job-{job['job_id']}@example.com>"}  # the receiver can drop the duplicate


async def test_escalate_now_fires_the_next_level_at_once(pool, tenant, app, client):
    person = await make_person(pool, tenant)
    await make_policy(
        pool,
        tenant,
        [(0, [{"type": "user", "id": str(person)}]), (60, [{"type": "user", "id": str(person)}])],
        is_default=True,
    )
    alert_id = await make_alert(pool, tenant)
    worker = Escalator(pool, base_url="http://pulse.test")
    await worker.fire_due()
    admin = await bearer(app, ["tenant-admin"], tenant, preferred_username="ann")
    moved = await client.post(f"/customer/alerts/{alert_id}/escalate", headers=admin)
    assert moved.status_code == 200, moved.text
    assert await worker.fire_due() == 1  # level 2 without waiting its hour
    async with operator_tx(pool, "test") as conn:
        levels = await conn.fetchval(
            "SELECT array_agg(escalation_level ORDER BY job_id) FROM delivery_jobs WHERE alert_id = $1",
            alert_id,
        )
    assert levels == [1, 2]
    exhausted = await client.post(f"/customer/alerts/{alert_id}/escalate", headers=admin)
    assert exhausted.status_code == 409 and exhausted.json()["error"] == "invalid_transition"
    events = (await client.get(f"/customer/alerts/{alert_id}/events", headers=admin)).json()["events"]
    assert [e["event"] for e in events if e["event"] in ("ESCALATE_NOW", "NOTIFIED")] == [
        "NOTIFIED",
        "ESCALATE_NOW",
        "NOTIFIED",
    ]
    viewer = await bearer(app, ["customer"], tenant)
    assert (await client.post(f"/customer/alerts/{alert_id}/escalate", headers=viewer)).status_code == 403
