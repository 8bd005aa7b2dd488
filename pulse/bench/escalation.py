"""`pulse bench escalation`: how late escalation levels fire when many fall due at once, and how long an
on-call timeline takes to compute.

One run, a private embedded PostgreSQL unless a URL is given, `pulse run escalation` as its own process:

1. lateness: `alerts` open alerts whose first level falls due spread evenly over `spread` seconds
   (their level reaches the person on call of a schedule by e-mail: schedule resolution, contact
   routes, an acknowledge link and a delivery job per fire), while new alerts keep opening at
   `open_rate` per second; each fire's lateness = when the worker recorded it (just before its
   commit) minus its due time; p50/p99/max, against the target p99 ≤ 1 s;
2. the escalation process's CPU per 1,000 fires;
3. the 90-day timeline of a 5-layer schedule with 50 overrides (`pulse.oncall.bench`), p50/p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field

import asyncpg
import orjson

from pulse.bench.ingest import _cpu_seconds, _env, _stop
from pulse.bench.servers import start_servers
from pulse.db.tx import operator_tx
from pulse.oncall.bench import timeline_benchmark

TENANT = "bench-escalation"
LEAD_SECONDS = 15.0  # between the seeding and the first due time: the service is up by then
P99_TARGET_MS = 1000.0


@dataclass
class EscalationBench:
    machine: str
    postgres: str
    alerts: int
    spread_seconds: float
    open_rate: float
    opened_meanwhile: int
    fired: int
    late_ms_p50: float
    late_ms_p99: float
    late_ms_max: float
    escalation_cpu_ms_per_1000: float
    jobs: int
    timeline: dict
    p99_met: bool = False
    notes: list[str] = field(default_factory=list)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)


async def _seed(pool: asyncpg.Pool) -> None:
    async with operator_tx(pool, "bench") as conn:
        await conn.execute("DELETE FROM tenants WHERE tenant_id = $1", TENANT)
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ($1, 'Escalation bench')", TENANT)
        people = [
            await conn.fetchval(
                """INSERT INTO users (tenant_id, username, email, password_hash, roles)
                   VALUES ($1, $2, $3, 'h', '{customer}') RETURNING user_id""",
                TENANT,
                f"{TENANT}-{n}",
                f"oncall-{n}@example.com",
            )
            for n in range(5)
        ]
        schedule = await conn.fetchval(
            """INSERT INTO oncall_schedules (tenant_id, name, timezone) VALUES ($1, 'Bench', 'Europe/London')
               RETURNING schedule_id""",
            TENANT,
        )
        await conn.execute(
            """INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, handoff_weekday,
                                          start_date, participants)
               VALUES ($1, $2, 'Primary', 1, 'weekly', 0, current_date - 30, $3)""",
            TENANT,
            schedule,
            people[:3],
        )
        policy = await conn.fetchval(
            """INSERT INTO escalation_policies (tenant_id, name, is_default) VALUES ($1, 'Bench', true)
               RETURNING policy_id""",
            TENANT,
        )
        await conn.executemany(
            """INSERT INTO escalation_levels (tenant_id, policy_id, level_number, delay_minutes, targets)
               VALUES ($1, $2, $3, $4, $5)""",
            [
                (TENANT, policy, 1, 1, [{"type": "schedule", "id": schedule}]),
                (TENANT, policy, 2, 600, [{"type": "user", "id": str(people[4])}]),
            ],
        )


async def _open_due_spread(pool: asyncpg.Pool, count: int, spread: float) -> None:
    """`count` alerts whose level 1 (1 minute after open) falls due evenly over `spread` seconds from
    LEAD_SECONDS from now: opened (the trigger takes the snapshot) a minute before their due time."""
    async with operator_tx(pool, "bench") as conn:
        await conn.execute(
            """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary,
                                   created_at)
               SELECT $1, 'site', 'dev-' || i, 'THRESHOLD', 'bench-' || i, 5, 'bench alert',
                      clock_timestamp() + make_interval(secs => $3::float8 - 60 + i * $4::float8)
                 FROM generate_series(0, $2 - 1) AS i""",
            TENANT,
            count,
            LEAD_SECONDS,
            spread / count,
        )


async def _keep_opening(pool: asyncpg.Pool, rate: float, stop: asyncio.Event) -> int:
    """New alerts while the due ones fire: each is an insert the worker's claims run alongside."""
    opened = 0
    while not stop.is_set():
        async with operator_tx(pool, "bench") as conn:
            await conn.execute(
                """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary)
                   VALUES ($1, 'site', 'live-' || $2::int, 'THRESHOLD', 'live-' || $2::int, 5, 'live alert')""",
                TENANT,
                opened,
            )
        opened += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / rate)
    return opened


async def _fired(pool: asyncpg.Pool) -> int:
    async with operator_tx(pool, "bench") as conn:
        return await conn.fetchval(
            """SELECT count(*) FROM escalation_events e JOIN alerts a ON a.tenant_id = e.tenant_id AND a.id = e.alert_id
                WHERE e.tenant_id = $1 AND e.event = 'fired' AND a.fingerprint LIKE 'bench-%'""",
            TENANT,
        )


async def _until_fired(pool: asyncpg.Pool, count: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if await _fired(pool) >= count:
            return
        await asyncio.sleep(1.0)


async def run_escalation_bench(
    *, alerts: int, spread: float, open_rate: float, database_url: str | None = None
) -> EscalationBench:
    async with contextlib.AsyncExitStack() as stack:
        servers = await start_servers(stack, database_url=database_url, mqtt_url=None, broker=False)
        settings, pool = servers.settings, servers.pool
        async with pool.acquire() as conn:
            pg_version = await conn.fetchval("SHOW server_version")
        await _seed(pool)
        escalation = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse",
            "run",
            "escalation",
            env=_env(settings, PULSE_ESCALATION_BATCH="500"),
        )
        stack.push_async_callback(_stop, escalation)
        await _open_due_spread(pool, alerts, spread)
        cpu_before = _cpu_seconds(escalation.pid)
        stop = asyncio.Event()
        opener = asyncio.create_task(_keep_opening(pool, open_rate, stop))
        await _until_fired(pool, alerts, time.monotonic() + LEAD_SECONDS + spread + 60)
        stop.set()
        opened = await opener
        cpu = _cpu_seconds(escalation.pid) - cpu_before
        async with operator_tx(pool, "bench") as conn:
            late = [
                float(r["ms"])
                for r in await conn.fetch(
                    """SELECT extract(epoch FROM e.created_at - (e.details ->> 'due_at')::timestamptz) * 1000 AS ms
                         FROM escalation_events e JOIN alerts a ON a.tenant_id = e.tenant_id AND a.id = e.alert_id
                        WHERE e.tenant_id = $1 AND e.event = 'fired' AND a.fingerprint LIKE 'bench-%'""",
                    TENANT,
                )
            ]
            jobs = await conn.fetchval("SELECT count(*) FROM delivery_jobs WHERE tenant_id = $1", TENANT)
        result = EscalationBench(
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            postgres=pg_version,
            alerts=alerts,
            spread_seconds=spread,
            open_rate=open_rate,
            opened_meanwhile=opened,
            fired=len(late),
            late_ms_p50=_percentile(late, 0.5),
            late_ms_p99=_percentile(late, 0.99),
            late_ms_max=_percentile(late, 1.0),
            escalation_cpu_ms_per_1000=round(cpu * 1000 / max(len(late), 1) * 1000, 1),
            jobs=jobs,
            timeline=timeline_benchmark(50),
        )
        result.p99_met = result.fired == alerts and result.late_ms_p99 <= P99_TARGET_MS
        if result.fired != alerts:
            result.notes.append(f"only {result.fired} of {alerts} levels fired before the deadline")
        return result


def format_report(r: EscalationBench) -> str:
    t = r.timeline
    lines = [
        f"machine: {r.machine}; PostgreSQL {r.postgres}",
        "",
        f"lateness, {r.alerts} levels due over {r.spread_seconds:g} s while {r.opened_meanwhile} alerts opened "
        f"({r.open_rate:g}/s): fired {r.fired}, {r.jobs} delivery jobs",
        f"  fired − due: p50 {r.late_ms_p50} ms, p99 {r.late_ms_p99} ms, max {r.late_ms_max} ms; "
        f"p99 ≤ {P99_TARGET_MS:g} ms: {'yes' if r.p99_met else 'NO'}",
        f"  escalation process CPU: {r.escalation_cpu_ms_per_1000} ms per 1,000 fires",
        "",
        f"timeline: {t['days']} days of {t['layers']} layers with {t['overrides']} overrides ({t['slots']} slots), "
        f"p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms over {t['repeats']} runs",
    ]
    lines += [f"note: {note}" for note in r.notes]
    return "\n".join(lines)


def as_json(result: EscalationBench) -> bytes:
    return orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2)
