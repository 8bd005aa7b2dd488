"""Notification channels and routing rules in the engine: filters, device tags, throttle, one job per
channel, ESCALATED events, the notification log."""

from __future__ import annotations

from pulse.db.tx import operator_tx
from pulse.notify.dispatch import Dispatcher, tag_matches
from tests.factories import make_alert, make_channel, make_device, make_integration, make_routing_rule
from tests.integration.notify.helpers import Receiver, dispatch, fetch, set_status

URL = "https://hooks.example.com/pulse"


async def channel_jobs(pool) -> list[tuple[int, int, str]]:
    rows = await fetch(
        pool,
        "SELECT channel_id, alert_id, event FROM delivery_jobs WHERE channel_id IS NOT NULL ORDER BY job_id",
    )
    return [(r["channel_id"], r["alert_id"], r["event"]) for r in rows]


async def tag(pool, tenant_id: str, device_id: str, *tags: str) -> None:
    await make_device(pool, tenant_id, device_id)
    async with operator_tx(pool, "test") as conn:
        await conn.executemany(
            "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES ($1, $2, $3)",
            [(tenant_id, device_id, t) for t in tags],
        )


def test_tag_matching_spellings():
    tags = frozenset({"floor:3", "zone=north", "critical"})
    assert tag_matches(tags, "floor", "3") and tag_matches(tags, "zone", "north")
    assert tag_matches(tags, "floor", None) and tag_matches(tags, "critical", None)
    assert not tag_matches(tags, "floor", "4") and not tag_matches(tags, "crit", None)


async def test_rule_filters_severity_type_and_device_tags(pool, tenant):
    severe = await make_channel(pool, tenant, {"url": URL})
    heartbeat = await make_channel(pool, tenant, {"url": URL})
    floor3 = await make_channel(pool, tenant, {"url": URL})
    disabled = await make_channel(pool, tenant, {"url": URL}, enabled=False)
    await make_routing_rule(pool, tenant, severe, min_severity=4)
    await make_routing_rule(pool, tenant, heartbeat, alert_type="NO_HEARTBEAT")
    await make_routing_rule(pool, tenant, floor3, device_tag_key="floor", device_tag_val="3")
    await make_routing_rule(pool, tenant, disabled)
    await tag(pool, tenant, "pump-3", "floor:3")
    await tag(pool, tenant, "pump-4", "floor:4")
    hot = await make_alert(pool, tenant, severity=5, device_id="pump-4")
    silent = await make_alert(pool, tenant, severity=2, alert_type="NO_HEARTBEAT", device_id="pump-3")
    await dispatch(pool, Dispatcher())
    assert sorted(await channel_jobs(pool)) == sorted(
        [(severe, hot, "OPEN"), (heartbeat, silent, "OPEN"), (floor3, silent, "OPEN")]
    )


async def test_two_rules_on_one_channel_make_one_job(pool, tenant):
    channel = await make_channel(pool, tenant, {"url": URL})
    await make_routing_rule(pool, tenant, channel)
    await make_routing_rule(pool, tenant, channel, min_severity=1)
    alert = await make_alert(pool, tenant)
    await dispatch(pool, Dispatcher())
    assert await channel_jobs(pool) == [(channel, alert, "OPEN")]


async def test_throttle_quiets_repeats_but_never_the_resolution(pool, tenant):
    channel = await make_channel(pool, tenant, {"url": URL})
    await make_routing_rule(pool, tenant, channel, throttle_minutes=10)
    alert = await make_alert(pool, tenant)
    dispatcher = Dispatcher()
    await dispatch(pool, dispatcher)
    await set_status(pool, tenant, alert, "ACKNOWLEDGED")  # within 10 min of the OPEN job: quiet
    await dispatch(pool, dispatcher)
    await set_status(pool, tenant, alert, "CLOSED")
    await dispatch(pool, dispatcher)
    assert await channel_jobs(pool) == [(channel, alert, "OPEN"), (channel, alert, "CLOSED")]


async def test_an_unthrottled_rule_lets_the_event_through(pool, tenant):
    channel = await make_channel(pool, tenant, {"url": URL})
    await make_routing_rule(pool, tenant, channel, throttle_minutes=10)
    await make_routing_rule(pool, tenant, channel, throttle_minutes=0, deliver_on=["ACKNOWLEDGED"])
    alert = await make_alert(pool, tenant)
    dispatcher = Dispatcher()
    await dispatch(pool, dispatcher)
    await set_status(pool, tenant, alert, "ACKNOWLEDGED")
    await dispatch(pool, dispatcher)
    assert await channel_jobs(pool) == [(channel, alert, "OPEN"), (channel, alert, "ACKNOWLEDGED")]


async def test_escalation_is_an_event_for_routes_and_rules(pool, tenant):
    _, route = await make_integration(pool, tenant, {"url": URL}, deliver_on=["ESCALATED"])
    channel = await make_channel(pool, tenant, {"url": URL})
    await make_routing_rule(pool, tenant, channel, deliver_on=["ESCALATED"])
    alert = await make_alert(pool, tenant)
    dispatcher = Dispatcher()
    await dispatch(pool, dispatcher)
    for level in (1, 2):
        async with operator_tx(pool, "service:escalation") as conn:
            # a level fired: what the escalation worker writes (escalated_at moves on every fire)
            await conn.execute(
                "UPDATE alerts SET escalation_level = $2, escalated_at = clock_timestamp() WHERE id = $1",
                alert,
                level,
            )
    async with operator_tx(pool, "test") as conn:  # bookkeeping only: no event
        await conn.execute("UPDATE alerts SET next_escalation_at = now() WHERE id = $1", alert)
    await dispatch(pool, dispatcher)
    jobs = await fetch(
        pool,
        "SELECT route_id::text, channel_id, payload_json->'event'->'details'->>'escalation_level' AS level"
        " FROM delivery_jobs WHERE event = 'ESCALATED' ORDER BY job_id",
    )
    assert sorted((j["level"], str(j["route_id"] or j["channel_id"])) for j in jobs) == sorted(
        [("1", route), ("1", str(channel)), ("2", route), ("2", str(channel))]
    )


async def test_channel_delivery_is_logged(pool, tenant, make_worker):
    async with Receiver() as receiver:
        channel = await make_channel(pool, tenant, {"url": receiver.url, "secret": "s3cret-value"})
        rule = await make_routing_rule(pool, tenant, channel)
        alert = await make_alert(pool, tenant)
        await dispatch(pool, Dispatcher())
        worker = make_worker()
        (job,) = await worker.claim(10)
        result = await worker.process(job)
    assert result.ok and len(receiver.requests) == 1
    assert receiver.requests[0].json()["alert_id"] == alert
    (entry,) = await fetch(
        pool, "SELECT channel_id, alert_id, job_id, event, routing_rule_id FROM notification_log"
    )
    assert tuple(entry.values()) == (channel, alert, job["job_id"], "OPEN", rule)
