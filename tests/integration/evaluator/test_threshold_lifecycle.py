"""THRESHOLD rules evaluated as telemetry arrives through the broker, and the alert lifecycle:
open, auto-close, acknowledge keeps the dedup slot, close while breaching opens a new alert, silence,
heartbeats never close an alert, every event in alert_events."""

from __future__ import annotations

from pulse.api.queries import alerts as api_alerts
from pulse.db.tx import tenant_tx
from tests.factories import make_alert_rule
from tests.integration.evaluator.helpers import alerts, events, heartbeat, telemetry, wait_evaluated
from tests.integration.ingest.helpers import publish, wait_for


async def _send(ingest_settings, evaluator, pool, device, **metrics):
    await publish(ingest_settings, [telemetry(device, **metrics)])
    await wait_for(lambda: _has_seen(pool, device, metrics))
    await wait_evaluated(evaluator, pool, device)


async def _has_seen(pool, device, metrics):
    from pulse.db.tx import operator_tx

    async with operator_tx(pool, "test") as conn:
        state = await conn.fetchval(
            "SELECT state FROM device_state WHERE tenant_id = $1 AND device_id = $2",
            device.tenant_id,
            device.device_id,
        )
    return state is not None and all(state.get(k) == v for k, v in metrics.items())


async def test_opens_and_closes_with_events(ingest, ingest_settings, pool, device, evaluator):
    rule = await make_alert_rule(pool, metric_name="temp_c", operator="GT", threshold=50)
    await _send(ingest_settings, evaluator, pool, device, temp_c=40)
    assert await alerts(pool) == []
    await _send(ingest_settings, evaluator, pool, device, temp_c=60)
    [alert] = await alerts(pool)
    assert alert["status"] == "OPEN" and alert["alert_type"] == "THRESHOLD"
    assert alert["fingerprint"] == f"RULE:{rule}:{device.device_id}"
    assert alert["details"]["metric_value"] == 60
    await _send(ingest_settings, evaluator, pool, device, temp_c=61)
    assert len(await alerts(pool)) == 1
    await _send(ingest_settings, evaluator, pool, device, temp_c=45)
    [alert] = await alerts(pool)
    assert alert["status"] == "CLOSED"
    assert await events(pool, alert["id"]) == ["OPENED", "CLOSED"]
    await _send(ingest_settings, evaluator, pool, device, temp_c=70)  # re-trigger after close: a new alert
    assert [a["status"] for a in await alerts(pool)] == ["CLOSED", "OPEN"]


async def test_every_operator(ingest, ingest_settings, pool, device, evaluator):
    for op, threshold in (("GT", 5), ("GTE", 5), ("LT", 5), ("LTE", 5), ("EQ", 5), ("NEQ", 5)):
        await make_alert_rule(pool, name=op, metric_name="v", operator=op, threshold=threshold)
    await _send(ingest_settings, evaluator, pool, device, v=5)
    opened = {a["summary"].split(" ")[-2] for a in await alerts(pool, status="OPEN")}
    assert opened == {">=", "<=", "=="}
    await _send(ingest_settings, evaluator, pool, device, v=6)
    opened = {a["summary"].split(" ")[-2] for a in await alerts(pool, status="OPEN")}
    assert opened == {">", ">=", "!="}


async def test_heartbeats_never_close_an_alert(ingest, ingest_settings, pool, device, evaluator):
    await make_alert_rule(pool, metric_name="temp_c", operator="GT", threshold=50)
    await _send(ingest_settings, evaluator, pool, device, temp_c=60)
    await publish(ingest_settings, [heartbeat(device)])
    await wait_evaluated(evaluator, pool, device)
    await _send(ingest_settings, evaluator, pool, device, humidity=10)  # other metrics: temp_c is still 60
    [alert] = await alerts(pool)
    assert alert["status"] == "OPEN"


async def test_acknowledge_keeps_the_slot_close_while_breaching_opens_anew(
    ingest, ingest_settings, pool, device, evaluator
):
    await make_alert_rule(pool, metric_name="temp_c", operator="GT", threshold=50)
    await _send(ingest_settings, evaluator, pool, device, temp_c=60)
    [alert] = await alerts(pool)
    async with tenant_tx(pool, "acme") as conn:
        assert await api_alerts.acknowledge(conn, "acme", alert["id"], "ann@example.com")
    await _send(ingest_settings, evaluator, pool, device, temp_c=65)
    [alert] = await alerts(pool)
    assert alert["status"] == "ACKNOWLEDGED"

    async with tenant_tx(pool, "acme") as conn:
        assert await api_alerts.silence(conn, "acme", alert["id"], 30)
        assert await api_alerts.close(conn, "acme", alert["id"], "ann@example.com")
    await _send(ingest_settings, evaluator, pool, device, temp_c=66)
    first, second = await alerts(pool)
    assert (first["status"], second["status"]) == ("CLOSED", "OPEN")
    assert second["silenced_until"] == first["silenced_until"]  # the silence carries over
    assert await events(pool, first["id"]) == ["OPENED", "ACKNOWLEDGED", "SILENCED", "CLOSED"]

    from pulse.db.tx import operator_tx

    async with operator_tx(pool, "test") as conn:
        actors = await conn.fetch(
            "SELECT event, actor FROM alert_events WHERE alert_id = $1 ORDER BY id", first["id"]
        )
    assert dict((r["event"], r["actor"]) for r in actors)["ACKNOWLEDGED"] == "ann@example.com"
    assert dict((r["event"], r["actor"]) for r in actors)["CLOSED"] == "ann@example.com"
