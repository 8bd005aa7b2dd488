"""`pulse bench ingest`: what the ingest service commits per second, against the same MQTT client
library's bare receive rate in the same run, plus losses at QoS 0/1 and the HTTP batch ingest rate.

Every figure comes from one run on one machine: a bare paho subscriber (baseline) and `pulse run ingest`
(under test) each consume the same M messages from the same publisher process; the ratio of the two
rates is what the benchmark reports. The servers are private to the run (an embedded PostgreSQL and
Mosquitto) unless URLs are given — then use a scratch database: the run raises the rate limits in
`app_settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil

from pulse.bench.servers import start_servers
from pulse.config import Settings
from pulse.db.tx import operator_tx
from pulse.embedded import free_port
from pulse.provisioning.tokens import hash_secret, new_provision_token

TENANT = "bench"
SITE = "bench-site"


@dataclass
class MqttFigures:
    qos: int
    messages: int
    baseline_rate: float  # messages/s received by a bare paho subscriber
    ingest_rate: float  # rows/s committed by the ingest service
    ratio: float
    lost: int  # messages published but never committed (distinct seq)
    duplicates: int  # rows beyond one per message (at-least-once redelivery)
    baseline_cpu_ms_per_1000: float  # CPU time of the bare subscriber process per 1,000 messages
    ingest_cpu_ms_per_1000: float  # CPU time of the ingest process per 1,000 committed rows


@dataclass
class HttpFigures:
    messages: int
    accepted: int
    rate: float  # accepted messages/s through POST /ingest/v1/batch
    requests_per_s: float
    api_cpu_ms_per_1000: float  # CPU time of the API process per 1,000 accepted messages
    client_cpu_ms_per_1000: float  # CPU time of the load generator (this process) per 1,000 messages


@dataclass
class IngestBench:
    machine: str
    broker: str
    postgres: str
    devices: int
    mqtt: list[MqttFigures] = field(default_factory=list)
    http: HttpFigures | None = None


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(
        PULSE_DATABASE_URL=settings.database_url or "",
        PULSE_MQTT_URL=settings.mqtt_url or "",
        PULSE_MQTT_VERSION=settings.mqtt_version,
        PULSE_DATA_DIR=str(settings.data_dir),
        PULSE_LOG_LEVEL="WARNING",
        PULSE_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


async def _peer(*args: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse.bench.mqtt_peers", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return orjson.loads(out.splitlines()[-1])


async def _seed(pool: asyncpg.Pool, devices: int, path: Path) -> None:
    """A tenant with `devices` devices (tokens written to `path` for the publisher); no rate limits."""
    credentials = [(f"bench-{i:05d}", SITE, new_provision_token()) for i in range(devices)]
    async with operator_tx(pool, "bench") as conn:
        await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", TENANT)
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, 'Benchmark')", TENANT)
        sub = await conn.fetchval(
            "INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_end) "
            "VALUES ($1, 'MAIN', $2, now() + interval '1 day') RETURNING subscription_id",
            TENANT,
            devices,
        )
        await conn.copy_records_to_table(
            "device_registry",
            records=[(TENANT, d, site, "ACTIVE", hash_secret(token), sub) for d, site, token in credentials],
            columns=(
                "tenant_id",
                "device_id",
                "site_id",
                "status",
                "provision_token_hash",
                "subscription_id",
            ),
        )
        await conn.execute(
            "UPDATE app_settings SET value = '1000000' WHERE key IN "
            "('RATE_LIMIT_RPS', 'RATE_LIMIT_BURST', 'TENANT_RATE_LIMIT_RPS', 'TENANT_RATE_LIMIT_BURST')"
        )
    path.write_bytes(orjson.dumps(credentials))


async def _committed(pool: asyncpg.Pool, since: float) -> tuple[int, int]:
    async with operator_tx(pool, "bench") as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT seq) AS d FROM telemetry WHERE tenant_id = $1 AND time >= to_timestamp($2)",
            TENANT,
            since,
        )
    return row["n"], row["d"]


async def _wait_consuming(settings: Settings, pool: asyncpg.Pool, proc, timeout: float = 60) -> None:
    """Publish probes until the ingest process has committed one (it is then subscribed)."""
    deadline = time.monotonic() + timeout
    host, port = settings.mqtt_host_port
    import aiomqtt

    n = 0
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError("the ingest process exited during start-up")
        topic = f"tenant/probe/device/probe-{n}/telemetry"
        n += 1
        async with aiomqtt.Client(host, port) as client:
            await client.publish(topic, b"probe", qos=1)
        for _ in range(10):
            async with operator_tx(pool, "bench") as conn:
                if await conn.fetchval("SELECT 1 FROM quarantine_events WHERE topic = $1", topic):
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the ingest process did not start consuming")


async def _stop(proc) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()


async def mqtt_round(
    settings: Settings, pool: asyncpg.Pool, devices_file: Path, qos: int, messages: int
) -> MqttFigures:
    url = settings.mqtt_url or ""
    # Baseline: a bare paho subscriber receiving the same stream.
    subscriber = asyncio.create_task(
        _peer("subscribe", "--url", url, "--topic", f"tenant/{TENANT}/device/+/+", "--count", str(messages),
              "--qos", str(qos), "--idle", "5")
    )  # fmt: skip
    await asyncio.sleep(1.0)  # let it subscribe
    published = await _peer(
        "publish", "--url", url, "--tenant", TENANT, "--devices-file", str(devices_file),
        "--count", str(messages), "--qos", str(qos),
    )  # fmt: skip
    bare = await subscriber
    baseline = bare["received"] / max(bare["last"] - published["started"], 1e-6)

    # Under test: `pulse run ingest` in its own process.
    suffix = uuid.uuid4().hex[:8]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse", "run", "ingest",
        env=_env(settings, PULSE_INGEST_QOS=str(qos), PULSE_INGEST_CLIENT_ID=f"bench-ingest-{suffix}",
                 PULSE_INGEST_SHARED_GROUP="" if settings.mqtt_version != "5" else f"bench{suffix}"),
    )  # fmt: skip
    try:
        await _wait_consuming(settings, pool, proc)
        started = time.time()
        publisher = asyncio.create_task(
            _peer("publish", "--url", url, "--tenant", TENANT, "--devices-file", str(devices_file),
                  "--count", str(messages), "--qos", str(qos))
        )  # fmt: skip
        cpu_before = _cpu_seconds(proc.pid)
        rows = distinct = 0
        reached = time.time()
        last_progress = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now_rows, now_distinct = await _committed(pool, started - 1)
            if now_rows != rows:
                rows, distinct, reached, last_progress = now_rows, now_distinct, time.time(), time.monotonic()
            if distinct >= messages or (publisher.done() and time.monotonic() - last_progress > 10):
                break
        published = await publisher
        cpu = _cpu_seconds(proc.pid) - cpu_before
    finally:
        await _stop(proc)
    rate = distinct / max(reached - published["started"], 1e-6)
    return MqttFigures(
        qos=qos,
        messages=messages,
        baseline_rate=round(baseline),
        ingest_rate=round(rate),
        ratio=round(rate / baseline, 3) if baseline else 0.0,
        lost=messages - distinct,
        duplicates=rows - distinct,
        baseline_cpu_ms_per_1000=round(bare["cpu"] * 1e6 / max(bare["received"], 1), 1),
        ingest_cpu_ms_per_1000=round(cpu * 1e6 / max(distinct, 1), 1),
    )


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def http_round(
    settings: Settings, devices_file: Path, messages: int, concurrency: int = 8
) -> HttpFigures:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse", "run", "api",
        env=_env(settings, PULSE_HTTP_PORT=str(port), PULSE_INGEST_HTTP_IP_LIMIT="1000000",
                 PULSE_INGEST_HTTP_GLOBAL_LIMIT="1000000", PULSE_INGEST_MAX_INFLIGHT="200000"),
    )  # fmt: skip
    devices = orjson.loads(devices_file.read_bytes())
    bodies = []
    for start in range(0, messages, 100):
        batch = [
            {"tenant_id": TENANT, "device_id": devices[s % len(devices)][0], "site_id": SITE,
             "provision_token": devices[s % len(devices)][2], "seq": s,
             "metrics": {"temperature_c": 20 + s % 7, "humidity_pct": 40 + s % 11, "battery_pct": 88.5}}
            for s in range(start, min(start + 100, messages))
        ]  # fmt: skip
        bodies.append(orjson.dumps({"messages": batch}))
    accepted = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            queue = list(reversed(bodies))

            async def worker() -> None:
                nonlocal accepted
                while queue:
                    body = queue.pop()
                    response = await client.post(
                        "/ingest/v1/batch", content=body, headers={"Content-Type": "application/json"}
                    )
                    accepted += (
                        response.json().get("accepted", 0) if response.status_code in (202, 400) else 0
                    )

            started = time.perf_counter()
            api_cpu, client_cpu = _cpu_seconds(proc.pid), _cpu_seconds(os.getpid())
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            api_cpu, client_cpu = _cpu_seconds(proc.pid) - api_cpu, _cpu_seconds(os.getpid()) - client_cpu
    finally:
        await _stop(proc)
    return HttpFigures(
        messages=messages,
        accepted=accepted,
        rate=round(accepted / elapsed),
        requests_per_s=round(len(bodies) / elapsed, 1),
        api_cpu_ms_per_1000=round(api_cpu * 1e6 / max(accepted, 1), 1),
        client_cpu_ms_per_1000=round(client_cpu * 1e6 / max(accepted, 1), 1),
    )


async def run_ingest_bench(
    *,
    devices: int,
    messages: int,
    http_messages: int,
    database_url: str | None = None,
    mqtt_url: str | None = None,
) -> IngestBench:
    async with contextlib.AsyncExitStack() as stack:
        servers = await start_servers(stack, database_url=database_url, mqtt_url=mqtt_url)
        settings, pool = servers.settings, servers.pool
        devices_file = servers.workdir / "devices.json"
        await _seed(pool, devices, devices_file)
        async with pool.acquire() as conn:
            pg_version = await conn.fetchval("SHOW server_version")
        result = IngestBench(
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            broker=servers.broker_kind,
            postgres=pg_version,
            devices=devices,
        )
        for qos in (0, 1):
            result.mqtt.append(await mqtt_round(settings, pool, devices_file, qos, messages))
        if http_messages:
            result.http = await http_round(settings, devices_file, http_messages)
        return result


def format_report(result: IngestBench) -> str:
    lines = [
        f"machine: {result.machine}; PostgreSQL {result.postgres}; broker: {result.broker}; devices: {result.devices}",
        "",
        "| QoS | messages | bare paho subscriber msg/s | ingest committed rows/s | ratio | lost | duplicates "
        "| CPU ms/1000 msgs: bare / ingest |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in result.mqtt:
        lines.append(
            f"| {m.qos} | {m.messages} | {m.baseline_rate} | {m.ingest_rate} | {m.ratio} | {m.lost} | {m.duplicates} "
            f"| {m.baseline_cpu_ms_per_1000} / {m.ingest_cpu_ms_per_1000} |"
        )
    if result.http:
        h = result.http
        lines += [
            "",
            f"HTTP batch ingest: {h.accepted}/{h.messages} accepted, {h.rate} msg/s ({h.requests_per_s} requests/s "
            f"of 100); CPU ms per 1000 messages: API {h.api_cpu_ms_per_1000}, load generator {h.client_cpu_ms_per_1000}",
        ]
    return "\n".join(lines)


def as_json(result: IngestBench) -> bytes:
    return orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2)
