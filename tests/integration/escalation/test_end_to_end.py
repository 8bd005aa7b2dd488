"""From sensor to the person on call, every service real: a breaching MQTT message through the broker →
the evaluator opens an alert on a rule linked (through the rules API) to a policy → the escalation
service fires level 1 → the notify service e-mails whoever is on call through a real SMTP server →
nobody acknowledges → after level 2's delay the next person is e-mailed → the acknowledge link in the
first e-mail stops the escalation. The escalation service runs on a clock the test moves forward, so
a ten-minute delay takes no ten minutes."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime, timedelta

import httpx

from pulse.escalation.service import EscalationService
from pulse.escalation.worker import Escalator
from pulse.notify import service as notify_service
from tests.factories import make_person, make_policy, make_schedule
from tests.integration.api.helpers import bearer
from tests.integration.evaluator.conftest import start_evaluator, stop
from tests.integration.evaluator.helpers import alerts, telemetry
from tests.integration.ingest.helpers import publish, wait_for
from tests.integration.notify.smtp_server import Recorder, smtp_server

LINK = re.compile(r"https?://[^/\s]+(/ack/[0-9a-f]{32}\.[A-Za-z0-9_-]{32})")


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def mail_to(recorder: Recorder, address: str) -> list:
    return [r for r in recorder.received if address in r.rcpt_tos]


async def test_breach_pages_on_call_escalates_and_the_mailed_link_stops_it(
    ingest, ingest_settings, pool, device, app, client
):
    tenant = device.tenant_id
    on_call = await make_person(pool, tenant, email="oncall@example.com", username="olivia")
    lead = await make_person(pool, tenant, email="lead@example.com", username="liam")
    manager = await make_person(pool, tenant, email="manager@example.com", username="mia")
    schedule = await make_schedule(pool, tenant, [on_call], timezone="Europe/London")
    policy = await make_policy(
        pool,
        tenant,
        [
            (0, [{"type": "schedule", "id": schedule}]),
            (10, [{"type": "user", "id": str(lead)}]),
            (10, [{"type": "user", "id": str(manager)}]),
        ],
    )
    admin = await bearer(app, ["tenant-admin"], tenant, preferred_username="ann")
    created = await client.post(
        "/customer/alert-rules",
        headers=admin,
        json={
            "name": "Boiler too hot",
            "metric_name": "temp_c",
            "operator": "GT",
            "threshold": 50,
            "severity": 5,
            "escalation_policy_id": policy,
        },
    )
    assert created.status_code == 201, created.text

    recorder = Recorder()
    clock = Clock()
    tasks: list[asyncio.Task] = []
    _, evaluator_task = await start_evaluator(pool, ingest_settings)
    try:
        with smtp_server(recorder) as port:
            mail = ingest_settings.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_tls": "none",
                    "notify_poll_seconds": 1.0,
                }
            )
            async with httpx.AsyncClient(timeout=10) as http:
                notify = notify_service.build(mail, pool, http)
                escalation = EscalationService(
                    Escalator(pool, base_url=mail.base_url, clock=clock),
                    notify._connect,
                    poll_seconds=0.5,
                )
                tasks = [asyncio.create_task(notify.run()), asyncio.create_task(escalation.run())]
                await asyncio.wait_for(notify.listening.wait(), 15)
                await asyncio.wait_for(escalation.listening.wait(), 15)

                await publish(ingest_settings, [telemetry(device, temp_c=71.5)])
                await wait_for(lambda: _some(mail_to(recorder, "oncall@example.com")), timeout=30)
                (alert,) = await alerts(pool, tenant)
                assert alert["escalation_snapshot"]["policy_id"] == policy
                first = mail_to(recorder, "oncall@example.com")[0].message
                assert "Escalated (level 1)" in first["Subject"]
                link = LINK.search(first.get_body(("plain",)).get_content()).group(1)
                assert mail_to(recorder, "lead@example.com") == []

                clock.offset = timedelta(minutes=11)  # nobody acknowledged within level 2's delay
                await wait_for(lambda: _some(mail_to(recorder, "lead@example.com")), timeout=30)
                assert "Escalated (level 2)" in mail_to(recorder, "lead@example.com")[0].message["Subject"]

                acked = await client.post(link)  # the on-call person's link, no sign-in
                assert acked.status_code == 200 and "Acknowledged by olivia" in acked.text
                clock.offset = timedelta(minutes=60)
                assert await escalation.escalator.fire_due() == 0  # level 3 never fires
                assert mail_to(recorder, "manager@example.com") == []
                assert len(mail_to(recorder, "oncall@example.com")) == 1
                assert len(mail_to(recorder, "lead@example.com")) == 1

                events = (await client.get(f"/customer/alerts/{alert['id']}/events", headers=admin)).json()
                kinds = [e["event"] for e in events["events"]]
                assert kinds[:1] == ["OPENED"] and kinds.count("NOTIFIED") == 2
                assert kinds[-1] == "ACKNOWLEDGED" and events["events"][-1]["actor"] == "olivia"
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stop(evaluator_task)


async def _some(items: list) -> bool:
    return bool(items)
