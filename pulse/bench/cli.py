"""`pulse bench ...`: benchmarks (not tests) that print figures as ratios against a baseline measured
in the same run. Results go in bench/README.md."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(
    help="Benchmarks: figures against a baseline measured in the same run.", no_args_is_help=True
)

# Options every benchmark takes: private servers unless told otherwise, and an optional JSON copy.
DatabaseUrl = Annotated[
    str | None, typer.Option(help="A scratch PostgreSQL (default: a private embedded one).")
]
MqttUrl = Annotated[str | None, typer.Option(help="A broker (default: a private embedded Mosquitto).")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")]


def _run(name: str, json_out: Path | None, **options: object) -> None:
    """Run `pulse.bench.<name>` (imported only now: each bench pulls in what it measures), print its
    report and optionally write the figures as JSON."""
    module = importlib.import_module(f"pulse.bench.{name}")
    result = asyncio.run(getattr(module, f"run_{name}_bench")(**options))
    typer.echo(module.format_report(result))
    if json_out is not None:
        json_out.write_bytes(module.as_json(result))


@bench_app.command()
def ingest(
    devices: Annotated[
        int, typer.Option(min=1, max=100_000, help="Devices the messages are spread over.")
    ] = 1000,
    messages: Annotated[
        int, typer.Option(min=100, help="Messages per MQTT round (QoS 0, then QoS 1).")
    ] = 50_000,
    http_messages: Annotated[
        int, typer.Option(min=0, help="Messages through HTTP batch ingest (0: skip).")
    ] = 100_000,
    database_url: DatabaseUrl = None,
    mqtt_url: MqttUrl = None,
    json_out: JsonOut = None,
) -> None:
    """Ingest throughput: committed rows/s vs a bare paho subscriber, losses at QoS 0/1, HTTP batch rate."""
    _run(
        "ingest",
        json_out,
        devices=devices,
        messages=messages,
        http_messages=http_messages,
        database_url=database_url,
        mqtt_url=mqtt_url,
    )


@bench_app.command()
def api(
    devices: Annotated[int, typer.Option(min=10, max=100_000, help="Devices of the bench tenant.")] = 10_000,
    rows: Annotated[
        int, typer.Option(min=1000, max=10_000_000, help="Telemetry rows over the last 24 hours.")
    ] = 1_000_000,
    alerts: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Alerts of the tenant (mixed statuses).")
    ] = 3000,
    requests: Annotated[
        int, typer.Option(min=20, help="Measured requests per endpoint (after a warm-up of 30).")
    ] = 300,
    concurrency: Annotated[
        int, typer.Option(min=0, max=256, help="Clients of the concurrent round (0 or 1: skip it).")
    ] = 8,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="A scratch PostgreSQL; its tenant 'bench-api' is replaced (default: a private embedded one)."
        ),
    ] = None,
    mqtt_url: MqttUrl = None,
    json_out: JsonOut = None,
) -> None:
    """API read latency over HTTP: p50/p95/p99 of device list, device detail, alerts list and a 24-hour
    chart in 1-minute buckets, against GET /healthz and the same queries run directly with asyncpg."""
    _run(
        "api",
        json_out,
        devices=devices,
        rows=rows,
        alerts=alerts,
        requests=requests,
        concurrency=concurrency,
        database_url=database_url,
        mqtt_url=mqtt_url,
    )


@bench_app.command()
def alerts(
    breaches: Annotated[
        int, typer.Option(min=1, max=10_000, help="Breaching messages timed (one per device).")
    ] = 200,
    silent: Annotated[
        int, typer.Option(min=1, max=100_000, help="Devices that fall silent at once.")
    ] = 10_000,
    stale_seconds: Annotated[
        int, typer.Option(min=5, max=3600, help="The bench tenant's stale threshold.")
    ] = 30,
    capacity_messages: Annotated[
        int, typer.Option(min=1000, help="QoS 1 burst that measures ingest capacity (background = half).")
    ] = 20_000,
    database_url: DatabaseUrl = None,
    mqtt_url: MqttUrl = None,
    json_out: JsonOut = None,
) -> None:
    """Alert evaluation: publish → committed alert p50/p95/p99 under background telemetry at half the
    ingest capacity, NO_HEARTBEAT for a fleet falling silent, evaluator CPU per 1,000 messages."""
    _run(
        "alerts",
        json_out,
        breaches=breaches,
        silent=silent,
        stale_seconds=stale_seconds,
        capacity_messages=capacity_messages,
        database_url=database_url,
        mqtt_url=mqtt_url,
    )


@bench_app.command()
def notify(
    alerts: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Alerts opened at once for the throughput phase.")
    ] = 5000,
    latency_alerts: Annotated[
        int, typer.Option(min=1, max=100_000, help="Alerts opened one per transaction, each timed.")
    ] = 500,
    rate: Annotated[
        float, typer.Option(min=0.1, max=1000, help="Alerts per second in the latency phase.")
    ] = 20.0,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="PULSE_NOTIFY_CONCURRENCY of the service; the baseline poster's too."
        ),
    ] = 10,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="A scratch PostgreSQL; its tenant 'bench-notify' is replaced (default: a private embedded one)."
        ),
    ] = None,
    json_out: JsonOut = None,
) -> None:
    """Webhook delivery: jobs/s of `pulse run notify` to a local receiver against a plain httpx poster
    (same concurrency and body size), and alert commit → delivery latency p50/p95/p99."""
    _run(
        "notify",
        json_out,
        alerts=alerts,
        latency_alerts=latency_alerts,
        rate=rate,
        concurrency=concurrency,
        database_url=database_url,
    )


@bench_app.command()
def escalation(
    alerts: Annotated[
        int,
        typer.Option(min=10, max=1_000_000, help="Open alerts whose first level falls due in the window."),
    ] = 10_000,
    spread: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds the due times are spread over.")
    ] = 60.0,
    open_rate: Annotated[
        float, typer.Option(min=0.1, max=1000, help="New alerts per second opened meanwhile.")
    ] = 20.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="A scratch PostgreSQL; its tenant 'bench-escalation' is replaced (default: a private embedded one)."
        ),
    ] = None,
    json_out: JsonOut = None,
) -> None:
    """Escalation: lateness of each fired level against its due time (p50/p99, target p99 ≤ 1 s) with
    many levels due at once while alerts keep opening, and a 90-day on-call timeline's compute time."""
    _run("escalation", json_out, alerts=alerts, spread=spread, open_rate=open_rate, database_url=database_url)
