"""Observability: /metrics moving with real traffic, the request id, the audit trail of writes, the
quarantine viewers and /operator/system/*."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from pulse.api.routes import ingest as ingest_routes
from pulse.db.tx import operator_tx
from pulse.ingest.pipeline import build_ingestor, wait_for_limits
from pulse.metrics_listener import metrics_listener
from pulse.ops.system_metrics import collect
from tests.factories import make_device
from tests.integration.api.helpers import bearer, seed_resources


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from an exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


@pytest.fixture
async def ingesting_app(app, settings, pool):
    ingestor = build_ingestor(settings, pool, "http")
    await wait_for_limits(ingestor)
    writer = asyncio.create_task(ingestor.writer.run())
    ingest_routes.mount(app, ingestor)
    yield app
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def test_metrics_move_with_ingest_traffic(ingesting_app, client, pool, tenants) -> None:
    device = await make_device(pool, tenants[0])
    before = (await client.get("/metrics")).text
    url = f"/ingest/v1/tenant/{device.tenant_id}/device/{device.device_id}/telemetry"
    body = {"site_id": device.site_id, "metrics": {"temp_c": 20.5}}
    assert (await client.post(url, json=body, headers={"X-Provision-Token": device.token})).status_code == 202
    refused = await client.post(url, json=body, headers={"X-Provision-Token": "wrong-token-" + "x" * 40})
    assert refused.status_code == 401
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("pulse_ingest_messages_received_total") == 2
    assert moved("pulse_ingest_rows_written_total") == 1
    assert moved("pulse_ingest_rejected_total", reason="TOKEN_INVALID") == 1
    assert moved("pulse_ingest_batch_messages_count") >= 1
    assert moved("pulse_ingest_flush_seconds_count") >= 1
    assert sample(after, "pulse_ingest_queue_depth", transport="http") == 0
    assert sample(after, "pulse_db_pool_connections", pool="main", state="max") >= 1
    assert "tenant" not in "".join(
        label for f in text_string_to_metric_families(after) for s in f.samples for label in s.labels
    )


async def test_metrics_listener_serves_the_registry() -> None:
    with metrics_listener("127.0.0.1", 0) as port:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"pulse_ingest_messages_received", "pulse_notify_jobs", "pulse_db_pool_connections"} <= names


async def test_request_id_round_trip_and_in_log_lines(client) -> None:
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        echoed = await client.get("/healthz", headers={"X-Request-ID": "req-123.abc"})
        missing = await client.get("/customer/devices")  # 401: an error response
        forged = await client.get("/nowhere", headers={"X-Request-ID": "a" * 200})
    assert echoed.headers["X-Request-ID"] == "req-123.abc"
    assert missing.status_code == 401 and len(missing.headers["X-Request-ID"]) == 32
    assert forged.status_code == 404 and forged.headers["X-Request-ID"] != "a" * 200
    lines = [line for line in logs if line.get("event") == "request"]
    assert {line["request_id"] for line in lines} == {
        "req-123.abc",
        missing.headers["X-Request-ID"],
        forged.headers["X-Request-ID"],
    }


async def test_writes_leave_audit_rows_visible_to_their_tenant(app, client, pool, tenants) -> None:
    a, b = tenants
    ids = await seed_resources(pool, a, "a")
    admin_a = await bearer(app, ["tenant-admin"], a, sub="alice")
    admin_b = await bearer(app, ["tenant-admin"], b, sub="bob")
    operator = await bearer(app, ["operator-admin"], None, sub="olga")
    rule = await client.patch(
        f"/customer/alert-rules/{ids['rule_id']}",
        headers=admin_a,
        json={"severity": 2},
    )
    assert rule.status_code == 200
    device = await client.patch(
        f"/customer/devices/{ids['device_id']}", headers=admin_a, json={"notes": "n1"}
    )
    assert device.status_code == 200
    tenant = await client.patch(f"/operator/tenants/{a}", headers=operator, json={"name": "Renamed"})
    assert tenant.status_code == 200
    refused = await client.patch(f"/customer/alert-rules/{ids['rule_id']}", headers=admin_a, json={})
    assert refused.status_code == 400  # a refused write leaves no row

    log = (await client.get("/customer/audit-log", headers=admin_a)).json()
    assert log["total"] == 3
    by_action = {e["action"]: e for e in log["events"]}
    rule_row = by_action["update_rule"]
    assert rule_row["actor_id"] == "alice" and rule_row["entity_type"] == "alert-rules"
    assert rule_row["entity_id"] == str(ids["rule_id"]) and rule_row["tenant_id"] == a
    assert rule_row["details"]["before"]["severity"] != 2 and rule_row["details"]["after"]["severity"] == 2
    assert rule_row["request_id"] and rule_row["category"] == "config"
    assert by_action["update_device"]["details"]["after"]["notes"] == "n1"
    assert by_action["update_device"]["category"] == "device"
    tenant_row = by_action["update_tenant"]
    assert tenant_row["actor_type"] == "operator" and tenant_row["details"]["after"]["name"] == "Renamed"

    filtered = await client.get("/customer/audit-log", headers=admin_a, params={"actor": "olga"})
    assert [e["action"] for e in filtered.json()["events"]] == ["update_tenant"]
    assert (await client.get("/customer/audit-log", headers=admin_b)).json()["total"] == 0
    viewer = await bearer(app, ["customer"], a)
    assert (await client.get("/customer/audit-log", headers=viewer)).status_code == 403

    system = await client.get("/operator/audit-log", headers=operator, params={"source": "system"})
    assert system.json()["total"] == 3
    compat = await client.get("/operator/audit-log", headers=operator)
    assert "entries" in compat.json()


QUARANTINED = [
    ("tenant-a", "dev-a", "TOKEN_INVALID", {"site_id": "s", "provision_token": "SECRET-TOKEN-1"}),
    ("tenant-a", "dev-a", "INVALID_JSON", {"raw": '{"password": "hunter2", "x": 1', "bytes": 30}),
    ("tenant-b", "dev-b", "UNREGISTERED_DEVICE", {"site_id": "s"}),
]


async def _quarantine(pool) -> None:
    async with operator_tx(pool, "test") as conn:
        for tenant, device, reason, payload in QUARANTINED:
            await conn.execute(
                """INSERT INTO quarantine_events (topic, tenant_id, device_id, msg_type, reason, payload)
                   VALUES ($1, $2, $3, 'telemetry', $4, $5)""",
                f"tenant/{tenant}/device/{device}/telemetry",
                tenant,
                device,
                reason,
                payload,
            )
            await conn.execute(
                """INSERT INTO quarantine_counters_minute (bucket_minute, tenant_id, reason, cnt)
                   VALUES (date_trunc('minute', now()), $1, $2, 5)""",
                tenant,
                reason,
            )


async def test_quarantine_is_visible_to_its_own_tenant_only(app, client, pool, tenants) -> None:
    await _quarantine(pool)
    viewer_a = await bearer(app, ["customer"], tenants[0])
    page = (await client.get("/customer/quarantine", headers=viewer_a)).json()
    assert page["total"] == 2 and {e["tenant_id"] for e in page["events"]} == {"tenant-a"}
    assert "SECRET-TOKEN-1" not in str(page) and "hunter2" not in str(page)
    assert "TOKEN_INVALID" in {e["reason"] for e in page["events"]}
    one = await client.get("/customer/quarantine", headers=viewer_a, params={"reason": "INVALID_JSON"})
    assert [e["device_id"] for e in one.json()["events"]] == ["dev-a"]
    summary = (await client.get("/customer/quarantine/summary", headers=viewer_a)).json()
    assert summary["total"] == 10 and {r["reason"] for r in summary["reasons"]} == {
        "TOKEN_INVALID",
        "INVALID_JSON",
    }

    operator = await bearer(app, ["operator"], None)
    everything = (await client.get("/operator/quarantine", headers=operator)).json()
    assert everything["total"] == 3
    only_b = await client.get("/operator/quarantine", headers=operator, params={"tenant_filter": "tenant-b"})
    assert [e["reason"] for e in only_b.json()["events"]] == ["UNREGISTERED_DEVICE"]
    assert (await client.get("/operator/quarantine/summary", headers=operator)).json()["total"] == 15


async def test_system_endpoints_read_the_collected_metrics(app, client, pool, tenants) -> None:
    await _quarantine(pool)
    async with operator_tx(pool, "test") as conn:
        for service, written in (("ingest@h:1", 100), ("evaluator@h:1", 100), ("ingest@h:2", 50)):
            await conn.execute(
                "INSERT INTO service_health (service, status, details) VALUES ($1, 'healthy', $2)",
                service,
                {"version": "t", "counters": {"messages_written": written, "alerts_opened": 3}},
            )
    assert await collect(pool) > 10
    async with operator_tx(pool, "test") as conn:  # a later collection: 150 more rows in 10 s
        await conn.execute("UPDATE system_metrics SET time = time - interval '10 seconds'")
        await conn.execute(
            "UPDATE service_health SET details = jsonb_set(details, '{counters,messages_written}', '175')"
        )
    await collect(pool)
    operator = await bearer(app, ["operator"], None)

    metrics = (await client.get("/operator/system/metrics", headers=operator)).json()
    assert metrics["throughput"]["messages_written_total"] == 175 + 175  # two processes, each once
    assert metrics["throughput"]["ingest_rate_per_sec"] == pytest.approx(200 / 10, rel=0.01)
    assert metrics["throughput"]["alerts_opened_total"] == 6
    assert metrics["platform"]["devices_online"] >= 0 and metrics["platform"]["processes_alive"] == 2

    history = (
        await client.get("/operator/system/metrics/history", headers=operator, params={"rate": "true"})
    ).json()
    assert [round(p["value"]) for p in history["points"]] == [20]

    health = (await client.get("/operator/system/health", headers=operator)).json()
    assert health["components"]["postgres"]["status"] == "ok"
    assert {s["service"] for s in health["services"]} == {"ingest", "evaluator"}

    capacity = (await client.get("/operator/system/capacity", headers=operator)).json()["postgres"]
    assert capacity["db_size_bytes"] > 0 and capacity["connections_used"] >= 1 and capacity["top_tables"]

    errors = (await client.get("/operator/system/errors", headers=operator)).json()
    assert errors["counts"]["quarantined"] == 15 and len(errors["errors"]) == 3
    assert {e["error_type"] for e in errors["errors"]} == {"quarantined"}
