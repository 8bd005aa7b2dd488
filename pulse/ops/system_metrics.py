"""The platform's own time series in `system_metrics` (reference §11's collector), written by the ops
service every `PULSE_SYSTEM_METRICS_SECONDS`; kept `system_metrics_retention_days` by the daily
partitions (`pulse.db.partitions`). `/operator/system/metrics[/history]` read them.

Each point is one `(metric_name, service, value)`:
- per service, the counters every live process reports with its heartbeat (`service_health.details.
  counters`, cumulative since that process started), summed once per process — `pulse up` runs every
  service in one process, whose rows all carry the same counters;
- `platform`: live processes, devices by status, open alerts, the delivery backlog and dead letters,
  rejections in the last minute;
- `postgres`: connections and database size.
Every query is an index lookup or a catalog read; none scans telemetry.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from pulse.config import Settings
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS, run_every

log = get_logger("pulse.ops")

ALIVE_SECONDS = 45  # a heartbeat older than this is a process gone (platform_health's threshold too)
# counter reported by processes -> the service it is shown under
COUNTER_SERVICES = {
    "messages_received": "ingest",
    "messages_written": "ingest",
    "messages_rejected": "ingest",
    "ingest_queue_depth": "ingest",
    "alerts_opened": "evaluator",
    "alerts_closed": "evaluator",
    "evaluation_errors": "evaluator",
    "deliveries_sent": "notify",
    "deliveries_failed": "notify",
    "escalations_fired": "escalation",
}

Sample = tuple[str, str, float]  # metric_name, service, value


async def process_counters(conn: asyncpg.Connection) -> tuple[dict[str, float], int]:
    """Counters summed over live processes (each process once), and how many processes are live."""
    rows = await conn.fetch(
        """SELECT service, details FROM service_health
            WHERE checked_at > now() - make_interval(secs => $1) AND service LIKE '%@%'""",
        ALIVE_SECONDS,
    )
    per_process: dict[str, dict] = {}
    for row in rows:
        process = row["service"].split("@", 1)[1]
        per_process.setdefault(process, (row["details"] or {}).get("counters") or {})
    totals: dict[str, float] = defaultdict(float)
    for counters in per_process.values():
        for key in COUNTER_SERVICES:
            value = counters.get(key)
            if isinstance(value, int | float):
                totals[key] += value
    return dict(totals), len(per_process)


async def gather(conn: asyncpg.Connection) -> list[Sample]:
    counters, processes = await process_counters(conn)
    samples: list[Sample] = [(key, COUNTER_SERVICES[key], counters.get(key, 0.0)) for key in COUNTER_SERVICES]
    samples.append(("processes_alive", "platform", float(processes)))
    by_status = dict.fromkeys(("ONLINE", "STALE", "OFFLINE"), 0)
    for status, count in await conn.fetch("SELECT status, count(*) FROM device_state GROUP BY status"):
        by_status[status] = count
    samples += [(f"devices_{status.lower()}", "platform", float(n)) for status, n in by_status.items()]
    platform = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM alerts WHERE status IN ('OPEN', 'ACKNOWLEDGED')) AS alerts_open,
                  (SELECT count(*) FROM delivery_jobs WHERE status = 'PENDING') AS deliveries_pending,
                  (SELECT count(*) FROM delivery_jobs WHERE status = 'FAILED') AS deliveries_dead_letters,
                  (SELECT COALESCE(sum(cnt), 0) FROM quarantine_counters_minute
                    WHERE bucket_minute >= date_trunc('minute', now()) - interval '1 minute')
                      AS rejections_last_minute"""
    )
    samples += [(name, "platform", float(value)) for name, value in platform.items()]
    postgres = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
                  pg_database_size(current_database()) AS db_size_bytes"""
    )
    samples += [(name, "postgres", float(value)) for name, value in postgres.items()]
    return samples


async def collect(pool: asyncpg.Pool) -> int:
    """One collection: every sample at the same time. Returns how many points were written."""
    async with operator_tx(pool, "service:ops") as conn:
        samples = await gather(conn)
        await conn.execute(
            """INSERT INTO system_metrics (time, metric_name, service, value)
               SELECT now(), m, s, v FROM unnest($1::text[], $2::text[], $3::float8[]) AS x(m, s, v)""",
            [s[0] for s in samples],
            [s[1] for s in samples],
            [s[2] for s in samples],
        )
    return len(samples)


async def run_loop(pool: asyncpg.Pool, settings: Settings) -> None:
    await run_every(
        settings.system_metrics_seconds,
        lambda: collect(pool),
        log=log,
        failure="system metrics collection failed; will retry",
        expected=OUTAGE_ERRORS,
    )
