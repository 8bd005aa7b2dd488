"""`pulse bench api`: read latency of the API over real HTTP, against baselines measured in the same run.

One tenant with D devices over 20 sites and R telemetry rows over the last 24 hours (a few devices report
every 10 s, so their 24-hour chart has 1,440 one-minute buckets of several rows each; the rest share the
remaining rows), a few thousand alerts. `pulse run api` serves it in its own process; this process is
one keep-alive HTTP client holding an API client's token (client credentials, role `customer`).

Measured, in one run on one machine:
- HTTP: N requests per endpoint after a warm-up, sequential, the endpoints interleaved round-robin so
  background noise falls on all of them alike; p50/p95/p99 and requests/s. `GET /healthz` on the same
  server is the baseline: the floor of this client + uvicorn + FastAPI with no token and no database.
- In-process database work: the handler's own dependency (`tenant_tx` + tenant check) and the same
  query functions (`pulse.api.queries`) run here with asyncpg, no HTTP; and within it, the time of the
  SQL round trips alone (asyncpg's query logger: BEGIN, SET LOCAL, the queries, COMMIT).
- Optionally C concurrent clients per endpoint: requests/s and latency, with the CPU time per request
  of the API process, PostgreSQL (embedded only) and this client.

The servers are private to the run (an embedded PostgreSQL and Mosquitto) unless URLs are given — then
use a scratch database: the run replaces the tenant `bench-api` and its telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

import asyncpg
import httpx
import orjson
import psutil

from pulse.api.deps import tenant_db
from pulse.api.pagination import Page
from pulse.api.queries import alerts as alert_queries
from pulse.api.queries import chart as chart_queries
from pulse.api.queries import devices as device_queries
from pulse.api.queries import telemetry as telemetry_queries
from pulse.api.queries.devices import require_device
from pulse.bench.ingest import _cpu_seconds, _env, _stop
from pulse.bench.servers import start_servers
from pulse.config import Settings
from pulse.db.pool import create_pool, init_connection
from pulse.db.tx import operator_tx
from pulse.embedded import free_port
from pulse.identity.api_clients import create_api_client
from pulse.identity.principal import Principal
from pulse.identity.roles import CUSTOMER
from pulse.ops.rollups import roll_up
from pulse.provisioning.tokens import hash_secret

TENANT = "bench-api"
SITES = 20
DENSE_DEVICES = 5  # devices reporting every DENSE_INTERVAL seconds: the charted ones
DENSE_INTERVAL = 10
METRICS = ("temperature_c", "humidity_pct", "battery_pct", "rssi_dbm")
CHART_METRIC = "temperature_c"
TARGET_P95_MS = 25.0
WARMUP = 30
COPY_CHUNK = 100_000


@dataclass
class Endpoint:
    key: str
    label: str
    example: str  # one of the paths requested
    requests: int = 0
    bytes: int = 0  # response body size (last request)
    p50: float = 0.0  # ms, over HTTP, sequential
    p95: float = 0.0
    p99: float = 0.0
    mean: float = 0.0
    requests_per_s: float = 0.0  # sequential: 1 / mean
    vs_healthz_p50: float | None = None  # p50 / healthz p50
    target_met: bool | None = None  # p95 <= TARGET_P95_MS (None for the baseline)
    db_p50: float | None = None  # ms, the handler's database work in-process (incl. row → model)
    db_p95: float | None = None
    sql_p50: float | None = None  # ms, SQL round trips only (asyncpg query logger)
    sql_p95: float | None = None
    statements: int | None = None  # statements per request (BEGIN … COMMIT)


@dataclass
class Concurrent:
    key: str
    concurrency: int
    requests: int
    requests_per_s: float
    p50: float
    p95: float
    p99: float
    api_cpu_ms: float  # CPU of the API process per request
    postgres_cpu_ms: float | None  # CPU of all PostgreSQL processes per request (embedded only)
    client_cpu_ms: float  # CPU of this process per request


@dataclass
class ApiBench:
    machine: str
    postgres: str  # version and shared_buffers
    telemetry_size: str  # telemetry partitions with their indexes, after the seed
    devices: int
    telemetry_rows: int
    alerts: int
    dense_devices: int
    dense_rows_each: int
    requests: int
    warmup: int
    seed_seconds: float
    target_p95_ms: float = TARGET_P95_MS
    endpoints: list[Endpoint] = field(default_factory=list)
    concurrent: list[Concurrent] = field(default_factory=list)


def _progress(message: str) -> None:
    print(f"[bench api] {message}", file=sys.stderr, flush=True)


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- seed ---------------------------------------------------------------------------------------


def device_id(i: int) -> str:
    return f"dev-{i:05d}"


def dense_indexes(devices: int) -> list[int]:
    """The densely reporting devices, one per slice of the fleet (so on different sites)."""
    n = min(DENSE_DEVICES, devices)
    return [k * devices // n for k in range(n)]


def _site(i: int, devices: int) -> str:
    return f"site-{i * SITES // devices:02d}"


def _telemetry_schedule(
    devices: int, rows: int, now: float, rng: random.Random
) -> tuple[list[int], int, Iterator[tuple[float, int]]]:
    """(dense device indexes, rows per dense device, (time, device index) in time order).

    Ingest writes rows as they arrive, so a device's rows are spread over the heap among everyone
    else's; sorting by time reproduces that (a per-device order would flatter the chart query)."""
    dense = dense_indexes(devices)
    dense_set = set(dense)
    dense_each = min(86_400 // DENSE_INTERVAL, rows // (2 * len(dense)))
    sparse = [i for i in range(devices) if i not in dense_set]
    rest = rows - dense_each * len(dense)
    keys: list[int] = []  # time in ms << 17 | device index: one sortable int per row
    start_ms = int((now - 86_400) * 1000)
    counts = dict.fromkeys(dense, dense_each)
    for n, i in enumerate(sparse):
        counts[i] = rest // len(sparse) + (1 if n < rest % len(sparse) else 0)
    for i, count in counts.items():
        if not count:
            continue
        step = 86_400_000 / count
        phase = rng.random() * step
        keys.extend(((start_ms + int(phase + k * step)) << 17) | i for k in range(count))
    keys.sort()

    def ordered() -> Iterator[tuple[float, int]]:
        for key in keys:
            yield (key >> 17) / 1000, key & 0x1FFFF

    return dense, dense_each, ordered()


def _telemetry_records(devices: int, schedule: Iterator[tuple[float, int]], rng: random.Random):
    base = [18 + rng.random() * 8 for _ in range(devices)]
    seq = [0] * devices
    sites = [_site(i, devices) for i in range(devices)]
    ids = [device_id(i) for i in range(devices)]
    for t, i in schedule:
        seq[i] += 1
        day = math.sin(2 * math.pi * (t % 86_400) / 86_400)
        metrics = {
            "temperature_c": round(base[i] + 3 * day + rng.gauss(0, 0.3), 2),
            "humidity_pct": round(45 + 10 * day + rng.random() * 5, 1),
            "battery_pct": round(100 - (seq[i] % 5000) / 100, 2),
            "rssi_dbm": -50 - rng.randrange(40),
        }
        yield (datetime.fromtimestamp(t, UTC), TENANT, ids[i], sites[i], "telemetry", seq[i], metrics)


async def seed(pool: asyncpg.Pool, devices: int, rows: int, alerts: int, rng: random.Random):
    """The tenant, its sites, devices (+ state and tags), telemetry and alerts; returns
    (dense device ids, rows per dense device, sample of device ids)."""
    now = time.time()
    now_dt = datetime.fromtimestamp(now, UTC)
    async with operator_tx(pool, "bench") as conn:
        await conn.execute("DELETE FROM telemetry WHERE tenant_id = $1", TENANT)
        await conn.execute("DELETE FROM telemetry_rollup_1m WHERE tenant_id = $1", TENANT)
        await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", TENANT)
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, 'API benchmark')", TENANT)
        sub = await conn.fetchval(
            "INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_end) "
            "VALUES ($1, 'MAIN', $2, now() + interval '1 year') RETURNING subscription_id",
            TENANT,
            devices,
        )
        await conn.copy_records_to_table(
            "sites",
            records=[
                (TENANT, f"site-{s:02d}", f"Site {s}", f"{s} Example Street", 48 + s / 10, 2 + s / 10)
                for s in range(SITES)
            ],
            columns=("tenant_id", "site_id", "name", "location", "latitude", "longitude"),
        )
        types = ("sensor", "sensor", "sensor", "meter", "gateway", "tracker")
        await conn.copy_records_to_table(
            "device_registry",
            records=[
                (
                    TENANT, device_id(i), _site(i, devices), "ACTIVE" if i % 50 else "INACTIVE",
                    hash_secret(f"bench-{i}"), {"floor": i % 7, "zone": f"z{i % 13}"}, types[i % 6],
                    f"TH-{200 + i % 5}", "Acme", f"1.{i % 4}.{i % 10}", f"SN{i:08d}",
                    48 + rng.random(), 2 + rng.random(), f"{i % 300} Bench Road", sub, now_dt - timedelta(days=90),
                )
                for i in range(devices)
            ],
            columns=(
                "tenant_id", "device_id", "site_id", "status", "provision_token_hash", "metadata",
                "device_type", "model", "manufacturer", "fw_version", "serial_number", "latitude",
                "longitude", "address", "subscription_id", "created_at",
            ),
        )  # fmt: skip
        statuses = ["ONLINE"] * 17 + ["STALE", "OFFLINE", "OFFLINE"]
        await conn.copy_records_to_table(
            "device_state",
            records=[
                (
                    TENANT, device_id(i), _site(i, devices), statuses[i % 20],
                    now_dt - timedelta(seconds=rng.randrange(600)), now_dt - timedelta(seconds=rng.randrange(900)),
                    now_dt - timedelta(seconds=rng.randrange(600)), now_dt - timedelta(hours=rng.randrange(48)),
                    {"temperature_c": round(20 + rng.random() * 5, 2), "battery_pct": rng.randrange(100)},
                )
                for i in range(devices)
            ],
            columns=(
                "tenant_id", "device_id", "site_id", "status", "last_heartbeat_at", "last_telemetry_at",
                "last_seen_at", "last_state_change_at", "state",
            ),
        )  # fmt: skip
        tags = [(TENANT, device_id(i), f"floor-{i % 7}") for i in range(devices)]
        tags += [(TENANT, device_id(i), "critical") for i in range(0, devices, 9)]
        await conn.copy_records_to_table(
            "device_tags", records=tags, columns=("tenant_id", "device_id", "tag")
        )
        await conn.copy_records_to_table(
            "alerts", records=_alert_records(devices, alerts, now_dt, rng), columns=_ALERT_COLUMNS
        )
    _progress(f"{devices} devices, {alerts} alerts; generating {rows} telemetry rows")
    dense, dense_each, schedule = _telemetry_schedule(devices, rows, now, rng)
    records = _telemetry_records(devices, schedule, rng)
    written = 0
    while chunk := list(islice(records, COPY_CHUNK)):
        async with operator_tx(pool, "bench") as conn:
            await conn.copy_records_to_table(
                "telemetry",
                records=chunk,
                columns=("time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics"),
            )
        written += len(chunk)
        if written % 200_000 == 0 or written == rows:
            _progress(f"telemetry: {written}/{rows} rows")
    # The seed bypasses ingest, so do what the ops service would: roll the new rows up (charts read
    # the per-minute rollup and only the not yet rolled-up tail from raw rows).
    started = time.perf_counter()
    async with operator_tx(pool, "bench") as conn:
        done = await roll_up(conn, lag=timedelta(0))
    _progress(
        f"rolled up into {done.rollup_rows if done else 0} minute rows in {time.perf_counter() - started:.1f} s"
    )
    # Steady state, as autovacuum would leave it: statistics and the visibility map up to date.
    async with pool.acquire() as conn:
        for table in (
            "telemetry", "telemetry_rollup_1m", "device_registry", "device_state", "device_tags", "alerts", "sites",
        ):  # fmt: skip
            try:
                await conn.execute(f"VACUUM (ANALYZE) {table}")
            except asyncpg.PostgresError as exc:
                _progress(f"VACUUM ANALYZE {table} skipped: {exc}")
    sample = [device_id(i) for i in rng.sample(range(devices), min(devices, 1000))]
    return [device_id(i) for i in dense], dense_each, sample


_ALERT_COLUMNS = (
    "tenant_id", "site_id", "device_id", "alert_type", "fingerprint", "status", "severity", "confidence",
    "summary", "details", "created_at", "closed_at", "acknowledged_by", "acknowledged_at",
)  # fmt: skip


def _alert_records(devices: int, count: int, now: datetime, rng: random.Random):
    types = ("NO_HEARTBEAT", "THRESHOLD", "THRESHOLD", "NO_TELEMETRY", "ANOMALY", "SYSTEM_HEALTH")
    records = []
    for n in range(count):
        i = rng.randrange(devices)
        kind = types[n % len(types)]
        status = "CLOSED" if n % 10 < 6 else ("OPEN" if n % 10 < 9 else "ACKNOWLEDGED")
        created = now - timedelta(seconds=rng.randrange(7 * 86_400))
        records.append(
            (
                TENANT, _site(i, devices), device_id(i), kind, f"{kind}:{device_id(i)}:{n}", status,
                rng.randrange(1, 6), round(rng.random(), 2), f"{kind.lower().replace('_', ' ')} on {device_id(i)}",
                {"metric": "temperature_c", "value": round(30 + rng.random() * 10, 1), "threshold": 30},
                created, created + timedelta(minutes=30) if status == "CLOSED" else None,
                "ops@bench" if status == "ACKNOWLEDGED" else None,
                created + timedelta(minutes=5) if status == "ACKNOWLEDGED" else None,
            )
        )  # fmt: skip
    return records


# --- the endpoints --------------------------------------------------------------------------------


@dataclass
class Target:
    """One endpoint: how to request it over HTTP, and its handler's database work in-process."""

    endpoint: Endpoint
    path: Callable[[int], str]  # request number → path
    db_work: Callable[[asyncpg.Connection, int], Awaitable[object]] | None


def _targets(dense: list[str], sample: list[str]) -> list[Target]:
    chart = f"/telemetry?bucket=1m&hours=24&metrics={CHART_METRIC}"
    chart_all = "/telemetry?bucket=1m&hours=24"
    columns = "/chart?bucket=1m&hours=24"

    def window():
        end = datetime.now(UTC)
        return end - timedelta(hours=24), end

    async def chart_db(conn, n: int, metrics: list[str] | None) -> object:
        device = dense[n % len(dense)]
        start, end = window()
        await require_device(conn, TENANT, device)
        return await telemetry_queries.bucketed_history(
            conn, TENANT, device, start, end, telemetry_queries.Bucket.ONE_MINUTE, metrics
        )

    async def columns_db(conn, n: int) -> object:
        device = dense[n % len(dense)]
        start, end = window()
        await require_device(conn, TENANT, device)
        ax = chart_queries.axis(start, end, 60)
        return chart_queries.chart_body(
            device, ax, await chart_queries.chart_series_json(conn, TENANT, device, ax, None)
        )

    return [
        Target(Endpoint("healthz", "GET /healthz (baseline: no token, no database)", "/healthz"),
               lambda n: "/healthz", None),
        Target(Endpoint("device_list", "device list (first page of 100)", "/api/v2/devices"),
               lambda n: "/api/v2/devices",
               lambda conn, n: device_queries.list_devices(conn, TENANT, Page(100, 0))),
        Target(Endpoint("device_detail", "device detail (random device)", f"/api/v2/devices/{sample[0]}"),
               lambda n: f"/api/v2/devices/{sample[n % len(sample)]}",
               lambda conn, n: require_device(conn, TENANT, sample[n % len(sample)])),
        Target(Endpoint("alerts_list", "alerts list (OPEN, first page of 100)", "/api/v2/alerts"),
               lambda n: "/api/v2/alerts",
               lambda conn, n: alert_queries.list_alerts(conn, TENANT, Page(100, 0), alert_queries.AlertFilter(status="OPEN"))),
        Target(Endpoint("chart", f"24 h chart, 1 min buckets, 1 metric ({CHART_METRIC})",
                        f"/api/v2/devices/{dense[0]}{chart}"),
               lambda n: f"/api/v2/devices/{dense[n % len(dense)]}{chart}",
               lambda conn, n: chart_db(conn, n, [CHART_METRIC])),
        Target(Endpoint("chart_all", f"24 h chart, 1 min buckets, all {len(METRICS)} metrics",
                        f"/api/v2/devices/{dense[0]}{chart_all}"),
               lambda n: f"/api/v2/devices/{dense[n % len(dense)]}{chart_all}",
               lambda conn, n: chart_db(conn, n, None)),
        Target(Endpoint("chart_columns", f"24 h chart, 1 min buckets, all {len(METRICS)} metrics, columnar /chart",
                        f"/api/v2/devices/{dense[0]}{columns}"),
               lambda n: f"/api/v2/devices/{dense[n % len(dense)]}{columns}",
               columns_db),
    ]  # fmt: skip


async def _get(client: httpx.AsyncClient, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed * 1000, len(response.content)


async def http_sequential(client: httpx.AsyncClient, targets: list[Target], requests: int) -> None:
    for n in range(WARMUP):
        for t in targets:
            await _get(client, t.path(n))
    samples: dict[str, list[float]] = {t.endpoint.key: [] for t in targets}
    for n in range(requests):
        for t in targets:  # round-robin: noise from the rest of the machine hits every endpoint alike
            ms, size = await _get(client, t.path(WARMUP + n))
            samples[t.endpoint.key].append(ms)
            t.endpoint.bytes = size
        if (n + 1) % 100 == 0:
            _progress(f"HTTP sequential: {n + 1}/{requests} rounds")
    for t in targets:
        e, s = t.endpoint, samples[t.endpoint.key]
        e.requests = len(s)
        e.p50, e.p95, e.p99 = (round(percentile(s, p), 2) for p in (50, 95, 99))
        e.mean = round(sum(s) / len(s), 2)
        e.requests_per_s = round(1000 / e.mean, 1)
    floor = targets[0].endpoint.p50
    for t in targets[1:]:
        t.endpoint.vs_healthz_p50 = round(t.endpoint.p50 / floor, 1) if floor else None
        t.endpoint.target_met = t.endpoint.p95 <= TARGET_P95_MS


def _postgres_cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    return None


async def http_concurrent(
    client: httpx.AsyncClient,
    target: Target,
    requests: int,
    concurrency: int,
    api_pid: int,
    pg_pid: int | None,
) -> Concurrent:
    for n in range(WARMUP):
        await _get(client, target.path(n))
    counter = iter(range(requests))
    samples: list[float] = []

    async def worker() -> None:
        for n in counter:
            samples.append((await _get(client, target.path(n)))[0])

    api_cpu, pg_cpu, own_cpu = _cpu_seconds(api_pid), _postgres_cpu(pg_pid), _cpu_seconds(os.getpid())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    api_cpu = _cpu_seconds(api_pid) - api_cpu
    own_cpu = _cpu_seconds(os.getpid()) - own_cpu
    pg_after = _postgres_cpu(pg_pid)
    per = 1000 / requests
    return Concurrent(
        key=target.endpoint.key,
        concurrency=concurrency,
        requests=requests,
        requests_per_s=round(requests / elapsed, 1),
        p50=round(percentile(samples, 50), 2),
        p95=round(percentile(samples, 95), 2),
        p99=round(percentile(samples, 99), 2),
        api_cpu_ms=round(api_cpu * per, 2),
        postgres_cpu_ms=round((pg_after - pg_cpu) * per, 2) if pg_cpu is not None and pg_after else None,
        client_cpu_ms=round(own_cpu * per, 2),
    )


async def in_process(settings: Settings, targets: list[Target], requests: int) -> None:
    """Each handler's database work without HTTP: its own dependency and query functions, one pooled
    connection whose statements asyncpg times (the query logger sees BEGIN … COMMIT)."""
    sql_ms: list[float] = []

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        conn.add_query_logger(lambda record: sql_ms.append(record.elapsed * 1000))

    pool = await create_pool(settings, min_size=1, max_size=1, init=init)
    principal = Principal(sub="bench", issuer="bench", roles=frozenset({CUSTOMER}), tenant_id=TENANT)
    try:
        for t in targets:
            if t.db_work is None:
                continue
            wall: list[float] = []
            sql: list[float] = []
            for n in range(WARMUP + requests):
                sql_ms.clear()
                started = time.perf_counter()
                async with tenant_db(principal, pool, write=False) as conn:
                    await t.db_work(conn, n)
                elapsed = (time.perf_counter() - started) * 1000
                await asyncio.sleep(0)  # let the logger callbacks run
                if n >= WARMUP:
                    wall.append(elapsed)
                    sql.append(sum(sql_ms))
                    t.endpoint.statements = len(sql_ms)
            e = t.endpoint
            e.db_p50, e.db_p95 = round(percentile(wall, 50), 2), round(percentile(wall, 95), 2)
            e.sql_p50, e.sql_p95 = round(percentile(sql, 50), 2), round(percentile(sql, 95), 2)
    finally:
        await pool.close()


# --- the run --------------------------------------------------------------------------------------


async def _start_api(settings: Settings) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse", "run", "api", env=_env(settings, PULSE_HTTP_PORT=str(port)),
        stdout=sys.stderr.fileno(),  # its messages go with the progress, not into the table
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError("`pulse run api` exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return proc, base
            await asyncio.sleep(0.1)
    await _stop(proc)
    raise RuntimeError("`pulse run api` did not answer /healthz within 60 s")


async def _token(pool: asyncpg.Pool, base: str) -> str:
    """An API client of the tenant with the customer role, and a token for it from the running server."""
    async with operator_tx(pool, "bench") as conn:
        client = await create_api_client(
            conn, name="bench-api", tenant_id=TENANT, role=CUSTOMER, created_by="bench"
        )
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.client_secret),
        )
    if response.status_code != 200:
        raise RuntimeError(f"POST /oauth/token: {response.status_code} {response.text[:300]}")
    return response.json()["access_token"]


async def run_api_bench(
    *,
    devices: int,
    rows: int,
    alerts: int,
    requests: int,
    concurrency: int,
    database_url: str | None = None,
    mqtt_url: str | None = None,
) -> ApiBench:
    rng = random.Random(4)
    async with contextlib.AsyncExitStack() as stack:
        # The API does not use the broker for these reads; /readyz and the settings want one.
        servers = await start_servers(
            stack, database_url=database_url, mqtt_url=mqtt_url, on_progress=_progress
        )
        settings, pool = servers.settings, servers.pool
        pg = servers.postgres
        pg_pid = pg.process.pid if pg and pg.process else None
        _progress("seeding")
        started = time.perf_counter()
        dense, dense_each, sample = await seed(pool, devices, rows, alerts, rng)
        seed_seconds = time.perf_counter() - started
        _progress(f"seeded in {seed_seconds:.0f} s")
        async with pool.acquire() as conn:
            pg_version = await conn.fetchval("SHOW server_version")
            shared_buffers = await conn.fetchval("SHOW shared_buffers")
            telemetry_size = await conn.fetchval(
                "SELECT pg_size_pretty(COALESCE(sum(pg_total_relation_size(inhrelid)), 0)) FROM pg_inherits "
                "WHERE inhparent = 'telemetry'::regclass"
            )
        result = ApiBench(
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            postgres=f"{pg_version}, shared_buffers {shared_buffers}",
            telemetry_size=telemetry_size,
            devices=devices,
            telemetry_rows=rows,
            alerts=alerts,
            dense_devices=len(dense),
            dense_rows_each=dense_each,
            requests=requests,
            warmup=WARMUP,
            seed_seconds=round(seed_seconds, 1),
        )
        targets = _targets(dense, sample)
        result.endpoints = [t.endpoint for t in targets]

        _progress("starting `pulse run api`")
        proc, base = await _start_api(settings)
        try:
            token = await _token(pool, base)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                _progress(f"HTTP sequential: {requests} requests per endpoint after {WARMUP} warm-up")
                await http_sequential(client, targets, requests)
                if concurrency > 1:
                    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
                    async with httpx.AsyncClient(
                        base_url=base, headers=headers, timeout=30, limits=limits
                    ) as pooled:
                        for t in targets:
                            _progress(f"HTTP concurrent ({concurrency} clients): {t.endpoint.key}")
                            result.concurrent.append(
                                await http_concurrent(pooled, t, requests, concurrency, proc.pid, pg_pid)
                            )
        finally:
            await _stop(proc)
        _progress("in-process database work (no HTTP)")
        await in_process(settings, targets, requests)
        return result


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def format_report(result: ApiBench) -> str:
    lines = [
        f"machine: {result.machine}; PostgreSQL {result.postgres}",
        f"tenant: {result.devices} devices over {SITES} sites, {result.telemetry_rows} telemetry rows in the "
        f"last 24 h ({result.dense_devices} devices x {result.dense_rows_each} rows, the rest spread; "
        f"{result.telemetry_size} with indexes), {result.alerts} alerts; seeded in {result.seed_seconds} s",
        f"{result.requests} requests per endpoint after {result.warmup} warm-up, sequential from one "
        "keep-alive client, endpoints interleaved; times in ms",
        "",
        f"| endpoint | p50 | p95 | p99 | req/s | p50 / healthz | p95 <= {result.target_p95_ms:g} "
        "| DB work in-process p50 / p95 | SQL only p50 / p95 | statements | response bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in result.endpoints:
        met = "–" if e.target_met is None else ("yes" if e.target_met else "NO")
        lines.append(
            f"| {e.label} | {e.p50:.2f} | {e.p95:.2f} | {e.p99:.2f} | {e.requests_per_s} "
            f"| {'1 (baseline)' if e.vs_healthz_p50 is None else e.vs_healthz_p50} | {met} "
            f"| {_ms(e.db_p50)} / {_ms(e.db_p95)} | {_ms(e.sql_p50)} / {_ms(e.sql_p95)} "
            f"| {e.statements or '–'} | {e.bytes} |"
        )
    if result.concurrent:
        labels = {e.key: e.label for e in result.endpoints}
        c0 = result.concurrent[0]
        lines += [
            "",
            f"{c0.concurrency} concurrent clients, {c0.requests} requests per endpoint (CPU ms per request: "
            "API process / PostgreSQL / this client)",
            "",
            "| endpoint | req/s | p50 | p95 | p99 | CPU ms/request API / PG / client |",
            "|---|---|---|---|---|---|",
        ]
        for c in result.concurrent:
            lines.append(
                f"| {labels[c.key]} | {c.requests_per_s} | {c.p50:.2f} | {c.p95:.2f} | {c.p99:.2f} "
                f"| {c.api_cpu_ms:.2f} / {_ms(c.postgres_cpu_ms)} / {c.client_cpu_ms:.2f} |"
            )
    lines += [
        "",
        "DB work in-process: the handler's dependency (tenant_tx + tenant check) and the same query functions,",
        "run in this process with asyncpg (rows turned into models, no HTTP); SQL only: the round trips within it.",
        "Requests: " + "; ".join(f"{e.key} {e.example}" for e in result.endpoints),
    ]
    floor = result.endpoints[0].p50 if result.endpoints else 0
    if floor > 30:
        lines.append(
            f"Note: the /healthz floor is {floor:.0f} ms, the signature of Nagle's algorithm meeting delayed ACKs "
            "(no TCP_NODELAY on the server's sockets): small responses wait ~40 ms for the client's ACK."
        )
    return "\n".join(lines)


def as_json(result: ApiBench) -> bytes:
    return orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2)
