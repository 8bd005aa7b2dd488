"""`pulse bench notify` with tiny sizes: the run completes and its accounting adds up (no timing asserted)."""

from __future__ import annotations

import orjson
import pytest

from pulse.bench.notify import as_json, format_report, run_notify_bench


@pytest.mark.slow
async def test_bench_notify_small_run(database_url):
    result = await run_notify_bench(
        alerts=40, latency_alerts=5, rate=20, concurrency=4, database_url=database_url
    )

    t = result.throughput
    assert t.jobs == 40 and t.concurrency == 4
    assert t.baseline_ok == 40 and t.baseline_rate > 0
    assert (t.delivered, t.completed, t.failed, t.attempts) == (40, 40, 0, 40)
    assert t.duplicates == 0 and t.bad_signatures == 0
    assert t.rate > 0 and t.ratio > 0 and t.body_bytes > 100
    assert t.postgres_cpu_ms_per_1000 is None  # external database: not measured

    lat = result.latency
    assert (lat.alerts, lat.delivered, lat.duplicates, lat.bad_signatures) == (5, 5, 0, 0)
    assert 0 < lat.ms_p50 <= lat.ms_p95 <= lat.ms_p99 <= lat.ms_max
    assert result.p99_met == (lat.ms_p99 <= result.p99_target_ms)

    data = orjson.loads(as_json(result))
    assert data["throughput"]["delivered"] == 40 and data["latency"]["delivered"] == 5
    report = format_report(result)
    assert "jobs/s" in report and "p99" in report
