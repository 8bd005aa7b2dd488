"""`pulse bench notify`: how many webhook deliveries per second the notification engine completes, and
how long an alert takes from its commit to its delivery at a local receiver.

One run, a private embedded PostgreSQL unless `database_url` is given (then use a scratch database:
the run replaces the tenant `bench-notify` and the engine dispatches every new alert event in it).
Three processes besides this one, so the code under test gets its own interpreter:

- a webhook receiver on 127.0.0.1 (`python -m pulse.bench.notify receive`): a bare asyncio HTTP/1.1
  server (keep-alive) that verifies the Standard Webhooks signature of every request, records its
  arrival time and counts duplicates (by `webhook-id`, and by alert and event);
- `pulse run notify`, the service as production runs it, allowed to reach loopback;
- the baseline (`python -m pulse.bench.notify post`): the same receiver hit by a plain poster using
  the engine's own HTTP client settings (`deliver.http_client`), with the same concurrency
  (`PULSE_NOTIFY_CONCURRENCY`), the same number of requests and bodies of the same size, each signed.

Phases, after a warm-up (a few alerts delivered, which also gives the body size):
1. throughput: `alerts` alerts opened in one transaction (one event and one job each); rate = alerts /
   (the moment every job is COMPLETED in the database, polled every 50 ms - the commit); ratio = that
   rate / the baseline's rate. Accounting: arrivals, duplicates, bad signatures, attempts, FAILED jobs;
2. latency: with the service idle, `latency_alerts` alerts opened one per transaction at `rate` per
   second; latency = the receiver's arrival time - the time right after each commit returned
   (CLOCK_MONOTONIC, shared by all processes of the machine); p50/p95/p99/max, and where it goes from
   the rows' own timestamps: commit → job row (the dispatch transaction's start), job → attempt
   start (the worker took it), attempt start → arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field

import asyncpg
import httpx
import orjson
import psutil

from pulse.bench.ingest import _cpu_seconds, _env, _stop
from pulse.bench.servers import start_servers
from pulse.config import load_settings
from pulse.db.tx import operator_tx
from pulse.embedded import EmbeddedPostgres

TENANT = "bench-notify"
SITE = "bench-site"
HOOK = "/hook"
CONTROL = "/_bench"
WARMUP = 20
STALL_SECONDS = 60.0  # give up on a phase when nothing arrived for this long
TOLERANCE = 300  # seconds a Standard Webhooks timestamp may be off


@dataclass
class Throughput:
    jobs: int
    concurrency: int
    body_bytes: int  # mean body size of the engine's deliveries (the baseline posts the same size)
    baseline_rate: float  # requests/s of the plain poster (first request → last response)
    baseline_ok: int  # its requests answered 200 (each arrived once with a valid signature, or the run fails)
    rate: float  # jobs/s: jobs / (all COMPLETED in the database - commit of the alerts)
    arrival_rate: float  # deliveries/s: jobs / (last arrival - commit)
    ratio: float  # rate / baseline_rate
    first_arrival_ms: float  # commit → first delivery at the receiver
    delivered: int  # distinct (alert, event) deliveries that arrived
    duplicates: int  # requests beyond one per webhook-id or per (alert, event)
    bad_signatures: int
    completed: int  # delivery_jobs COMPLETED
    failed: int  # delivery_jobs FAILED (dead letters)
    attempts: int  # delivery_attempts rows
    notify_cpu_ms_per_1000: float  # CPU of the notify process per 1,000 jobs
    baseline_cpu_ms_per_1000: float  # CPU of the poster process per 1,000 requests
    receiver_cpu_ms_per_1000: float  # CPU of the receiver per 1,000 deliveries (engine phase)
    postgres_cpu_ms_per_1000: float | None  # embedded PostgreSQL (all its processes) per 1,000 jobs


@dataclass
class Latency:
    alerts: int
    rate: float  # alerts opened per second
    delivered: int
    duplicates: int
    bad_signatures: int
    ms_p50: float
    ms_p95: float
    ms_p99: float
    ms_max: float
    # where the time goes (p50 / p99, ms), from the rows' timestamps and the receiver's wall clock
    commit_to_job_ms: tuple[float, float] = (0.0, 0.0)
    job_to_attempt_ms: tuple[float, float] = (0.0, 0.0)
    attempt_to_arrival_ms: tuple[float, float] = (0.0, 0.0)


@dataclass
class NotifyBench:
    machine: str
    postgres: str
    load_average: float  # 1-minute load average when the run started (the machine is shared)
    concurrency: int
    throughput: Throughput
    latency: Latency
    p99_target_ms: float = 500.0
    p99_met: bool = False
    notes: list[str] = field(default_factory=list)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- Standard Webhooks, written here from the specification (not Pulse's signing module) ---


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _verified(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    expected = _signature(key, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in headers.get("webhook-signature", "").split())


# --- the receiver (its own process) ---


class _Recorder:
    def __init__(self, secret: str):
        self.key = _key(secret)
        self.reset()

    def reset(self) -> None:
        self.arrivals: list[tuple[int, str, float, float, int]] = []  # alert, event, mono, wall, bytes
        self.ids: set[str] = set()
        self.events: set[tuple[int, str]] = set()
        self.requests = self.duplicates = self.bad_signatures = 0

    def hook(self, headers: dict[str, str], body: bytes) -> None:
        mono, wall = time.monotonic(), time.time()
        self.requests += 1
        if not _verified(self.key, headers, body):
            self.bad_signatures += 1
        msg_id = headers.get("webhook-id", "")
        try:
            data = orjson.loads(body)
            alert, event = int(data["alert_id"]), str(data["event"])
        except (ValueError, KeyError, TypeError):
            alert, event = -1, "?"
        duplicate = msg_id in self.ids or (alert, event) in self.events
        self.ids.add(msg_id)
        self.events.add((alert, event))
        if duplicate:
            self.duplicates += 1
            return
        self.arrivals.append((alert, event, mono, wall, len(body)))

    def control(self, method: str, path: str) -> bytes:
        if path == f"{CONTROL}/reset" and method == "POST":
            self.reset()
            return b"{}"
        if path == f"{CONTROL}/arrivals":
            return orjson.dumps(self.arrivals)
        last = self.arrivals[-1][2] if self.arrivals else None
        return orjson.dumps(
            {
                "delivered": len(self.arrivals),
                "requests": self.requests,
                "duplicates": self.duplicates,
                "bad_signatures": self.bad_signatures,
                "last": last,
            }
        )


class _Http(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length bodies: all the engine and httpx send."""

    def __init__(self, recorder: _Recorder):
        self.recorder = recorder
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            try:
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            if path.startswith(CONTROL):
                payload = self.recorder.control(method, path)
            else:
                self.recorder.hook(headers, body)
                payload = b"ok"
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )


async def _receive(secret: str) -> None:
    recorder = _Recorder(secret)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(recorder), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(orjson.dumps({"port": port}).decode() + "\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


# --- the baseline poster (its own process) ---


def _body(alert_id: int, size: int) -> bytes:
    base = {"alert_id": alert_id, "event": "OPEN", "pad": ""}
    base["pad"] = "x" * max(0, size - len(orjson.dumps(base)))
    return orjson.dumps(base)


async def _post(url: str, secret: str, count: int, concurrency: int, size: int) -> dict:
    from pulse.notify.deliver import http_client

    key = _key(secret)
    pending = iter(range(1, count + 1))
    ok = 0
    settings = load_settings(notify_concurrency=concurrency)
    async with http_client(settings) as http:

        async def worker() -> None:
            nonlocal ok
            for n in pending:
                body, msg_id, ts = _body(n, size), f"baseline-{n}", str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": ts,
                    "webhook-signature": _signature(key, msg_id, ts, body),
                }
                response = await http.post(url, content=body, headers=headers)
                ok += response.status_code == 200

        cpu, started = _cpu_seconds(os.getpid()), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        finished = time.monotonic()
        cpu = _cpu_seconds(os.getpid()) - cpu
    return {"started": started, "finished": finished, "ok": ok, "cpu": cpu}


# --- the run ---


async def _seed(pool: asyncpg.Pool, url: str, secret: str) -> None:
    """The tenant, a signed webhook integration and one route for OPEN and CLOSED, as the admin API
    would store them (`pulse/api/routes/admin/integrations.py`)."""
    async with operator_tx(pool, "bench") as conn:
        await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", TENANT)
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, 'Notify benchmark')", TENANT)
        integration = await conn.fetchval(
            "INSERT INTO integrations (tenant_id, name, type, config_json) VALUES ($1, 'bench receiver', "
            "'webhook', $2) RETURNING integration_id",
            TENANT,
            {"url": url, "secret": secret},
        )
        await conn.execute(
            "INSERT INTO integration_routes (tenant_id, integration_id, name, deliver_on) "
            "VALUES ($1, $2, 'all alerts', '{OPEN,CLOSED}')",
            TENANT,
            integration,
        )


_OPEN = """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, rule_id, severity, summary,
                               details)
           SELECT $1, $2, 'bench-' || lpad(g::text, 5, '0'), 'THRESHOLD',
                  'RULE:bench:' || $3 || ':' || g, 'bench', 4, 'temperature_c 71.5 > 50',
                  '{"metric": "temperature_c", "value": 71.5, "threshold": 50}'
             FROM generate_series(1, $4::int) g
           RETURNING id"""


async def _open(pool: asyncpg.Pool, phase: str, count: int) -> tuple[list[int], float, float]:
    """Open `count` alerts in one transaction as the evaluator would (`operator_tx`, its actor); returns
    their ids and the monotonic and wall times right after COMMIT returned (before the pool's release)."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE pulse_operator")
            await conn.execute("SELECT set_config('app.actor', 'service:evaluator', true)")
            rows = await conn.fetch(_OPEN, TENANT, SITE, phase, count)
        return [r["id"] for r in rows], time.monotonic(), time.time()


class _Receiver:
    """Talks to the receiver process's control paths."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}{HOOK}"
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)

    async def stats(self) -> dict:
        return (await self.http.get(f"{CONTROL}/stats")).json()

    async def arrivals(self) -> list[list]:
        return (await self.http.get(f"{CONTROL}/arrivals")).json()

    async def reset(self) -> None:
        await self.http.post(f"{CONTROL}/reset")

    async def wait_for(self, count: int) -> dict:
        """Poll until `count` distinct deliveries arrived, or nothing new came for STALL_SECONDS."""
        seen, progress = -1, time.monotonic()
        while True:
            stats = await self.stats()
            if stats["delivered"] >= count:
                return stats
            if stats["delivered"] != seen:
                seen, progress = stats["delivered"], time.monotonic()
            elif time.monotonic() - progress > STALL_SECONDS:
                return stats
            await asyncio.sleep(0.05)


async def _job_counts(pool: asyncpg.Pool, alert_ids: list[int]) -> dict[str, int]:
    async with operator_tx(pool, "bench") as conn:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM delivery_jobs WHERE tenant_id = $1 AND alert_id = ANY($2::bigint[]) "
            "GROUP BY status",
            TENANT,
            alert_ids,
        )
        attempts = await conn.fetchval(
            "SELECT count(*) FROM delivery_attempts a JOIN delivery_jobs j USING (tenant_id, job_id) "
            "WHERE j.tenant_id = $1 AND j.alert_id = ANY($2::bigint[])",
            TENANT,
            alert_ids,
        )
    return {r["status"]: r["n"] for r in rows} | {"attempts": attempts}


def _postgres_cpu(pg: EmbeddedPostgres | None) -> float:
    """CPU seconds of the embedded server and its live backends (exited ones are not counted)."""
    if pg is None or pg.process is None:
        return 0.0
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pg.process.pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


async def _helper(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pulse.bench.notify", *args, stdout=asyncio.subprocess.PIPE, env=env
    )


async def _throughput(
    pool: asyncpg.Pool,
    receiver: _Receiver,
    notify: asyncio.subprocess.Process,
    receiver_pid: int,
    pg: EmbeddedPostgres | None,
    *,
    alerts: int,
    concurrency: int,
    secret: str,
    env: dict[str, str],
) -> Throughput:
    # Warm-up: the service is up, its connections are open, and the deliveries' body size is known.
    await receiver.reset()
    await _open(pool, "warmup", WARMUP)
    stats = await receiver.wait_for(WARMUP)
    if stats["delivered"] < WARMUP:
        raise RuntimeError(f"the notify service delivered {stats['delivered']}/{WARMUP} warm-up alerts")
    sizes = [a[4] for a in await receiver.arrivals()]
    size = round(sum(sizes) / len(sizes))

    # Baseline: a plain poster, same receiver, concurrency, count and body size.
    await receiver.reset()
    poster = await _helper(
        "post",
        "--url",
        receiver.url,
        "--secret",
        secret,
        "--count",
        str(alerts),
        "--concurrency",
        str(concurrency),
        "--size",
        str(size),
        env=env,
    )
    out, _ = await poster.communicate()
    posted = orjson.loads(out.splitlines()[-1])
    base = await receiver.stats()
    baseline = alerts / max(posted["finished"] - posted["started"], 1e-6)
    if base["delivered"] != alerts or base["bad_signatures"] or base["duplicates"]:
        raise RuntimeError(f"the baseline's requests did not all arrive once, signed: {base}")

    # Under test: `alerts` alerts in one transaction → as many events and jobs.
    await receiver.reset()
    cpu = {
        "notify": _cpu_seconds(notify.pid),
        "receiver": _cpu_seconds(receiver_pid),
        "pg": _postgres_cpu(pg),
    }
    ids, committed, _ = await _open(pool, "burst", alerts)
    stats = await receiver.wait_for(alerts)
    arrived = time.monotonic()
    while True:
        counts = await _job_counts(pool, ids)
        if counts.get("COMPLETED", 0) + counts.get("FAILED", 0) >= alerts or time.monotonic() - arrived > 30:
            break
        await asyncio.sleep(0.05)
    done = time.monotonic()
    used = {
        "notify": _cpu_seconds(notify.pid) - cpu["notify"],
        "receiver": _cpu_seconds(receiver_pid) - cpu["receiver"],
        "pg": _postgres_cpu(pg) - cpu["pg"],
    }
    arrivals = await receiver.arrivals()
    first = min((a[2] for a in arrivals), default=committed)
    last = stats["last"] or committed
    rate = alerts / max(done - committed, 1e-6)
    per_1000 = 1e6 / max(alerts, 1)
    return Throughput(
        jobs=alerts,
        concurrency=concurrency,
        body_bytes=size,
        baseline_rate=round(baseline, 1),
        baseline_ok=posted["ok"],
        rate=round(rate, 1),
        arrival_rate=round(alerts / max(last - committed, 1e-6), 1),
        ratio=round(rate / baseline, 3) if baseline else 0.0,
        first_arrival_ms=round((first - committed) * 1000, 1),
        delivered=stats["delivered"],
        duplicates=stats["duplicates"],
        bad_signatures=stats["bad_signatures"],
        completed=counts.get("COMPLETED", 0),
        failed=counts.get("FAILED", 0),
        attempts=counts["attempts"],
        notify_cpu_ms_per_1000=round(used["notify"] * per_1000, 1),
        baseline_cpu_ms_per_1000=round(posted["cpu"] * per_1000, 1),
        receiver_cpu_ms_per_1000=round(used["receiver"] * per_1000, 1),
        postgres_cpu_ms_per_1000=round(used["pg"] * per_1000, 1) if pg is not None else None,
    )


async def _latency(pool: asyncpg.Pool, receiver: _Receiver, *, alerts: int, rate: float) -> Latency:
    await receiver.reset()
    await asyncio.sleep(1.0)  # let the service go idle
    commits: dict[int, tuple[float, float]] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(alerts):
        delay = start + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        (alert_id,), mono, wall = await _open(pool, f"latency-{n}", 1)
        commits[alert_id] = (mono, wall)
    stats = await receiver.wait_for(alerts)
    arrivals = {a[0]: a for a in await receiver.arrivals() if a[0] in commits}
    latencies = [(arrivals[i][2] - commits[i][0]) * 1000 for i in commits if i in arrivals]

    async with operator_tx(pool, "bench") as conn:
        rows = await conn.fetch(
            """SELECT j.alert_id, extract(epoch FROM j.created_at) AS job,
                      extract(epoch FROM min(a.started_at)) AS attempt
                 FROM delivery_jobs j JOIN delivery_attempts a USING (tenant_id, job_id)
                WHERE j.tenant_id = $1 AND j.alert_id = ANY($2::bigint[])
                GROUP BY j.job_id""",
            TENANT,
            list(commits),
        )
    stages: dict[str, list[float]] = {"job": [], "attempt": [], "arrival": []}
    for r in rows:
        alert_id = r["alert_id"]
        if alert_id not in arrivals:
            continue
        job, attempt = float(r["job"]), float(r["attempt"])
        stages["job"].append((job - commits[alert_id][1]) * 1000)
        stages["attempt"].append((attempt - job) * 1000)
        stages["arrival"].append((arrivals[alert_id][3] - attempt) * 1000)

    def p50_p99(values: list[float]) -> tuple[float, float]:
        return round(_percentile(values, 50), 1), round(_percentile(values, 99), 1)

    return Latency(
        alerts=alerts,
        rate=rate,
        delivered=len(latencies),
        duplicates=stats["duplicates"],
        bad_signatures=stats["bad_signatures"],
        ms_p50=round(_percentile(latencies, 50), 1),
        ms_p95=round(_percentile(latencies, 95), 1),
        ms_p99=round(_percentile(latencies, 99), 1),
        ms_max=round(max(latencies, default=0.0), 1),
        commit_to_job_ms=p50_p99(stages["job"]),
        job_to_attempt_ms=p50_p99(stages["attempt"]),
        attempt_to_arrival_ms=p50_p99(stages["arrival"]),
    )


async def run_notify_bench(
    *,
    alerts: int,
    latency_alerts: int,
    rate: float,
    concurrency: int,
    database_url: str | None = None,
) -> NotifyBench:
    load = round(os.getloadavg()[0], 2)
    async with contextlib.AsyncExitStack() as stack:
        # The webhook channel never uses a broker.
        servers = await start_servers(stack, database_url=database_url, mqtt_url=None, broker=False)
        settings, pool, pg = servers.settings, servers.pool, servers.postgres
        async with pool.acquire() as conn:
            pg_version = await conn.fetchval("SHOW server_version")

        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        env = _env(settings)
        receiver_proc = await _helper("receive", "--secret", secret, env=env)
        stack.push_async_callback(_stop, receiver_proc)
        line = await asyncio.wait_for(receiver_proc.stdout.readline(), 30)
        receiver = _Receiver(orjson.loads(line)["port"])
        stack.push_async_callback(receiver.http.aclose)
        await _seed(pool, receiver.url, secret)

        notify = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse",
            "run",
            "notify",
            env=_env(settings, PULSE_NOTIFY_ALLOW_LOOPBACK="true", PULSE_NOTIFY_CONCURRENCY=str(concurrency)),
        )
        stack.push_async_callback(_stop, notify)

        throughput = await _throughput(
            pool,
            receiver,
            notify,
            receiver_proc.pid,
            pg,
            alerts=alerts,
            concurrency=concurrency,
            secret=secret,
            env=env,
        )
        latency = await _latency(pool, receiver, alerts=latency_alerts, rate=rate)
        result = NotifyBench(
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            postgres=pg_version,
            load_average=load,
            concurrency=concurrency,
            throughput=throughput,
            latency=latency,
        )
        result.p99_met = latency.delivered == latency_alerts and latency.ms_p99 <= result.p99_target_ms
        t = throughput
        if t.delivered != t.jobs or t.completed != t.jobs:
            result.notes.append(f"throughput: {t.delivered} arrived, {t.completed} COMPLETED of {t.jobs}")
        if latency.delivered != latency_alerts:
            result.notes.append(f"latency: {latency.delivered} of {latency_alerts} alerts delivered")
        if pg is None:
            result.notes.append("external PostgreSQL: the stage breakdown assumes its clock matches this one")
        return result


def format_report(r: NotifyBench) -> str:
    t, lat = r.throughput, r.latency
    lines = [
        f"machine: {r.machine}; load average {r.load_average} at the start; PostgreSQL {r.postgres}; "
        f"notify concurrency {r.concurrency}",
        "",
        f"throughput, {t.jobs} alerts opened at once ({t.body_bytes}-byte signed webhook bodies):",
        f"  plain httpx poster (baseline): {t.baseline_rate} requests/s ({t.baseline_ok} ok)",
        f"  pulse notify: {t.rate} jobs/s completed, {t.arrival_rate} deliveries/s arrived; "
        f"ratio {t.ratio}; first delivery {t.first_arrival_ms} ms after the commit",
        f"  accounting: {t.delivered} arrived, {t.completed} COMPLETED, {t.failed} FAILED, {t.attempts} attempts, "
        f"{t.duplicates} duplicates, {t.bad_signatures} bad signatures",
        f"  CPU ms per 1,000: notify {t.notify_cpu_ms_per_1000}, poster {t.baseline_cpu_ms_per_1000}, "
        f"receiver {t.receiver_cpu_ms_per_1000}, PostgreSQL {t.postgres_cpu_ms_per_1000}",
        "",
        f"latency, {lat.alerts} alerts at {lat.rate}/s, commit → arrival: p50 {lat.ms_p50} ms, p95 {lat.ms_p95} ms, "
        f"p99 {lat.ms_p99} ms, max {lat.ms_max} ms ({lat.delivered} delivered, {lat.duplicates} duplicates, "
        f"{lat.bad_signatures} bad signatures); p99 ≤ {r.p99_target_ms:g} ms: {'yes' if r.p99_met else 'NO'}",
        f"  p50 / p99 ms: commit → job {lat.commit_to_job_ms[0]} / {lat.commit_to_job_ms[1]}, "
        f"job → attempt {lat.job_to_attempt_ms[0]} / {lat.job_to_attempt_ms[1]}, "
        f"attempt → arrival {lat.attempt_to_arrival_ms[0]} / {lat.attempt_to_arrival_ms[1]}",
    ]
    lines += [f"note: {note}" for note in r.notes]
    return "\n".join(lines)


def as_json(result: NotifyBench) -> bytes:
    return orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pulse.bench.notify")
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("receive", help="the webhook receiver; prints its port")
    rec.add_argument("--secret", required=True)
    post = sub.add_parser("post", help="the baseline poster; prints its timings")
    post.add_argument("--url", required=True)
    post.add_argument("--secret", required=True)
    post.add_argument("--count", type=int, required=True)
    post.add_argument("--concurrency", type=int, required=True)
    post.add_argument("--size", type=int, required=True)
    args = parser.parse_args()
    if args.command == "receive":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_receive(args.secret))
    else:
        timings = asyncio.run(_post(args.url, args.secret, args.count, args.concurrency, args.size))
        sys.stdout.write(orjson.dumps(timings).decode() + "\n")
