"""From sensor to receiver with every service real: a breaching MQTT message → the evaluator opens an
alert → the notify service delivers a signed webhook and a PagerDuty trigger; acknowledging through
the customer API → PagerDuty acknowledge; the value returning → resolve."""

from __future__ import annotations

from pulse.notify import signing
from tests.factories import make_alert_rule, make_integration
from tests.integration.api.helpers import bearer
from tests.integration.evaluator.conftest import start_evaluator, stop
from tests.integration.evaluator.helpers import alerts, telemetry, wait_evaluated
from tests.integration.ingest.helpers import publish, wait_for
from tests.integration.notify.helpers import Receiver

SECRET = "whsec_ZW5kLXRvLWVuZC1zZWNyZXQtMTIzNDU2Nzg="


def count(receiver: Receiver, n: int):
    async def enough() -> bool:
        return len(receiver.requests) >= n

    return enough


async def test_breach_ack_and_recovery_reach_webhook_and_pagerduty(
    ingest, ingest_settings, pool, device, running, app, client
):
    evaluator, task = await start_evaluator(pool, ingest_settings)
    try:
        async with Receiver() as hook, Receiver() as pagerduty:
            await make_integration(
                pool, device.tenant_id, {"url": hook.url, "secret": SECRET}, deliver_on=["OPEN", "CLOSED"]
            )
            await make_integration(
                pool,
                device.tenant_id,
                {"routing_key": "R0UTINGKEY0123456789", "url": pagerduty.url},
                kind="pagerduty",
                deliver_on=["OPEN", "ACKNOWLEDGED", "CLOSED"],
            )
            await make_alert_rule(pool, device.tenant_id, metric_name="temp_c", operator="GT", threshold=50)

            await publish(ingest_settings, [telemetry(device, temp_c=71.5)])
            await wait_for(count(hook, 1), timeout=30)
            await wait_for(count(pagerduty, 1), timeout=30)
            (alert,) = await alerts(pool, device.tenant_id)
            opened = hook.requests[0]
            headers = opened.headers
            expected = signing.standard_signature(
                SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), opened.body
            )
            assert headers["webhook-signature"] == expected
            assert headers["x-signature-sha256"] == signing.legacy_signature(SECRET, opened.body)
            body = opened.json()
            assert (body["event"], body["alert_id"], body["device_id"], body["tenant_id"]) == (
                "OPEN",
                alert["id"],
                device.device_id,
                device.tenant_id,
            )
            trigger = pagerduty.requests[0].json()
            assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == f"alert-{alert['id']}"

            admin = await bearer(app, ["tenant-admin"], device.tenant_id, preferred_username="ann")
            acked = await client.patch(f"/customer/alerts/{alert['id']}/acknowledge", headers=admin)
            assert acked.status_code == 200
            await wait_for(count(pagerduty, 2), timeout=30)
            ack = pagerduty.requests[1].json()
            assert ack["event_action"] == "acknowledge" and ack["dedup_key"] == trigger["dedup_key"]

            await publish(ingest_settings, [telemetry(device, temp_c=20.0)])
            await wait_evaluated(evaluator, pool, device)
            await wait_for(count(pagerduty, 3), timeout=30)
            await wait_for(count(hook, 2), timeout=30)
            resolve = pagerduty.requests[2].json()
            assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]
            assert hook.requests[1].json()["event"] == "CLOSED"
            assert len(hook.requests) == 2 and len(pagerduty.requests) == 3  # each exactly once
    finally:
        await stop(task)
