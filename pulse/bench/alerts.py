"""`pulse bench alerts`: how fast the evaluator turns a breach into a committed alert, how fast a fleet
falling silent becomes NO_HEARTBEAT alerts, and what the evaluator costs in CPU per message.

One run, private servers (an embedded PostgreSQL and Mosquitto) unless URLs are given, `pulse run
ingest` and `pulse run evaluator` as their own processes:

0. capacity: ingest's committed rate for a burst of QoS 1 messages (the background rate is half of it);
1. latency: with background telemetry flowing at that rate, `breaches` devices each publish one
   breaching value (QoS 1), one after another; latency = publish → the `new_fleet_alert` NOTIFY,
   which PostgreSQL delivers only after the alert's transaction committed; p50/p95/p99;
2. CPU: the evaluator process's CPU time during step 1 per 1,000 telemetry rows committed then;
3. silence: `silent` devices each send one message, then stop; every one must have an open
   NO_HEARTBEAT alert within the stale threshold plus 5 s of its last message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import aiomqtt
import asyncpg
import orjson

from pulse.bench.ingest import SITE, TENANT, _cpu_seconds, _env, _peer, _seed, _stop, _wait_consuming
from pulse.bench.servers import start_servers
from pulse.config import Settings
from pulse.db.tx import operator_tx

BACKGROUND_DEVICES = 500


@dataclass
class AlertsBench:
    machine: str
    postgres: str
    broker: str
    ingest_capacity: float  # committed rows/s for a QoS 1 burst
    background_rate: float  # msg/s offered during the latency run
    background_committed_rate: float  # rows/s actually committed during it
    breaches: int
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_ms_max: float
    evaluator_cpu_ms_per_1000: float
    silent_devices: int
    stale_seconds: int
    heartbeat_alerts_open: int
    heartbeat_lag_s_p99: float  # alert created_at - (last message + stale threshold)
    heartbeat_lag_s_max: float
    heartbeat_all_within_5s: bool


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def _rows(pool: asyncpg.Pool) -> int:
    async with operator_tx(pool, "bench") as conn:
        return await conn.fetchval("SELECT count(*) FROM telemetry WHERE tenant_id = $1", TENANT)


async def _publish(settings: Settings, devices_file: Path, count: int) -> dict:
    """`count` QoS 1 messages from the devices in `devices_file`, by the publisher peer process."""
    return await _peer(
        "publish", "--url", settings.mqtt_url or "", "--tenant", TENANT,
        "--devices-file", str(devices_file), "--count", str(count), "--qos", "1",
    )  # fmt: skip


async def _capacity(settings: Settings, pool: asyncpg.Pool, devices_file: Path, messages: int) -> float:
    before = await _rows(pool)
    published = await _publish(settings, devices_file, messages)
    reached, rows = time.time(), before
    while rows - before < messages:
        await asyncio.sleep(0.05)
        now_rows = await _rows(pool)
        if now_rows == rows and time.time() - reached > 10:
            break
        if now_rows != rows:
            rows, reached = now_rows, time.time()
    return (rows - before) / max(reached - published["started"], 1e-6)


async def _latencies(settings: Settings, pool: asyncpg.Pool, breach: list[list[str]]) -> list[float]:
    notified = asyncio.Event()
    listen = await asyncpg.connect(settings.database_url)
    await listen.add_listener("new_fleet_alert", lambda *_: notified.set())
    host, port = settings.mqtt_host_port
    out: list[float] = []
    try:
        async with aiomqtt.Client(host, port) as client, pool.acquire() as conn:
            for device_id, site_id, token in breach:
                body = orjson.dumps({"site_id": site_id, "provision_token": token, "metrics": {"t": 99}})
                notified.clear()
                sent = time.perf_counter()
                await client.publish(f"tenant/{TENANT}/device/{device_id}/telemetry", body, qos=1)
                async with asyncio.timeout(30):
                    while True:
                        await notified.wait()
                        got = time.perf_counter()
                        notified.clear()
                        if await conn.fetchval(
                            "SELECT 1 FROM alerts WHERE tenant_id = $1 AND device_id = $2 AND alert_type = 'THRESHOLD'",
                            TENANT,
                            device_id,
                        ):
                            break
                out.append((got - sent) * 1000)
    finally:
        await listen.close()
    return out


async def _silence(
    settings: Settings, pool: asyncpg.Pool, silent_file: Path, silent: int, stale: int
) -> tuple[int, float, float]:
    await _publish(settings, silent_file, silent)
    ids = [d[0] for d in orjson.loads(silent_file.read_bytes())]
    query = """SELECT count(*) FROM alerts WHERE tenant_id = $1 AND alert_type = 'NO_HEARTBEAT'
                AND status = 'OPEN' AND device_id = ANY($2::text[])"""
    deadline = time.monotonic() + stale + 120
    async with pool.acquire() as conn:
        while time.monotonic() < deadline:
            if await conn.fetchval(query, TENANT, ids) >= silent:
                break
            await asyncio.sleep(0.5)
        rows = await conn.fetch(
            """SELECT extract(epoch FROM a.created_at - (ds.last_seen_at + make_interval(secs => $3))) AS lag
                 FROM alerts a JOIN device_state ds USING (tenant_id, device_id)
                WHERE a.tenant_id = $1 AND a.alert_type = 'NO_HEARTBEAT' AND a.device_id = ANY($2::text[])""",
            TENANT,
            ids,
            float(stale),
        )
    lags = [float(r["lag"]) for r in rows]
    return len(lags), _percentile(lags, 99) if lags else 0.0, max(lags, default=0.0)


async def run_alerts_bench(
    *,
    breaches: int,
    silent: int,
    stale_seconds: int,
    capacity_messages: int,
    database_url: str | None,
    mqtt_url: str | None,
) -> AlertsBench:
    async with contextlib.AsyncExitStack() as stack:
        servers = await start_servers(stack, database_url=database_url, mqtt_url=mqtt_url)
        settings, pool = servers.settings, servers.pool

        all_file = servers.workdir / "devices.json"
        await _seed(pool, BACKGROUND_DEVICES + breaches + silent, all_file)
        devices = orjson.loads(all_file.read_bytes())
        background, breach, quiet = (
            devices[:BACKGROUND_DEVICES],
            devices[BACKGROUND_DEVICES : BACKGROUND_DEVICES + breaches],
            devices[BACKGROUND_DEVICES + breaches :],
        )
        files = {}
        for name, group in (("background", background), ("silent", quiet)):
            files[name] = servers.workdir / f"{name}.json"
            files[name].write_bytes(orjson.dumps(group))
        async with operator_tx(pool, "bench") as conn:
            await conn.execute(
                "INSERT INTO alert_rules (tenant_id, name, metric_name, operator, threshold) VALUES ($1, 'hot', 't', 'GT', 50)",
                TENANT,
            )
            await conn.execute(
                """INSERT INTO device_health_settings (tenant_id, heartbeat_stale_seconds, offline_seconds)
                   VALUES ($1, $2, $3)""",
                TENANT,
                stale_seconds,
                max(stale_seconds * 10, 3600),
            )
            pg_version = await conn.fetchval("SHOW server_version")

        suffix = uuid.uuid4().hex[:8]
        ingest = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse",
            "run",
            "ingest",
            env=_env(
                settings,
                PULSE_INGEST_CLIENT_ID=f"bench-ingest-{suffix}",
                PULSE_INGEST_SHARED_GROUP=f"b{suffix}",
            ),
        )
        stack.push_async_callback(_stop, ingest)
        await _wait_consuming(settings, pool, ingest)
        evaluator = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pulse", "run", "evaluator", env=_env(settings)
        )
        stack.push_async_callback(_stop, evaluator)

        capacity = await _capacity(settings, pool, files["background"], capacity_messages)
        rate = capacity / 2
        feeder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse.bench.alerts",
            "background",
            "--url",
            settings.mqtt_url or "",
            "--devices-file",
            str(files["background"]),
            "--rate",
            str(rate),
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(2)  # let the background flow settle
        rows_before, cpu_before, started = await _rows(pool), _cpu_seconds(evaluator.pid), time.perf_counter()
        latencies = await _latencies(settings, pool, breach)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(evaluator.pid) - cpu_before
        committed = await _rows(pool) - rows_before

        opened, lag99, lag_max = await _silence(settings, pool, files["silent"], len(quiet), stale_seconds)
        feeder.send_signal(signal.SIGTERM)
        await feeder.communicate()
        return AlertsBench(
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            postgres=pg_version,
            broker=servers.broker_kind,
            ingest_capacity=round(capacity),
            background_rate=round(rate),
            background_committed_rate=round(committed / elapsed),
            breaches=len(latencies),
            latency_ms_p50=round(_percentile(latencies, 50), 1),
            latency_ms_p95=round(_percentile(latencies, 95), 1),
            latency_ms_p99=round(_percentile(latencies, 99), 1),
            latency_ms_max=round(max(latencies), 1),
            evaluator_cpu_ms_per_1000=round(cpu * 1e6 / max(committed, 1), 1),
            silent_devices=len(quiet),
            stale_seconds=stale_seconds,
            heartbeat_alerts_open=opened,
            heartbeat_lag_s_p99=round(lag99, 2),
            heartbeat_lag_s_max=round(lag_max, 2),
            heartbeat_all_within_5s=opened == len(quiet) and lag_max <= 5,
        )


def format_report(r: AlertsBench) -> str:
    return "\n".join(
        [
            f"machine: {r.machine}; PostgreSQL {r.postgres}; broker: {r.broker}",
            f"ingest capacity (QoS 1 burst): {r.ingest_capacity} rows/s; background offered {r.background_rate} msg/s, "
            f"committed {r.background_committed_rate} rows/s during the latency run",
            f"publish → committed alert over {r.breaches} breaches: p50 {r.latency_ms_p50} ms, p95 {r.latency_ms_p95} ms, "
            f"p99 {r.latency_ms_p99} ms, max {r.latency_ms_max} ms",
            f"evaluator CPU: {r.evaluator_cpu_ms_per_1000} ms per 1,000 committed messages",
            f"{r.silent_devices} devices silent: {r.heartbeat_alerts_open} NO_HEARTBEAT alerts; lag after the "
            f"{r.stale_seconds} s threshold p99 {r.heartbeat_lag_s_p99} s, max {r.heartbeat_lag_s_max} s; "
            f"all within threshold + 5 s: {'yes' if r.heartbeat_all_within_5s else 'NO'}",
        ]
    )


def as_json(result: AlertsBench) -> bytes:
    return orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2)


def _background(args: argparse.Namespace) -> None:
    """A paced publisher (its own process): non-breaching values round-robin over the devices at `rate`
    msg/s, QoS 0, until SIGTERM; prints how many it sent."""
    import paho.mqtt.client as mqtt

    devices = orjson.loads(Path(args.devices_file).read_bytes())
    payloads = [
        (
            f"tenant/{TENANT}/device/{d}/telemetry",
            orjson.dumps({"site_id": s, "provision_token": tok, "metrics": {"t": 20}}),
        )
        for d, s, tok in devices
    ]
    host, _, port = args.url.split("://", 1)[-1].partition(":")
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_queued_messages_set(0)
    client.connect(host, int(port or 1883))
    client.loop_start()
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    sent, started = 0, time.perf_counter()
    while not stop:
        due = int((time.perf_counter() - started) * args.rate)
        while sent < due:
            topic, body = payloads[sent % len(payloads)]
            client.publish(topic, body, qos=0)
            sent += 1
        time.sleep(0.005)
    client.disconnect()
    client.loop_stop()
    sys.stdout.write(orjson.dumps({"sent": sent, "site": SITE}).decode() + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pulse.bench.alerts")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("background")
    b.add_argument("--url", required=True)
    b.add_argument("--devices-file", required=True)
    b.add_argument("--rate", type=float, required=True)
    _background(parser.parse_args())
